"""Who a verified token speaks for: the principal, loaded in one statement, refused when its
user, organization or tenant may no longer act."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.errors import AuthenticationError
from membrane.auth.principal import Principal
from membrane.auth.tokens import AccessClaims
from membrane.db.rows import fetch_rows
from membrane.tenancy import repository
from membrane.tenancy.enums import (
    OrganizationKind,
    OrganizationStatus,
    TenantRole,
    TenantStatus,
    UserStatus,
)
from membrane.tenancy.ids import TenantId


async def principal_for_claims(session: AsyncSession, claims: AccessClaims) -> Principal:
    """Load the token's user in one statement and refuse anyone suspended or moved."""
    rows = await fetch_rows(session, repository.principal_rows(claims.tenant_id, claims.subject))
    if not rows:
        raise AuthenticationError("token subject is unknown")
    first = rows[0]
    if first.tenant_status != TenantStatus.ACTIVE:
        raise AuthenticationError("tenant is suspended")
    if first.user_status != UserStatus.ACTIVE:
        raise AuthenticationError("user is not active")
    if first.organization_status != OrganizationStatus.ACTIVE:
        raise AuthenticationError("organization is suspended")
    if first.organization_id != claims.organization_id:
        raise AuthenticationError("token organization does not match the user")
    return Principal(
        tenant_id=TenantId(claims.tenant_id),
        tenant_slug=first.tenant_slug,
        user_id=claims.subject,
        organization_id=first.organization_id,
        organization_kind=OrganizationKind(first.organization_kind),
        tenant_roles=frozenset(TenantRole(row.role) for row in rows if row.role is not None),
    )
