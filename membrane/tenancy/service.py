"""Rules of the tenancy domain: lookups of tenants and users by their public names."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.base import utcnow
from membrane.errors import ConflictError, InvalidInputError, NotFoundError
from membrane.tenancy import repository
from membrane.tenancy.catalog import DNS_LABEL
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus, UserStatus
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Organization, OrganizationDomain, Tenant, User


async def get_tenant(session: AsyncSession, tenant_id: TenantId) -> Tenant:
    tenant = (await session.scalars(repository.tenant_by_id(tenant_id))).one()
    return tenant


async def find_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.scalars(repository.tenant_by_slug(slug))).one_or_none()


async def find_user_by_email(session: AsyncSession, tenant_id: TenantId, email: str) -> User | None:
    return (await session.scalars(repository.user_by_email(tenant_id, email))).first()


def check_domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(DNS_LABEL.fullmatch(x) for x in labels):
        raise InvalidInputError(f"{raw!r} is not a domain name", field="domain")
    return domain


async def add_verified_domain(
    session: AsyncSession, tenant_id: TenantId, organization_id: uuid.UUID, raw: str
) -> OrganizationDomain:
    """Record a domain the organization has proven it owns (home-realm discovery and
    just-in-time provisioning rely on it); a domain belongs to one organization."""
    domain = check_domain(raw)
    taken = await session.scalar(
        select(OrganizationDomain.organization_id).where(
            OrganizationDomain.tenant_id == tenant_id, OrganizationDomain.domain == domain
        )
    )
    if taken is not None:
        raise ConflictError(f"{domain} is already an organization's domain", field="domain")
    record = OrganizationDomain(
        tenant_id=tenant_id, organization_id=organization_id, domain=domain, verified_at=utcnow()
    )
    session.add(record)
    await session.flush()
    return record


async def set_organization_status(
    session: AsyncSession,
    tenant_id: TenantId,
    organization: Organization,
    status: OrganizationStatus,
) -> Organization:
    """Suspend or reactivate an organization: its people's access tokens are refused from
    the next request on (the principal check; on PostgreSQL the change is announced to
    every process at commit)."""
    if organization.kind is OrganizationKind.HOST and status is OrganizationStatus.SUSPENDED:
        raise ConflictError("the host organization cannot be suspended", field="organization")
    organization.status = status
    await session.flush()
    return organization


async def set_user_status(
    session: AsyncSession, tenant_id: TenantId, email: str, status: UserStatus
) -> User:
    user = await find_user_by_email(session, tenant_id, email)
    if user is None:
        raise NotFoundError(f"no user {email!r}", field="email")
    user.status = status
    await session.flush()
    return user
