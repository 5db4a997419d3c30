"""Registering an organization's identity provider: the rules its settings must meet.

Production accepts only `https` issuers; development also accepts `http` (a provider on
this machine). Signing algorithms come from an allow-list of asymmetric ones: `none` and
the HMAC family are refused, so a token can never be "signed" with a provider's public key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation.models import (
    DEFAULT_ALGORITHMS,
    DEFAULT_SCOPES,
    IdentityProvider,
)
from membrane.errors import ConflictError, InvalidInputError, NotFoundError
from membrane.secrets import SecretBox
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.models import Organization

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    discovery_url: str | None = None
    scopes: str = DEFAULT_SCOPES
    algorithms: str = DEFAULT_ALGORITHMS
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str | None = None
    role_mapping: dict[str, str] = field(default_factory=dict)
    trust_email: bool = False


def _check_url(value: str, field_name: str, *, production: bool) -> str:
    url = value.strip()
    if len(url) > 500:
        raise InvalidInputError(f"{field_name} must be at most 500 characters", field=field_name)
    parts = urlsplit(url)
    allowed = {"https"} if production else {"https", "http"}
    if parts.scheme not in allowed or not parts.hostname:
        schemes = " or ".join(sorted(allowed))
        raise InvalidInputError(f"{field_name} must be an {schemes} URL", field=field_name)
    if parts.query or parts.fragment:
        raise InvalidInputError(
            f"{field_name} must not carry a query or fragment", field=field_name
        )
    return url


def check_settings(settings: ProviderSettings, *, production: bool) -> ProviderSettings:
    """The settings, normalised, or an `InvalidInputError` naming the field at fault."""
    # Kept exactly as given: ID tokens' `iss` must equal it, trailing "/" included.
    issuer = _check_url(settings.issuer, "issuer", production=production)
    discovery = settings.discovery_url or f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    discovery = _check_url(discovery, "discoveryUrl", production=production)
    client_id = settings.client_id.strip()
    if not client_id or len(client_id) > 255:
        raise InvalidInputError("clientId must be 1 to 255 characters", field="clientId")
    scopes = " ".join(dict.fromkeys(settings.scopes.split()))
    if "openid" not in scopes.split():
        raise InvalidInputError("scopes must include openid", field="scopes")
    algorithms = [a.strip() for a in settings.algorithms.split(",") if a.strip()]
    refused = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
    if not algorithms or refused:
        raise InvalidInputError(
            "algorithms must be asymmetric signing algorithms "
            f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}); refused: {', '.join(refused) or '-'}",
            field="algorithms",
        )
    roles = {role.value for role in TenantRole}
    for group, role in settings.role_mapping.items():
        if role not in roles:
            known = ", ".join(sorted(roles))
            raise InvalidInputError(
                f"group {group!r} maps to {role!r}, which is not a role ({known})",
                field="roleMapping",
            )
    if settings.role_mapping and not settings.groups_claim:
        raise InvalidInputError("a role mapping needs a groups claim", field="groupsClaim")
    for claim, name in (
        (settings.email_claim, "emailClaim"),
        (settings.name_claim, "nameClaim"),
        (settings.groups_claim or "groups", "groupsClaim"),
    ):
        if not claim.strip() or len(claim) > 100:
            raise InvalidInputError(f"{name} must be 1 to 100 characters", field=name)
    return ProviderSettings(
        issuer=issuer,
        client_id=client_id,
        client_secret=settings.client_secret or None,
        discovery_url=discovery,
        scopes=scopes,
        algorithms=",".join(dict.fromkeys(algorithms)),
        email_claim=settings.email_claim.strip(),
        name_claim=settings.name_claim.strip(),
        groups_claim=(settings.groups_claim or "").strip() or None,
        role_mapping=dict(settings.role_mapping),
        trust_email=settings.trust_email,
    )


async def organization_by_slug(
    session: AsyncSession, tenant_id: uuid.UUID, slug: str
) -> Organization:
    organization = (
        await session.scalars(
            select(Organization).where(
                Organization.tenant_id == tenant_id, Organization.slug == slug
            )
        )
    ).one_or_none()
    if organization is None:
        raise NotFoundError(f"no organization {slug!r}", field="organization")
    return organization


async def register_provider(
    session: AsyncSession,
    secrets: SecretBox,
    *,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    settings: ProviderSettings,
    production: bool,
) -> IdentityProvider:
    checked = check_settings(settings, production=production)
    existing = await session.scalar(
        select(IdentityProvider.id).where(
            IdentityProvider.tenant_id == tenant_id,
            IdentityProvider.organization_id == organization_id,
            IdentityProvider.issuer == checked.issuer,
        )
    )
    if existing is not None:
        raise ConflictError(
            "this organization already has a provider with that issuer", field="issuer"
        )
    provider = IdentityProvider(
        tenant_id=tenant_id,
        organization_id=organization_id,
        issuer=checked.issuer,
        discovery_url=checked.discovery_url or "",
        client_id=checked.client_id,
        client_secret_secret=(
            secrets.encrypt(checked.client_secret) if checked.client_secret else None
        ),
        scopes=checked.scopes,
        allowed_algorithms=checked.algorithms,
        email_claim=checked.email_claim,
        name_claim=checked.name_claim,
        groups_claim=checked.groups_claim,
        role_mapping=checked.role_mapping,
        trust_email=checked.trust_email,
        enabled=True,
    )
    session.add(provider)
    await session.flush()
    return provider


async def providers_of(
    session: AsyncSession, tenant_id: uuid.UUID, organization_id: uuid.UUID | None = None
) -> list[IdentityProvider]:
    statement = select(IdentityProvider).where(IdentityProvider.tenant_id == tenant_id)
    if organization_id is not None:
        statement = statement.where(IdentityProvider.organization_id == organization_id)
    return list((await session.scalars(statement.order_by(IdentityProvider.issuer))).all())


async def set_enabled(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    organization_id: uuid.UUID,
    issuer: str,
    enabled: bool,
) -> IdentityProvider:
    provider = (
        await session.scalars(
            select(IdentityProvider).where(
                IdentityProvider.tenant_id == tenant_id,
                IdentityProvider.organization_id == organization_id,
                IdentityProvider.issuer == issuer.strip(),
            )
        )
    ).one_or_none()
    if provider is None:
        raise NotFoundError("no provider with that issuer for this organization", field="issuer")
    provider.enabled = enabled
    await session.flush()
    return provider
