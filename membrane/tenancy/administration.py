"""Tenant administration through the API: organizations' identity providers and verified
domains, and suspending organizations and people.

Only an `ADMIN` of the host organization may do any of it (decision 0016); everyone else is
refused, whatever they name. Organizations, users and providers of another tenant, or
unknown ones, answer as missing. The rules of the settings themselves are
`auth.federation.registry`'s and `tenancy.service`'s, shared with `membrane orgs`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation import registry
from membrane.auth.federation.models import IdentityProvider
from membrane.auth.federation.registry import ProviderSettings
from membrane.auth.principal import Principal
from membrane.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from membrane.secrets import SecretBox
from membrane.tenancy import repository, service
from membrane.tenancy.enums import OrganizationStatus, TenantRole, UserStatus
from membrane.tenancy.models import Organization, OrganizationDomain, User


def is_tenant_admin(principal: Principal) -> bool:
    """An `ADMIN` of the host organization: the one who administers the tenant."""
    return principal.is_host and principal.has_role(TenantRole.ADMIN)


def require_tenant_admin(principal: Principal) -> None:
    if not is_tenant_admin(principal):
        raise ForbiddenError("only an admin of the host organization may do this")


async def _organization(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID
) -> Organization:
    statement = repository.organization_by_id(principal.tenant_id, organization_id)
    organization = (await session.scalars(statement)).one_or_none()
    if organization is None:
        raise NotFoundError("organization not found", field="organizationId")
    return organization


@dataclass(frozen=True, slots=True)
class NewProvider:
    """A provider as an admin describes it: lists where the registry keeps strings."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    discovery_url: str | None = None
    scopes: Sequence[str] = ("openid", "email", "profile")
    algorithms: Sequence[str] = ("RS256", "ES256")
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str | None = None
    role_mapping: Sequence[tuple[str, TenantRole]] = ()
    trust_email: bool = False


def _joined(values: Sequence[str], *, field: str, separator: str) -> str:
    words = [value.strip() for value in values]
    if any(not word or any(c.isspace() or c == "," for c in word) for word in words):
        raise InvalidInputError(
            f"each of {field} must be one word, without spaces or commas", field=field
        )
    return separator.join(words)


def _settings(new: NewProvider) -> ProviderSettings:
    if new.client_secret is not None and not new.client_secret.strip():
        raise InvalidInputError(
            "clientSecret must not be empty (omit it for a public client)", field="clientSecret"
        )
    mapping: dict[str, str] = {}
    for group, role in new.role_mapping:
        if not group.strip() or group in mapping:
            raise InvalidInputError(
                "each group of roleMapping must be given once, and not be blank",
                field="roleMapping",
            )
        mapping[group] = role.value
    return ProviderSettings(
        issuer=new.issuer,
        client_id=new.client_id,
        client_secret=new.client_secret,
        discovery_url=new.discovery_url,
        scopes=_joined(new.scopes, field="scopes", separator=" "),
        algorithms=_joined(new.algorithms, field="algorithms", separator=","),
        email_claim=new.email_claim,
        name_claim=new.name_claim,
        groups_claim=new.groups_claim,
        role_mapping=mapping,
        trust_email=new.trust_email,
    )


async def register_provider(
    session: AsyncSession,
    principal: Principal,
    secrets: SecretBox,
    *,
    organization_id: uuid.UUID,
    provider: NewProvider,
    production: bool,
) -> tuple[Organization, IdentityProvider]:
    """Register an OpenID Provider for an organization; its client secret is stored
    encrypted with `secrets`."""
    require_tenant_admin(principal)
    settings = _settings(provider)
    organization = await _organization(session, principal, organization_id)
    registered = await registry.register_provider(
        session,
        secrets,
        tenant_id=principal.tenant_id,
        organization_id=organization.id,
        settings=settings,
        production=production,
    )
    return organization, registered


async def set_provider_enabled(
    session: AsyncSession, principal: Principal, *, provider_id: uuid.UUID, enabled: bool
) -> IdentityProvider:
    require_tenant_admin(principal)
    found = await providers_by_ids(session, principal, [provider_id])
    if not found:
        raise NotFoundError("identity provider not found", field="identityProviderId")
    provider = found[0]
    return await registry.set_enabled(
        session,
        tenant_id=principal.tenant_id,
        organization_id=provider.organization_id,
        issuer=provider.issuer,
        enabled=enabled,
    )


async def add_domain(
    session: AsyncSession, principal: Principal, *, organization_id: uuid.UUID, domain: str
) -> tuple[Organization, OrganizationDomain]:
    require_tenant_admin(principal)
    organization = await _organization(session, principal, organization_id)
    record = await service.add_verified_domain(
        session, principal.tenant_id, organization.id, domain
    )
    return organization, record


async def set_organization_status(
    session: AsyncSession,
    principal: Principal,
    *,
    organization_id: uuid.UUID,
    status: OrganizationStatus,
) -> Organization:
    require_tenant_admin(principal)
    organization = await _organization(session, principal, organization_id)
    try:
        return await service.set_organization_status(
            session, principal.tenant_id, organization, status
        )
    except ConflictError as error:  # the host organization: named by the input's field
        raise ConflictError(error.message, field="organizationId") from None


async def set_user_status(
    session: AsyncSession, principal: Principal, *, user_id: uuid.UUID, status: UserStatus
) -> User:
    require_tenant_admin(principal)
    user = (
        await session.scalars(repository.user_by_id(principal.tenant_id, user_id))
    ).one_or_none()
    if user is None:
        raise NotFoundError("user not found", field="userId")
    if user.id == principal.user_id:
        raise ConflictError("an admin cannot change their own status", field="userId")
    return await service.set_user_status(session, user, status)


async def providers_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> list[IdentityProvider]:
    """Providers by id, for a tenant admin; nobody else sees any."""
    if not is_tenant_admin(principal) or not ids:
        return []
    statement = repository.identity_providers_by_ids(principal.tenant_id, ids)
    return list((await session.scalars(statement)).all())


async def providers_of(
    session: AsyncSession, principal: Principal, organization_ids: Sequence[uuid.UUID]
) -> list[IdentityProvider]:
    """The providers of these organizations, by issuer, for a tenant admin; nobody else
    sees any."""
    if not is_tenant_admin(principal) or not organization_ids:
        return []
    statement = repository.identity_providers_of(principal.tenant_id, organization_ids)
    return list((await session.scalars(statement)).all())


async def domains_of(
    session: AsyncSession, principal: Principal, organization_ids: Sequence[uuid.UUID]
) -> list[OrganizationDomain]:
    """The verified domains of these organizations, for a tenant admin; nobody else sees
    any."""
    if not is_tenant_admin(principal) or not organization_ids:
        return []
    statement = repository.domains_of(principal.tenant_id, organization_ids)
    return list((await session.scalars(statement)).all())
