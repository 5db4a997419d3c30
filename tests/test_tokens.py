"""Access tokens: what TokenService accepts and refuses, and suspension seen over HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth import keys
from membrane.auth.errors import AuthenticationError
from membrane.auth.keys import SigningKeys
from membrane.auth.tokens import AccessClaims, TokenService
from tests.fixtures.demo import DemoData
from tests.support.sql import sql

ISSUER = "https://membrane.test"
AUDIENCE = "membrane"
LEEWAY = 30
VIEWER = "{ viewer { user { displayName } } }"


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> SigningKeys:
    return keys.load_or_create(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def tokens(signing_keys: SigningKeys) -> TokenService:
    return TokenService(signing_keys, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=LEEWAY)


@pytest.fixture
def subject() -> dict[str, uuid.UUID]:
    return {"subject": uuid.uuid4(), "tenant_id": uuid.uuid4(), "organization_id": uuid.uuid4()}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, read without checking anything."""
    payload: dict[str, Any] = json.loads(unb64(token.split(".")[1]))
    return payload


def refused(tokens: TokenService, token: str) -> str:
    with pytest.raises(AuthenticationError) as raised:
        tokens.verify(token)
    return raised.value.reason


def test_round_trip(tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    # given a token minted for a user
    token = tokens.mint(**subject, ttl_seconds=600)
    # when it is verified
    claims = tokens.verify(token)
    # then the claims are the user's, and the token says which key signed it
    assert claims == AccessClaims(
        subject=subject["subject"],
        tenant_id=subject["tenant_id"],
        organization_id=subject["organization_id"],
        token_id=claims_of(token)["jti"],
        expires_at=claims_of(token)["exp"],
    )
    header = json.loads(unb64(token.split(".")[0]))
    assert header["alg"] == "ES256"
    assert header["kid"] == tokens.jwks()["keys"][0]["kid"]
    # and a second check (from the cache) agrees
    assert tokens.verify(token) == claims


def test_tampered_payload(tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    # given a valid token whose payload is changed to another subject, signature kept
    header, _, signature = tokens.mint(**subject, ttl_seconds=600).split(".")
    claims = {**claims_of(f"{header}.{_}.{signature}"), "sub": str(uuid.uuid4())}
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    # then it is refused
    assert "signature" in refused(tokens, forged)


def test_tampered_signature(tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    header, payload, signature = tokens.mint(**subject, ttl_seconds=600).split(".")
    flipped = bytearray(unb64(signature))
    flipped[0] ^= 0x01
    refused(tokens, f"{header}.{payload}.{b64(bytes(flipped))}")


def test_expired(tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    # given a token that expired longer ago than the leeway
    now = int(time.time())
    token = tokens.mint(**subject, ttl_seconds=60, now=now - 60 - LEEWAY - 5)
    # then it is refused as expired
    assert refused(tokens, token) == "token expired"


def test_expiry_within_leeway_is_tolerated(
    tokens: TokenService, subject: dict[str, uuid.UUID]
) -> None:
    # given a token that expired a few seconds ago, well within the leeway (clock skew)
    token = tokens.mint(**subject, ttl_seconds=60, now=int(time.time()) - 65)
    # then it is still accepted
    assert tokens.verify(token).subject == subject["subject"]


def test_not_yet_valid(tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    # given a token issued (nbf and iat) further in the future than the leeway
    token = tokens.mint(**subject, ttl_seconds=600, now=int(time.time()) + LEEWAY + 60)
    # then it is refused
    assert "invalid_claim" in refused(tokens, token)


@pytest.mark.parametrize(
    ("issuer", "audience"),
    [
        pytest.param(ISSUER, "another-service", id="wrong-audience"),
        pytest.param("https://evil.test", AUDIENCE, id="wrong-issuer"),
    ],
)
def test_wrong_issuer_or_audience(
    issuer: str,
    audience: str,
    signing_keys: SigningKeys,
    tokens: TokenService,
    subject: dict[str, uuid.UUID],
) -> None:
    # given a token signed with the right key but for another issuer or audience
    other = TokenService(signing_keys, issuer=issuer, audience=audience)
    token = other.mint(**subject, ttl_seconds=600)
    assert other.verify(token).subject == subject["subject"]
    # then this service refuses it
    assert "invalid_claim" in refused(tokens, token)


@pytest.mark.parametrize("with_kid", [True, False])
def test_alg_none(with_kid: bool, tokens: TokenService, subject: dict[str, uuid.UUID]) -> None:
    # given the claims of a valid token, resent unsigned with `alg: none`
    claims = claims_of(tokens.mint(**subject, ttl_seconds=600))
    header: dict[str, str] = {"alg": "none", "typ": "JWT"}
    if with_kid:
        header["kid"] = tokens.jwks()["keys"][0]["kid"]
    unsigned = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."
    # then it is refused
    refused(tokens, unsigned)


def test_hs256_signed_with_the_public_key(
    signing_keys: SigningKeys, tokens: TokenService, subject: dict[str, uuid.UUID]
) -> None:
    # given valid claims signed HS256 with the public key's bytes as the secret (the
    # classic algorithm-confusion attack; joserfc refuses to import such a key, so it is
    # built directly)
    public_pem = signing_keys.signing_key.as_pem(private=False)
    secret = OctKey(public_pem, public_pem)
    claims = claims_of(tokens.mint(**subject, ttl_seconds=600))
    header = {"alg": "HS256", "kid": signing_keys.signing_key.kid}
    forged = jwt.encode(header, claims, secret, algorithms=["HS256"])
    assert jwt.decode(forged, secret, algorithms=["HS256"]).claims == claims  # well made
    # then it is refused
    refused(tokens, forged)


def test_key_from_another_folder(
    tmp_path: Path, tokens: TokenService, subject: dict[str, uuid.UUID]
) -> None:
    # given a token made by another installation, with its own key and kid
    stranger = TokenService(keys.load_or_create(tmp_path), issuer=ISSUER, audience=AUDIENCE)
    token = stranger.mint(**subject, ttl_seconds=600)
    assert stranger.verify(token).subject == subject["subject"]
    # then this service does not know the kid and refuses it
    refused(tokens, token)


def test_rotated_keys_both_verify(tmp_path: Path, subject: dict[str, uuid.UUID]) -> None:
    # given a token signed before a new key was added to the folder
    old = TokenService(keys.load_or_create(tmp_path), issuer=ISSUER, audience=AUDIENCE)
    before = old.mint(**subject, ttl_seconds=600)
    keys.generate_key(tmp_path)
    # when the service reloads its keys
    rotated = TokenService(keys.load_or_create(tmp_path), issuer=ISSUER, audience=AUDIENCE)
    after = rotated.mint(**subject, ttl_seconds=600)
    # then the new key signs, and tokens of the old key still verify during the overlap
    assert (
        json.loads(unb64(after.split(".")[0]))["kid"]
        != json.loads(unb64(before.split(".")[0]))["kid"]
    )
    assert rotated.verify(before).subject == rotated.verify(after).subject == subject["subject"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"tid": None}, id="no-tenant"),
        pytest.param({"org": None}, id="no-organization"),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": "alice"}, id="subject-not-a-uuid"),
    ],
)
def test_signed_but_incomplete_claims(
    change: dict[str, Any],
    signing_keys: SigningKeys,
    tokens: TokenService,
    subject: dict[str, uuid.UUID],
) -> None:
    # given a token properly signed with Membrane's key but with a claim missing or malformed
    claims = claims_of(tokens.mint(**subject, ttl_seconds=600))
    for name, value in change.items():
        if value is None:
            del claims[name]
        else:
            claims[name] = value
    key = signing_keys.signing_key
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    # then it is refused
    refused(tokens, token)


@pytest.mark.parametrize(
    "garbage", ["", "not-a-jwt", "a.b.c", "a.b", "x" * 5000, "e30.e30.", "W10.W10.AAAA"]
)
def test_garbage(garbage: str, tokens: TokenService) -> None:
    refused(tokens, garbage)


# -- over HTTP -------------------------------------------------------------------------------


async def test_suspended_user_is_rejected_at_once(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given erin's token, accepted a moment ago (and so remembered as verified)
    erin, farid = as_user("erin"), as_user("farid")
    assert (await erin.post(VIEWER)).status_code == 200
    # when erin is suspended
    await session.execute(
        *sql(
            "UPDATE users SET status = 'SUSPENDED' WHERE id = :user",
            user=demo_data.demo.user("erin")["id"],
        )
    )
    await session.commit()
    # then her token is refused with 401
    response = await erin.post(VIEWER)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "data" not in body
    # while a colleague of her organization is still served
    assert (await farid(VIEWER))["data"]["viewer"]["user"]["displayName"]


async def test_suspended_organization_is_rejected_at_once(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given tokens of two people of acme and one of globex
    erin, farid, grace = as_user("erin"), as_user("farid"), as_user("grace")
    # when acme is suspended
    await session.execute(
        *sql(
            "UPDATE organizations SET status = 'SUSPENDED' WHERE id = :org",
            org=demo_data.demo.organization("acme")["id"],
        )
    )
    await session.commit()
    # then both acme tokens are refused, and globex is unaffected
    for caller in (erin, farid):
        assert (await caller.post(VIEWER)).status_code == 401
    assert (await grace.post(VIEWER)).status_code == 200
