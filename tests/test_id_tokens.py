"""ID tokens of organizations' providers, checked against real OpenID Provider processes
(RS256 and ES256 at once, one rotating its keys mid-test): what they issue is accepted,
and every forged, stale or misdirected token is refused with its own reason."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from joserfc import jwt
from joserfc.jwk import JWKRegistry

from membrane.auth.federation.provider_client import (
    IdTokenError,
    ProviderClient,
    ProviderUnavailableError,
)
from tests.fixtures.openid_providers import (
    OpenIDProvider,
    _new_key,
    forge,
    forge_hmac_with_public_key,
    forge_unsigned,
    silent_server,
)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client_of(op: OpenIDProvider, http: httpx.AsyncClient, **options: Any) -> ProviderClient:
    return ProviderClient(
        issuer=op.issuer,
        discovery_url=f"{op.issuer}/.well-known/openid-configuration",
        http=http,
        **options,
    )


async def check(
    client: ProviderClient, op: OpenIDProvider, token: str, nonce: str | None = None, **options: Any
) -> Any:
    """Validate as a login with `nonce` would, or (no nonce) as token exchange does."""
    arguments: dict[str, Any] = {
        "client_id": op.client_id,
        "algorithms": [op.algorithm],
        "nonce": nonce,
        "without_nonce": nonce is None,
    }
    return await client.validate_id_token(token, **{**arguments, **options})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_tokens_the_providers_issue_are_accepted(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient, algorithm: str
) -> None:
    op = openid_providers[algorithm]
    client = client_of(op, http)
    nonce = secrets.token_urlsafe(16)
    token = await op.id_token(http, "erin-at-acme", nonce)
    claims = await check(client, op, token, nonce=nonce)
    assert (claims["sub"], claims["email"], claims["name"]) == (
        "erin-at-acme",
        "erin@acme.example",
        "Erin Walsh",
    )
    # the same token, for another login (its nonce), is refused
    with pytest.raises(IdTokenError) as refused:
        await check(client, op, token, nonce="another-login")
    assert refused.value.reason == "nonce_mismatch"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_forged_stale_and_misdirected_tokens_are_refused(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient, algorithm: str
) -> None:
    op = openid_providers[algorithm]
    client = client_of(op, http)
    genuine = await op.id_token(http, "erin-at-acme", "n")
    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    hmac_with_public_key = forge_hmac_with_public_key(op, **claims)
    now = int(time.time())
    other_key = _new_key(algorithm)
    cases = {
        "bad_signature": ".".join([header, _b64({**claims, "sub": "dana-at-acme"}), signature]),
        "algorithm_not_allowed": hmac_with_public_key,
        "expired": forge(op, iat=now - 900, exp=now - 600),
        "issued_in_future": forge(op, iat=now + 3600, exp=now + 7200),
        "not_yet_valid": forge(op, nbf=now + 3600),
        "wrong_audience": forge(op, aud="someone-else"),
        "wrong_issuer": forge(op, iss="http://127.0.0.1:1"),
        "wrong_azp": forge(op, aud=[op.client_id, "other"], azp="other"),
        "missing_claim": forge(op, sub=None),
        "unknown_key": forge(op, key=other_key, **claims),
        "malformed": "not.a-token",
        "nonce_mismatch": forge(op, nonce="someone-elses-login"),
    }
    none_token = forge_unsigned(op, **claims)
    oversized = forge(op, padding="x" * 20_000)
    for reason, token in [
        *cases.items(),
        ("algorithm_not_allowed", none_token),
        ("malformed", oversized),
    ]:
        with pytest.raises(IdTokenError) as refused:
            await check(client, op, token, nonce="this-login")
        assert refused.value.reason == reason, (reason, refused.value.message)
        assert token not in refused.value.message
    # a genuine token of an algorithm the registration does not allow
    with pytest.raises(IdTokenError) as refused:
        await check(client, op, genuine, nonce="n", algorithms=["PS256"])
    assert refused.value.reason == "algorithm_not_allowed"
    # a login must say its nonce; algorithms are a list, never one comma-separated string
    with pytest.raises(ValueError, match="nonce"):
        await client.validate_id_token(
            genuine, client_id=op.client_id, algorithms=[algorithm], nonce=None
        )
    with pytest.raises(TypeError):
        await client.validate_id_token(
            genuine, client_id=op.client_id, algorithms=algorithm, nonce="n"
        )


async def test_unknown_key_ids_cause_one_refetch_not_a_storm(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient
) -> None:
    op = openid_providers["RS256"]
    client = client_of(op, http, refetch_interval_seconds=30)
    await check(client, op, await op.id_token(http, "erin-at-acme", "n"))
    assert client.key_fetches == 1
    forged = []
    for _ in range(20):
        key = _new_key("RS256")
        forged.append(
            jwt.encode(
                {"alg": "RS256", "kid": key["kid"]},
                {"iss": op.issuer},
                JWKRegistry.import_key(key),
                algorithms=["RS256"],
            )
        )
    results = await asyncio.gather(*(check(client, op, t) for t in forged), return_exceptions=True)
    assert all(isinstance(r, IdTokenError) and r.reason == "unknown_key" for r in results)
    assert client.key_fetches == 1  # within the interval: no refetch at all


async def test_a_provider_rotating_its_keys_mid_test(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient
) -> None:
    op = openid_providers["ES256"]
    client = client_of(op, http, refetch_interval_seconds=0.2)
    before = await op.id_token(http, "dana-at-acme", "n1")
    await check(client, op, before)
    fetches = client.key_fetches
    # when the provider starts signing with a new key
    op.rotate_keys()
    await asyncio.sleep(0.3)
    after = await op.id_token(http, "dana-at-acme", "n2")
    assert (
        json.loads(base64.urlsafe_b64decode(after.split(".")[0] + "=="))["kid"] == op.keys[0]["kid"]
    )
    # then its new tokens are accepted after one refetch, and the old ones still are
    assert (await check(client, op, after))["email"] == "dana@acme.example"
    assert client.key_fetches == fetches + 1
    assert (await check(client, op, before))["sub"] == "dana-at-acme"


async def test_the_issuer_is_compared_exactly(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient
) -> None:
    op = openid_providers["RS256"]
    client = ProviderClient(
        issuer=f"{op.issuer}/",
        discovery_url=f"{op.issuer}/.well-known/openid-configuration",
        http=http,
    )
    with pytest.raises(ProviderUnavailableError, match="another issuer"):
        await client.metadata()


async def test_a_slow_provider_is_asked_once_and_answers_every_caller_in_time(
    http: httpx.AsyncClient,
) -> None:
    async with silent_server() as port:
        client = ProviderClient(
            issuer=f"http://127.0.0.1:{port}",
            discovery_url=f"http://127.0.0.1:{port}/.well-known/openid-configuration",
            http=http,
            timeout_seconds=0.5,
        )
        forged = forge(
            OpenIDProvider("RS256", Path("."), keys=[_new_key("RS256")], port=port), nonce="n"
        )
        started = time.monotonic()
        results = await asyncio.gather(
            *(
                client.validate_id_token(
                    forged, client_id="membrane", algorithms=["RS256"], nonce="n"
                )
                for _ in range(10)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(r, ProviderUnavailableError) for r in results), results
        assert client.fetch_attempts == 1  # the failure is remembered, not retried per login
        assert time.monotonic() - started < 2.5


async def test_a_provider_that_is_down_or_slow_fails_alone(
    openid_providers: dict[str, OpenIDProvider], http: httpx.AsyncClient
) -> None:
    async with silent_server() as slow_port:
        for url in (
            "http://127.0.0.1:1/.well-known/openid-configuration",
            f"http://127.0.0.1:{slow_port}/.well-known/openid-configuration",
        ):
            client = ProviderClient(
                issuer="http://127.0.0.1:1", discovery_url=url, http=http, timeout_seconds=0.5
            )
            started = time.monotonic()
            with pytest.raises(ProviderUnavailableError, match="did not answer"):
                await client.metadata()
            assert time.monotonic() - started < 3
        # the other providers are not affected
        op = openid_providers["RS256"]
        token = await op.id_token(http, "erin-at-acme", "n")
        assert (await check(client_of(op, http), op, token, "n"))["sub"] == "erin-at-acme"
