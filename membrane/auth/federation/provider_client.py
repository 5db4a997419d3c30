"""Talking to one registered OpenID Provider: its discovery document, its signing keys,
and the validation of the ID tokens it issues.

Every call to a provider is bounded by a total timeout (connecting, sending, reading,
and waiting for another caller's fetch), answers are capped in size, and a provider that
fails or is slow raises `ProviderUnavailableError`, which concerns that provider's
organization alone. Fetches are made one at a time per provider and remembered, failures
included: after a failure, callers get the same error without asking again until
`refetch_interval` has passed. Keys are cached; a token signed with a key id the cache
does not know makes one refetch, at most once per `refetch_interval`, so a stream of
forged key ids cannot turn into a stream of requests to the provider (and a provider's
new key is picked up within that interval).

ID tokens are checked with joserfc: the header's algorithm must be on the provider's
allow-list (asymmetric only, ADR 0014), the signature must verify with the provider's key,
and `iss`, `aud`, `azp`, `exp`, `nbf`, `iat` and `nonce` must hold, with a bounded clock
skew. Each failure has its own reason code; none echoes the token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

MAX_TOKEN_LENGTH = 16_384
MAX_DOCUMENT_BYTES = 1_048_576
# RFC 6749, section 5.2: what a token endpoint may answer (anything else is not repeated).
TOKEN_ENDPOINT_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


class ProviderUnavailableError(RuntimeError):
    """The provider did not answer in time, or answered something unusable."""


class CodeRejectedError(ValueError):
    """The provider refused to redeem an authorization code (used, expired, or not ours)."""


class IdTokenError(ValueError):
    """An ID token was refused; `reason` says why, in a word fit for logs and clients."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    raw: dict[str, Any]


class ProviderClient:
    def __init__(
        self,
        *,
        issuer: str,
        discovery_url: str,
        http: httpx.AsyncClient,
        timeout_seconds: float = 5.0,
        refetch_interval_seconds: float = 30.0,
    ) -> None:
        # Compared exactly, as OpenID Connect Discovery requires (a trailing "/" matters).
        self.issuer = issuer
        self.discovery_url = discovery_url
        self._http = http
        self._timeout = timeout_seconds
        self._refetch_interval = refetch_interval_seconds
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._failure: ProviderUnavailableError | None = None
        self._lock = asyncio.Lock()
        self.key_fetches = 0
        self.fetch_attempts = 0

    async def _send(self, request: httpx.Request, auth: httpx.Auth | None = None) -> httpx.Response:
        """One call to the provider, within the timeout, its answer capped in size."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)
        except (httpx.HTTPError, TimeoutError) as error:
            raise ProviderUnavailableError(
                f"the identity provider did not answer ({type(error).__name__})"
            ) from None
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailableError("the identity provider answered too much")
        return response

    @staticmethod
    def _json_object(response: httpx.Response) -> dict[str, Any]:
        try:
            document = response.json()
        except ValueError:
            raise ProviderUnavailableError("the identity provider answered no JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnavailableError("the identity provider answered no JSON object")
        return document

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._send(self._http.build_request("GET", url, timeout=self._timeout))
        if response.status_code != 200:
            raise ProviderUnavailableError(f"the identity provider answered {response.status_code}")
        return self._json_object(response)

    async def redeem_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str,
        client_id: str,
        client_secret: str | None,
    ) -> str:
        """Redeem an authorization code at the token endpoint (with its PKCE verifier) and
        return the ID token the provider answers. Confidential clients authenticate with
        `client_secret_basic` (RFC 6749, section 2.3.1); public clients send their id."""
        metadata = await self.metadata()
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            **({} if client_secret else {"client_id": client_id}),
        )
        request = self._http.build_request(
            "POST",
            metadata.token_endpoint,
            content=body,
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "accept": "application/json",
            },
            timeout=self._timeout,
        )
        auth = (
            httpx.BasicAuth(quote(client_id, safe=""), quote(client_secret, safe=""))
            if client_secret
            else None
        )
        response = await self._send(request, auth)
        if response.status_code in (400, 401):
            try:
                error_code = response.json().get("error")
            except (ValueError, AttributeError):
                error_code = None
            known = error_code if error_code in TOKEN_ENDPOINT_ERRORS else "unknown"
            raise CodeRejectedError(f"the identity provider refused the code ({known})")
        if response.status_code != 200:
            raise ProviderUnavailableError(f"the identity provider answered {response.status_code}")
        id_token = self._json_object(response).get("id_token")
        if not isinstance(id_token, str):
            raise ProviderUnavailableError("the identity provider answered no ID token")
        return id_token

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            await self._refresh(keys=False)
        assert self._metadata is not None
        return self._metadata

    async def _discover(self) -> ProviderMetadata:
        document = await self._get_json(self.discovery_url)
        if document.get("issuer") != self.issuer:
            raise ProviderUnavailableError(
                "the discovery document names another issuer than the one registered"
            )
        try:
            return ProviderMetadata(
                issuer=document["issuer"],
                authorization_endpoint=document["authorization_endpoint"],
                token_endpoint=document["token_endpoint"],
                jwks_uri=document["jwks_uri"],
                raw=document,
            )
        except KeyError as missing:
            raise ProviderUnavailableError(
                f"the discovery document lacks {missing.args[0]}"
            ) from None

    async def _refresh(self, *, keys: bool) -> None:
        """Fetch what is missing (discovery; keys when asked), one caller at a time, within
        the total timeout; a failure is remembered for `refetch_interval`."""
        try:
            async with asyncio.timeout(self._timeout * 2):
                async with self._lock:
                    if self._failure is not None and not self._may_fetch():
                        raise self._failure
                    if self._metadata is not None and not keys:
                        return
                    self.fetch_attempts += 1
                    try:
                        if self._metadata is None:
                            self._metadata = await self._discover()
                        if keys:
                            await self._fetch_keys()
                    except ProviderUnavailableError as error:
                        self._failure = error
                        self._fetched_at = time.monotonic()
                        raise
                    self._failure = None
        except TimeoutError:
            raise ProviderUnavailableError("the identity provider did not answer in time") from None

    def _may_fetch(self) -> bool:
        return time.monotonic() - self._fetched_at >= self._refetch_interval

    async def _fetch_keys(self) -> KeySet:
        assert self._metadata is not None
        document = await self._get_json(self._metadata.jwks_uri)
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailableError("the identity provider's key set is unusable") from None
        self.key_fetches += 1
        self._keys = keys
        self._fetched_at = time.monotonic()
        return keys

    async def keys_for(self, kid: str | None) -> KeySet:
        """The provider's keys, refetched (rate-limited) when `kid` is not among them."""
        keys = self._keys
        if keys is not None and (kid is None or _has_kid(keys, kid)):
            return keys
        if keys is None or self._may_fetch():
            await self._refresh(keys=True)
        assert self._keys is not None
        return self._keys

    async def validate_id_token(
        self,
        token: str,
        *,
        client_id: str,
        algorithms: Sequence[str],
        nonce: str | None,
        leeway_seconds: int = 60,
        without_nonce: bool = False,
    ) -> dict[str, Any]:
        """The token's claims, or `IdTokenError`. A login must pass its nonce; only flows
        that have none (token exchange) say so with `without_nonce=True`."""
        if isinstance(algorithms, str):
            raise TypeError("algorithms is a sequence of names, not one string")
        if (nonce is None or nonce == "") != without_nonce:
            raise ValueError("pass the login's nonce, or without_nonce=True, not both")
        if len(token) > MAX_TOKEN_LENGTH:
            raise IdTokenError("malformed", "the ID token is too long")
        try:
            header = extract_compact(token.encode()).protected
        except (JoseError, ValueError, TypeError):
            raise IdTokenError("malformed", "the ID token is not a signed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in algorithms:
            raise IdTokenError(
                "algorithm_not_allowed",
                "the ID token is signed with an algorithm this provider may not use",
            )
        kid = header.get("kid")
        keys = await self.keys_for(kid if isinstance(kid, str) else None)
        if isinstance(kid, str) and not _has_kid(keys, kid):
            raise IdTokenError("unknown_key", "the ID token names a key the provider does not have")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(algorithms))
        except BadSignatureError:
            raise IdTokenError(
                "bad_signature", "the ID token's signature does not verify"
            ) from None
        except UnsupportedAlgorithmError:
            raise IdTokenError(
                "algorithm_not_allowed", "the ID token's algorithm is refused"
            ) from None
        except (JoseError, ValueError, TypeError):
            raise IdTokenError("malformed", "the ID token cannot be read") from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise IdTokenError("expired", "the ID token has expired") from None
        except MissingClaimError as error:
            raise IdTokenError("missing_claim", f"the ID token lacks {error.claim}") from None
        except InvalidClaimError as error:
            reason = {
                "iss": "wrong_issuer",
                "iat": "issued_in_future",
                "nbf": "not_yet_valid",
            }.get(error.claim, "invalid_claim")
            raise IdTokenError(reason, f"the ID token's {error.claim} is not acceptable") from None
        except InvalidTokenError:
            message = "the ID token's claims are not acceptable"
            raise IdTokenError("invalid_claim", message) from None
        audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if client_id not in audience:
            raise IdTokenError("wrong_audience", "the ID token is meant for another client")
        azp = claims.get("azp")
        if (len(audience) > 1 or azp is not None) and azp != client_id:
            raise IdTokenError("wrong_azp", "the ID token was issued to another party")
        if not without_nonce and claims.get("nonce") != nonce:
            raise IdTokenError("nonce_mismatch", "the ID token's nonce is not this login's")
        return dict(claims)


def _has_kid(keys: KeySet, kid: str) -> bool:
    return any(key.kid == kid for key in keys.keys)
