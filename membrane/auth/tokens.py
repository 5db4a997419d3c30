"""Access tokens Membrane issues: asymmetric (ES256) JWTs with `kid`, checked by allow-list.

Verified tokens are remembered (bounded, until they expire) so a busy client does not pay a
signature check on every request; the principal's status is still checked per request.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry

from membrane.auth.errors import AuthenticationError
from membrane.auth.keys import SIGNING_ALGORITHM, SigningKeys

ALLOWED_ALGORITHMS = (SIGNING_ALGORITHM,)
_MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid Membrane access token says."""

    subject: uuid.UUID
    tenant_id: uuid.UUID
    organization_id: uuid.UUID
    token_id: str
    expires_at: int


class TokenService:
    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: int = 30,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = keys
        self.issuer = issuer
        self.audience = audience
        self._leeway = leeway_seconds
        self._cache: OrderedDict[str, AccessClaims] = OrderedDict()
        self._cache_size = cache_size

    def jwks(self) -> dict[str, Any]:
        return self._keys.jwks()

    def mint(
        self,
        *,
        subject: uuid.UUID,
        tenant_id: uuid.UUID,
        organization_id: uuid.UUID,
        ttl_seconds: int,
        now: int | None = None,
    ) -> str:
        issued = int(time.time()) if now is None else now
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(subject),
            "tid": str(tenant_id),
            "org": str(organization_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        key = self._keys.signing_key
        header = {"alg": SIGNING_ALGORITHM, "kid": key.kid}
        return jwt.encode(header, claims, key, algorithms=ALLOWED_ALGORITHMS)

    def verify(self, token: str) -> AccessClaims:
        now = int(time.time())
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at + self._leeway > now:
                return cached
            self._cache.pop(token, None)
            raise AuthenticationError("token expired")
        claims = self._verify_uncached(token, now)
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def _verify_uncached(self, token: str, now: int) -> AccessClaims:
        if len(token) > _MAX_TOKEN_LENGTH:
            raise AuthenticationError("token too long")
        try:
            decoded = jwt.decode(token, self._keys.verification_keys, algorithms=ALLOWED_ALGORITHMS)
        except JoseError:
            raise AuthenticationError("token signature or format is invalid") from None
        except ValueError:
            raise AuthenticationError("token format is invalid") from None
        registry = JWTClaimsRegistry(
            now=now,
            leeway=self._leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            tid={"essential": True},
            org={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            if error.error == "expired_token":
                raise AuthenticationError("token expired") from None
            raise AuthenticationError(f"token claim rejected: {error.error}") from None
        claims = decoded.claims
        try:
            return AccessClaims(
                subject=uuid.UUID(str(claims["sub"])),
                tenant_id=uuid.UUID(str(claims["tid"])),
                organization_id=uuid.UUID(str(claims["org"])),
                token_id=str(claims.get("jti", "")),
                expires_at=int(claims["exp"]),
            )
        except (ValueError, TypeError):
            raise AuthenticationError("token claims are malformed") from None
