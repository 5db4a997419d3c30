"""Rules of the tenancy domain: lookups of tenants and users by their public names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.tenancy import repository
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Tenant, User


async def get_tenant(session: AsyncSession, tenant_id: TenantId) -> Tenant:
    tenant = (await session.scalars(repository.tenant_by_id(tenant_id))).one()
    return tenant


async def find_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.scalars(repository.tenant_by_slug(slug))).one_or_none()


async def find_user_by_email(session: AsyncSession, tenant_id: TenantId, email: str) -> User | None:
    return (await session.scalars(repository.user_by_email(tenant_id, email))).first()
