"""Rules of the tenancy domain: who a token's subject is, and lookups of users and organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.errors import AuthenticationError
from membrane.auth.principal import Principal
from membrane.auth.tokens import AccessClaims
from membrane.tenancy import repository
from membrane.tenancy.enums import OrganizationStatus, TenantRole, TenantStatus, UserStatus
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Organization, Tenant, User


async def principal_for_claims(session: AsyncSession, claims: AccessClaims) -> Principal:
    """Load the token's user and refuse anyone suspended, deprovisioned or moved."""
    row = (
        await session.execute(repository.user_with_organization(claims.tenant_id, claims.subject))
    ).one_or_none()
    if row is None:
        raise AuthenticationError("token subject is unknown")
    user, organization, tenant = row
    if tenant.status is not TenantStatus.ACTIVE:
        raise AuthenticationError("tenant is suspended")
    if user.status is not UserStatus.ACTIVE:
        raise AuthenticationError("user is not active")
    if organization.status is not OrganizationStatus.ACTIVE:
        raise AuthenticationError("organization is suspended")
    if organization.id != claims.organization_id:
        raise AuthenticationError("token organization does not match the user")
    tenant_id = TenantId(tenant.id)
    roles = await session.scalars(repository.user_roles(tenant_id, user.id))
    return Principal(
        tenant_id=tenant_id,
        tenant_slug=tenant.slug,
        user_id=user.id,
        organization_id=organization.id,
        organization_kind=organization.kind,
        tenant_roles=frozenset(TenantRole(role.role) for role in roles),
    )


async def get_tenant(session: AsyncSession, tenant_id: TenantId) -> Tenant:
    tenant = (await session.scalars(repository.tenant_by_id(tenant_id))).one()
    return tenant


async def find_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.scalars(repository.tenant_by_slug(slug))).one_or_none()


async def find_user_by_email(session: AsyncSession, tenant_id: TenantId, email: str) -> User | None:
    return (await session.scalars(repository.user_by_email(tenant_id, email))).first()


async def users_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> list[User]:
    return list(await session.scalars(repository.users_by_ids(principal.tenant_id, ids)))


async def organizations_by_ids(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> list[Organization]:
    return list(await session.scalars(repository.organizations_by_ids(principal.tenant_id, ids)))


async def roles_by_user(
    session: AsyncSession, principal: Principal, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, frozenset[TenantRole]]:
    rows = await repository.roles_of_users(session, principal.tenant_id, user_ids)
    return {
        user_id: frozenset(TenantRole(r.role) for r in roles) for user_id, roles in rows.items()
    }
