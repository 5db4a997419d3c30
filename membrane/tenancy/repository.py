"""SQL of the tenancy domain. Every query takes the tenant it runs in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, and_, bindparam, select

# Identity providers belong to organizations; their rules live in `auth.federation.registry`.
from membrane.auth.federation.models import IdentityProvider
from membrane.db.bound import Bound, statement_shape
from membrane.tenancy.enums import (
    OrganizationKind,
    OrganizationStatus,
    TenantRole,
    TenantStatus,
    UserStatus,
)
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Organization, OrganizationDomain, Tenant, User, UserRole


def tenant_by_id(tenant_id: uuid.UUID) -> Select[Tenant]:
    return select(Tenant).where(Tenant.id == tenant_id)


def tenant_by_slug(slug: str) -> Select[Tenant]:
    return select(Tenant).where(Tenant.slug == slug)


def principal_rows(tenant_id: uuid.UUID, user_id: uuid.UUID) -> Bound:
    """What a principal is made of, in one statement: one row per tenant role held (or one
    row with a null role)."""
    return Bound(_principal_rows(), {"tenant_id": tenant_id, "user_id": user_id})


@statement_shape
def _principal_rows() -> Select[
    UserStatus, uuid.UUID, OrganizationKind, OrganizationStatus, str, TenantStatus, TenantRole
]:
    return (
        select(
            User.status.label("user_status"),
            User.organization_id,
            Organization.kind.label("organization_kind"),
            Organization.status.label("organization_status"),
            Tenant.slug.label("tenant_slug"),
            Tenant.status.label("tenant_status"),
            UserRole.role,
        )
        .join(Organization, Organization.id == User.organization_id)
        .join(Tenant, Tenant.id == User.tenant_id)
        .outerjoin(
            UserRole, and_(UserRole.user_id == User.id, UserRole.tenant_id == User.tenant_id)
        )
        .where(User.tenant_id == bindparam("tenant_id"), User.id == bindparam("user_id"))
    )


def user_by_email(tenant_id: TenantId, email: str) -> Select[User]:
    return select(User).where(User.tenant_id == tenant_id, User.email == email.lower())


def organization_by_id(tenant_id: TenantId, organization_id: uuid.UUID) -> Select[Organization]:
    return select(Organization).where(
        Organization.tenant_id == tenant_id, Organization.id == organization_id
    )


def user_by_id(tenant_id: TenantId, user_id: uuid.UUID) -> Select[User]:
    return select(User).where(User.tenant_id == tenant_id, User.id == user_id)


def domains_of(
    tenant_id: TenantId, organization_ids: Sequence[uuid.UUID]
) -> Select[OrganizationDomain]:
    return (
        select(OrganizationDomain)
        .where(
            OrganizationDomain.tenant_id == tenant_id,
            OrganizationDomain.organization_id.in_(list(organization_ids)),
        )
        .order_by(OrganizationDomain.domain)
    )


def identity_providers_by_ids(
    tenant_id: TenantId, provider_ids: Sequence[uuid.UUID]
) -> Select[IdentityProvider]:
    return select(IdentityProvider).where(
        IdentityProvider.tenant_id == tenant_id, IdentityProvider.id.in_(list(provider_ids))
    )


def identity_providers_of(
    tenant_id: TenantId, organization_ids: Sequence[uuid.UUID]
) -> Select[IdentityProvider]:
    return (
        select(IdentityProvider)
        .where(
            IdentityProvider.tenant_id == tenant_id,
            IdentityProvider.organization_id.in_(list(organization_ids)),
        )
        .order_by(IdentityProvider.issuer)
    )
