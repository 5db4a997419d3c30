"""Field permissions declared beside the fields (Strawberry `PermissionExtension`).

Each class is pure: it reads the principal and, where the rule depends on the row, loads what
it needs through the request's loaders. A denied field resolves to null with a FORBIDDEN error.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from membrane.api.context import Info
from membrane.engagements.enums import EngagementRole
from membrane.tenancy.administration import is_tenant_admin
from membrane.tenancy.enums import TenantRole


class HostMember(BasePermission):
    """Readable by members of the host organization only."""

    message = "Only members of the host organization may read this field."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.is_host


class HostFinanceOrLead(BasePermission):
    """Readable by the host organization's FINANCE role, or the engagement's host LEADs."""

    message = "Only host finance or the engagement's lead may read this field."
    error_extensions = {"code": "FORBIDDEN"}

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if not principal.is_host:
            return False
        if principal.has_role(TenantRole.FINANCE):
            return True
        engagement_id = source.engagement_uuid
        role = await info.context.engagements.viewer_role.load(engagement_id)
        return role is EngagementRole.LEAD


class TenantAdmin(BasePermission):
    """Readable by ADMINs of the host organization only (decision 0016)."""

    message = "Only an admin of the host organization may read this field."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return is_tenant_admin(info.context.principal)
