"""Broker sign-in through an organization's provider: authorization code flow with PKCE,
state and nonce (OpenID Connect Core, section 3.1).

`start_login` records the attempt (state as SHA-256, nonce, PKCE verifier encrypted) and
returns the provider's authorization URL; at the callback `claim_attempt` consumes it
exactly once, `prepare_redemption` reads what the code's redemption needs, and `redeem`
(no database session held) redeems the code and validates the ID token. The state reads
`<tenant slug>.<random>`, so the callback finds the tenant store without a header.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation import registry
from membrane.auth.federation.clients import ProviderClients
from membrane.auth.federation.errors import SignInError
from membrane.auth.federation.models import IdentityProvider, LoginAttempt
from membrane.auth.federation.provider_client import (
    CodeRejectedError,
    IdTokenError,
    ProviderMetadata,
    ProviderUnavailableError,
)
from membrane.config import Settings, TenantSource
from membrane.db.base import utcnow
from membrane.errors import NotFoundError
from membrane.secrets import SecretBox, SecretError
from membrane.tenancy.enums import OrganizationStatus
from membrane.tenancy.models import Organization, OrganizationDomain

logger = logging.getLogger(__name__)
LOGIN_TTL_SECONDS = 600
BROWSER = "browser"
API = "api"


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def unavailable(error: ProviderUnavailableError) -> SignInError:
    return SignInError(
        "provider_unavailable",
        f"the organization's identity provider cannot be reached: {error}; try again in a minute",
        status=503,
        error="temporarily_unavailable",
    )


@dataclass(frozen=True, slots=True)
class LoginStart:
    authorization_url: str
    state: str
    expires_in: int


def callback_base(settings: Settings, tenant_slug: str) -> str:
    """Where providers send people back: Membrane's public URL, or with host-named tenants
    the tenant's own host (so the sign-in cookie, set there, comes back)."""
    if settings.tenant_source is TenantSource.HOST and settings.tenant_domain:
        parts = urlsplit(settings.issuer)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{tenant_slug}.{settings.tenant_domain}{port}"
    return settings.issuer.rstrip("/")


def callback_url(base: str, provider_id: uuid.UUID) -> str:
    """One redirect URI per provider: a code can only come back through the provider the
    sign-in was started with (no mix-up between providers, RFC 9700 section 4.4)."""
    return f"{base}/auth/callback/{provider_id}"


async def provider_of(session: AsyncSession, organization: Organization) -> IdentityProvider:
    """The provider people of the organization sign in through: its oldest enabled one."""
    if organization.status is not OrganizationStatus.ACTIVE:
        raise SignInError("organization_suspended", "the organization is suspended", status=403)
    provider = await session.scalar(
        select(IdentityProvider)
        .where(
            IdentityProvider.organization_id == organization.id,
            IdentityProvider.enabled.is_(True),
        )
        .order_by(IdentityProvider.created_at)
        .limit(1)
    )
    if provider is None:
        raise SignInError(
            "no_identity_provider",
            f"organization {organization.slug!r} has no enabled identity provider",
            status=404,
        )
    return provider


async def metadata_of(clients: ProviderClients, provider: IdentityProvider) -> ProviderMetadata:
    try:
        return await clients.client_for(provider).metadata()
    except ProviderUnavailableError as error:
        raise unavailable(error) from None


async def start_login(
    session: AsyncSession,
    secrets: SecretBox,
    *,
    tenant_slug: str,
    organization: Organization,
    provider: IdentityProvider,
    metadata: ProviderMetadata,
    redirect_uri: str,
    flow: str,
    return_to: str,
    login_hint: str | None,
) -> LoginStart:
    state = f"{tenant_slug}.{generate_token(43)}"
    nonce = generate_token(32)
    verifier = generate_token(64)
    now = utcnow()
    # Attempts never finished are dropped once expired (they hold no secret in clear).
    await session.execute(
        delete(LoginAttempt)
        .where(LoginAttempt.expires_at < now)
        .execution_options(synchronize_session=False)
    )
    session.add(
        LoginAttempt(
            tenant_id=organization.tenant_id,
            organization_id=organization.id,
            provider_id=provider.id,
            state_hash=_hash(state),
            nonce=nonce,
            code_verifier_secret=secrets.encrypt(verifier),
            flow=flow,
            return_to=return_to,
            expires_at=now + timedelta(seconds=LOGIN_TTL_SECONDS),
        )
    )
    await session.flush()
    extra = {"login_hint": login_hint} if login_hint else {}
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=provider.scopes,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),  # type: ignore[no-untyped-call]
        code_challenge_method="S256",
        **extra,
    )
    return LoginStart(url, state, LOGIN_TTL_SECONDS)


async def claim_attempt(session: AsyncSession, attempt: LoginAttempt) -> None:
    """Mark the attempt used (once; the caller commits at once, so a replayed state is
    refused even when the rest of the sign-in fails)."""
    claimed = await session.execute(
        update(LoginAttempt)
        .where(LoginAttempt.id == attempt.id, LoginAttempt.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise SignInError("state_replayed", "this sign-in was already completed; start again")
    if attempt.expires_at <= utcnow():
        raise SignInError("login_expired", "the sign-in took too long; start again")


@dataclass(frozen=True, slots=True)
class Redemption:
    """What redeeming a sign-in's code needs, read before the provider is called (so no
    database connection waits on a provider)."""

    tenant_id: uuid.UUID
    provider: IdentityProvider
    organization: Organization
    nonce: str
    code_verifier: str = field(repr=False)
    client_secret: str | None = field(repr=False)


async def prepare_redemption(
    session: AsyncSession, secrets: SecretBox, attempt_id: uuid.UUID
) -> Redemption:
    attempt = await session.get(LoginAttempt, attempt_id)
    assert attempt is not None
    provider = await session.get(IdentityProvider, attempt.provider_id)
    organization = await session.get(Organization, attempt.organization_id)
    if provider is None or organization is None or not provider.enabled:
        raise SignInError(
            "provider_disabled", "the identity provider was disabled meanwhile", status=403
        )
    try:
        verifier = secrets.decrypt(attempt.code_verifier_secret)
        secret = (
            secrets.decrypt(provider.client_secret_secret)
            if provider.client_secret_secret
            else None
        )
    except SecretError:
        logger.error("a secret of provider %s cannot be decrypted", provider.id)
        raise SignInError(
            "secret_unavailable",
            "the sign-in cannot be completed: a stored secret cannot be read",
            status=503,
            error="temporarily_unavailable",
        ) from None
    return Redemption(attempt.tenant_id, provider, organization, attempt.nonce, verifier, secret)


async def redeem(
    clients: ProviderClients,
    redemption: Redemption,
    *,
    code: str,
    redirect_uri: str,
    issuer: str | None,
) -> dict[str, Any]:
    """Redeem the code and validate the ID token; the verified claims."""
    provider = redemption.provider
    client = clients.client_for(provider)
    try:
        metadata = await client.metadata()
        # RFC 9207: a provider that names itself in its response must name itself.
        if (
            issuer is not None
            or metadata.raw.get("authorization_response_iss_parameter_supported") is True
        ) and issuer != provider.issuer:
            raise SignInError(
                "issuer_mismatch", "the response came from another issuer than the sign-in's"
            )
        id_token = await client.redeem_code(
            code,
            redirect_uri=redirect_uri,
            code_verifier=redemption.code_verifier,
            client_id=provider.client_id,
            client_secret=redemption.client_secret,
        )
        return await client.validate_id_token(
            id_token,
            client_id=provider.client_id,
            algorithms=provider.allowed_algorithms.split(","),
            nonce=redemption.nonce,
        )
    except ProviderUnavailableError as error:
        raise unavailable(error) from None
    except CodeRejectedError as error:
        raise SignInError("code_rejected", str(error)) from None
    except IdTokenError as error:
        raise SignInError(error.reason, f"the ID token was refused: {error.message}") from None


async def attempt_by_state(session: AsyncSession, state: str) -> LoginAttempt | None:
    """The attempt a state names, without consuming it."""
    attempt: LoginAttempt | None = await session.scalar(
        select(LoginAttempt).where(LoginAttempt.state_hash == _hash(state))
    )
    return attempt


async def organization_for_email(session: AsyncSession, email: str) -> Organization:
    """Home-realm discovery: the organization whose verified domain the email is at."""
    domain = email.strip().rpartition("@")[2].lower().rstrip(".")
    organization = await session.scalar(
        select(Organization)
        .join(OrganizationDomain, OrganizationDomain.organization_id == Organization.id)
        .where(OrganizationDomain.domain == domain, OrganizationDomain.verified_at.is_not(None))
    )
    if organization is None or "@" not in email:
        raise SignInError(
            "unknown_domain",
            f"{domain or email!r} is not a verified domain of any organization of this tenant",
            status=404,
        )
    return organization


async def organization_by_slug(
    session: AsyncSession, tenant_id: uuid.UUID, slug: str
) -> Organization:
    try:
        return await registry.organization_by_slug(session, tenant_id, slug.strip().lower())
    except NotFoundError:
        raise SignInError("unknown_organization", f"no organization {slug!r}", status=404) from None
