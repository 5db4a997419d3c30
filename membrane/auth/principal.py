"""The principal a request acts as: a user of one organization, inside exactly one tenant.

Federation (partner IdPs) produces the same principal; only how the token was obtained differs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from membrane.tenancy.enums import OrganizationKind, TenantRole
from membrane.tenancy.ids import TenantId


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: TenantId
    tenant_slug: str
    user_id: uuid.UUID
    organization_id: uuid.UUID
    organization_kind: OrganizationKind
    tenant_roles: frozenset[TenantRole]

    @property
    def is_host(self) -> bool:
        return self.organization_kind is OrganizationKind.HOST

    def has_role(self, role: TenantRole) -> bool:
        return role in self.tenant_roles
