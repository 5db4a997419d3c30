"""SQL of the tenancy domain. Every query takes the tenant it runs in."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, and_, bindparam, select

from membrane.db.bound import Bound, statement_shape
from membrane.tenancy.enums import (
    OrganizationKind,
    OrganizationStatus,
    TenantRole,
    TenantStatus,
    UserStatus,
)
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Organization, Tenant, User, UserRole


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
