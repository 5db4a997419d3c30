"""Root query fields about the viewer."""

from __future__ import annotations

import strawberry

from membrane.api.context import Info
from membrane.api.policies import SIGNED_IN, field
from membrane.api.tenancy.types import Organization, Tenant, User, Viewer
from membrane.tenancy import service


@strawberry.type
class TenancyQueries:
    @field(SIGNED_IN, description="The signed-in user, their organization, tenant and roles.")
    async def viewer(self, info: Info) -> Viewer:
        ctx = info.context
        principal = ctx.principal
        user = await ctx.tenancy.user_by_id.load(principal.user_id)
        organization = await ctx.tenancy.organization_by_id.load(principal.organization_id)
        tenant = await service.get_tenant(ctx.session, principal.tenant_id)
        assert user is not None
        assert organization is not None
        return Viewer(
            user=User.from_row(user),
            organization=Organization.from_row(organization),
            tenant=Tenant.from_row(tenant),
            roles=sorted(principal.tenant_roles),
        )
