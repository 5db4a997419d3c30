"""Rules of the tenancy domain: lookups of tenants and users by their public names, verified
domains, and suspensions (which also revoke the refresh tokens of those suspended)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth import refresh_tokens
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
    if status is not OrganizationStatus.ACTIVE:
        await refresh_tokens.revoke_organization(session, organization.id)
    return organization


async def user_by_email(session: AsyncSession, tenant_id: TenantId, email: str) -> User:
    """The one user with this email; people are identified by issuer and subject, so two
    identities may share an email, and then the caller must name the user otherwise."""
    users = (await session.scalars(repository.user_by_email(tenant_id, email))).all()
    if not users:
        raise NotFoundError(f"no user {email!r}", field="email")
    if len(users) > 1:
        raise ConflictError(
            f"{len(users)} users have the email {email!r}; name the user by id", field="email"
        )
    return users[0]


async def set_user_status(session: AsyncSession, user: User, status: UserStatus) -> User:
    """Suspend, deprovision or reactivate a user: their access tokens are refused from the
    next request on, and leaving ACTIVE revokes their refresh tokens."""
    user.status = status
    await session.flush()
    if status is not UserStatus.ACTIVE:
        await refresh_tokens.revoke_user(session, user.id)
    return user
