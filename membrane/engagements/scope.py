"""The visibility scope of a request: made once from the principal, required by every query.

Row rule: an engagement is visible to its members (and to the host's tenant admins); a piece of
content is visible when its engagement is, and its zone is `SHARED` or the viewer's organization
owns it. Rows outside the scope answer exactly like rows that do not exist.

The predicates are built once per model with bound parameters (`scope_tenant`, `scope_user`,
`scope_org`) and filled from `params` at execution, so no request pays for building SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, or_, select

from membrane.auth.principal import Principal
from membrane.db.bound import statement_shape
from membrane.engagements.enums import Zone
from membrane.engagements.models import Engagement, Membership, ZonedContent
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.ids import TenantId

TENANT: BindParameter[Any] = bindparam("scope_tenant")
USER: BindParameter[Any] = bindparam("scope_user")
ORGANIZATION: BindParameter[Any] = bindparam("scope_org")


@statement_shape
def _engagement_ids(sees_all: bool) -> Select[uuid.UUID]:
    if sees_all:
        return select(Engagement.id).where(Engagement.tenant_id == TENANT)
    return select(Membership.engagement_id).where(
        Membership.tenant_id == TENANT, Membership.user_id == USER
    )


@statement_shape
def _engagement_visible(sees_all: bool) -> ColumnElement[bool]:
    return and_(Engagement.tenant_id == TENANT, Engagement.id.in_(_engagement_ids(sees_all)))


@statement_shape
def _content_visible(model: type[ZonedContent], sees_all: bool) -> ColumnElement[bool]:
    return and_(
        model.tenant_id == TENANT,
        model.engagement_id.in_(_engagement_ids(sees_all)),
        or_(model.zone == Zone.SHARED, model.owner_organization_id == ORGANIZATION),
    )


@dataclass(frozen=True, slots=True)
class VisibilityScope:
    tenant_id: TenantId
    user_id: uuid.UUID
    organization_id: uuid.UUID
    is_host: bool
    sees_all_engagements: bool
    principal: Principal
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.params.update(
            scope_tenant=self.tenant_id, scope_user=self.user_id, scope_org=self.organization_id
        )

    @staticmethod
    def engagement_ids_for(sees_all: bool) -> Select[uuid.UUID]:
        """The engagements a scope may see, as a subquery with bound scope parameters."""
        return _engagement_ids(sees_all)

    @staticmethod
    def engagement_filter(sees_all: bool) -> ColumnElement[bool]:
        return _engagement_visible(sees_all)

    @staticmethod
    def content_filter(model: type[ZonedContent], sees_all: bool) -> ColumnElement[bool]:
        return _content_visible(model, sees_all)


def visibility_scope(principal: Principal) -> VisibilityScope:
    return VisibilityScope(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        is_host=principal.is_host,
        sees_all_engagements=principal.is_host and principal.has_role(TenantRole.ADMIN),
        principal=principal,
    )
