"""The visibility scope of a request: made once from the principal, required by every query.

Row rule: an engagement is visible to its members (and to the host's tenant admins); a piece of
content is visible when its engagement is, and its zone is `SHARED` or the viewer's organization
owns it. Rows outside the scope answer exactly like rows that do not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, or_, select

from membrane.auth.principal import Principal
from membrane.engagements.enums import Zone
from membrane.engagements.models import Engagement, Membership, ZonedContent
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.ids import TenantId


@dataclass(frozen=True, slots=True)
class VisibilityScope:
    tenant_id: TenantId
    user_id: uuid.UUID
    organization_id: uuid.UUID
    is_host: bool
    sees_all_engagements: bool
    principal: Principal

    def engagement_ids(self) -> Select[uuid.UUID]:
        """The engagements this scope may see, as a subquery."""
        if self.sees_all_engagements:
            return select(Engagement.id).where(Engagement.tenant_id == self.tenant_id)
        return select(Membership.engagement_id).where(
            Membership.tenant_id == self.tenant_id, Membership.user_id == self.user_id
        )

    def engagement_visible(self) -> ColumnElement[bool]:
        return and_(
            Engagement.tenant_id == self.tenant_id, Engagement.id.in_(self.engagement_ids())
        )

    def content_visible(self, model: type[ZonedContent]) -> ColumnElement[bool]:
        return and_(
            model.tenant_id == self.tenant_id,
            model.engagement_id.in_(self.engagement_ids()),
            or_(model.zone == Zone.SHARED, model.owner_organization_id == self.organization_id),
        )

    def sees_zone(self, zone: Zone, owner_organization_id: uuid.UUID) -> bool:
        return zone is Zone.SHARED or owner_organization_id == self.organization_id


def visibility_scope(principal: Principal) -> VisibilityScope:
    return VisibilityScope(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        is_host=principal.is_host,
        sees_all_engagements=principal.is_host and principal.has_role(TenantRole.ADMIN),
        principal=principal,
    )
