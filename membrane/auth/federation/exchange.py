"""Token exchange (RFC 8693): a partner's machine client trades a token its organization's
provider issued for a Membrane access token scoped to that organization.

The provider is found by the token's `iss` among the tenant's enabled providers whose
client id the token's `aud` names; the token is then validated exactly as an ID token is
at sign-in (there is no nonce: the client obtained it on its own). The identity must be
known, or provisionable by the rules of `identities`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation.clients import ProviderClients
from membrane.auth.federation.errors import SignInError
from membrane.auth.federation.identities import user_for_identity
from membrane.auth.federation.login import unavailable
from membrane.auth.federation.models import IdentityProvider
from membrane.auth.federation.provider_client import (
    MAX_TOKEN_LENGTH,
    IdTokenError,
    ProviderUnavailableError,
)
from membrane.tenancy.models import Organization, User

ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105 (a type name)
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _refused(reason: str, message: str) -> SignInError:
    return SignInError(reason, message, status=400, error="invalid_request")


def _unverified_claims(token: str) -> dict[str, Any]:
    """Only to choose the provider; nothing here is trusted until the signature is."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise _refused("malformed", "the subject token is too long")
    try:
        claims = json.loads(extract_compact(token.encode()).payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        raise _refused("malformed", "the subject token is not a signed JWT") from None
    if not isinstance(claims, dict):
        raise _refused("malformed", "the subject token's claims are not an object")
    return claims


async def exchange(
    session: AsyncSession,
    clients: ProviderClients,
    *,
    tenant_id: uuid.UUID,
    subject_token: str,
    subject_token_type: str,
    requested_token_type: str | None,
) -> User:
    if subject_token_type not in (ID_TOKEN_TYPE, JWT_TYPE):
        raise _refused(
            "unsupported_token_type",
            f"subject_token_type must be {ID_TOKEN_TYPE} or {JWT_TYPE}",
        )
    if requested_token_type not in (None, "", ACCESS_TOKEN_TYPE):
        raise _refused(
            "unsupported_token_type", f"requested_token_type must be {ACCESS_TOKEN_TYPE}"
        )
    unverified = _unverified_claims(subject_token)
    issuer = unverified.get("iss")
    audience = unverified.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    candidates = [
        provider
        for provider in (
            await session.scalars(
                select(IdentityProvider).where(
                    IdentityProvider.tenant_id == tenant_id,
                    IdentityProvider.issuer == issuer,
                    IdentityProvider.enabled.is_(True),
                )
            )
        ).all()
        if provider.client_id in audiences
    ]
    if len(candidates) != 1:
        raise _refused(
            "unknown_issuer",
            "the subject token was not issued for an enabled identity provider of this tenant",
        )
    provider = candidates[0]
    try:
        claims = await clients.client_for(provider).validate_id_token(
            subject_token,
            client_id=provider.client_id,
            algorithms=provider.allowed_algorithms.split(","),
            nonce=None,
            without_nonce=True,
        )
    except ProviderUnavailableError as error:
        raise unavailable(error) from None
    except IdTokenError as error:
        raise _refused(error.reason, f"the subject token was refused: {error.message}") from None
    organization = await session.get(Organization, provider.organization_id)
    assert organization is not None
    return await user_for_identity(
        session,
        tenant_id=provider.tenant_id,
        provider=provider,
        organization=organization,
        claims=claims,
    )
