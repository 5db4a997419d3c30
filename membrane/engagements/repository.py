"""SQL of the engagements domain. Every query takes a `VisibilityScope` (and so its tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import aliased

from membrane.engagements.models import Engagement, Membership, Participant, ZonedContent
from membrane.engagements.pagination import PageRequest
from membrane.engagements.scope import VisibilityScope
from membrane.tenancy.models import Organization, User

ContentT = TypeVar("ContentT", bound=ZonedContent)
RowT = TypeVar("RowT")


def engagements_page(
    scope: VisibilityScope, page: PageRequest, *filters: ColumnElement[bool]
) -> Select[Engagement]:
    query = select(Engagement).where(scope.engagement_visible(), *filters)
    if page.after is not None:
        query = query.where(Engagement.id > page.after)
    return query.order_by(Engagement.id).limit(page.first + 1)


def engagements_by_ids(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Select[Engagement]:
    return select(Engagement).where(scope.engagement_visible(), Engagement.id.in_(ids))


def content_by_ids(
    scope: VisibilityScope, model: type[ContentT], ids: Sequence[uuid.UUID]
) -> Select[ContentT]:
    return select(model).where(scope.content_visible(model), model.id.in_(ids))


def first_per_parent(
    model: type[RowT],
    parent_column: Any,
    key_column: Any,
    parent_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *filters: ColumnElement[bool],
) -> Select[RowT]:
    """The first `page.first + 1` rows of each parent, ordered by key, in one statement."""
    conditions = [parent_column.in_(parent_ids), *filters]
    if page.after is not None:
        conditions.append(key_column > page.after)
    position = (
        func.row_number().over(partition_by=parent_column, order_by=key_column).label("position")
    )
    ranked = select(model, position).where(*conditions).subquery()
    row = aliased(model, ranked)
    return (
        select(row)
        .where(ranked.c.position <= page.first + 1)
        .order_by(ranked.c[parent_column.key], ranked.c[key_column.key])
    )


def with_assignees(scope: VisibilityScope, query: Select[Any]) -> Select[Any]:
    """Add each task's assignee and the assignee's organization to a query of tasks."""
    task = query.column_descriptions[0]["entity"]
    return (
        query.add_columns(User, Organization)
        .outerjoin(User, and_(User.id == task.assignee_id, User.tenant_id == scope.tenant_id))
        .outerjoin(Organization, Organization.id == User.organization_id)
    )


def content_first_per_engagement(
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *filters: ColumnElement[bool],
) -> Select[ContentT]:
    return first_per_parent(
        model,
        model.engagement_id,
        model.id,
        engagement_ids,
        page,
        scope.content_visible(model),
        *filters,
    )


def participants_first_per_engagement(
    scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID], page: PageRequest
) -> Select[Participant]:
    return first_per_parent(
        Participant,
        Participant.engagement_id,
        Participant.organization_id,
        engagement_ids,
        page,
        Participant.tenant_id == scope.tenant_id,
        Participant.engagement_id.in_(scope.engagement_ids()),
    )


def members_first_per_engagement(
    scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID], page: PageRequest
) -> Select[Membership]:
    return first_per_parent(
        Membership,
        Membership.engagement_id,
        Membership.user_id,
        engagement_ids,
        page,
        Membership.tenant_id == scope.tenant_id,
        Membership.engagement_id.in_(scope.engagement_ids()),
    )


def membership(
    scope: VisibilityScope, engagement_id: uuid.UUID, user_id: uuid.UUID
) -> Select[Membership]:
    return select(Membership).where(
        Membership.tenant_id == scope.tenant_id,
        Membership.engagement_id == engagement_id,
        Membership.user_id == user_id,
    )


def participant(
    scope: VisibilityScope, engagement_id: uuid.UUID, organization_id: uuid.UUID
) -> Select[Participant]:
    return select(Participant).where(
        Participant.tenant_id == scope.tenant_id,
        Participant.engagement_id == engagement_id,
        Participant.organization_id == organization_id,
    )


def roles_in_engagements(
    scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID]
) -> Select[Membership]:
    return select(Membership).where(
        Membership.tenant_id == scope.tenant_id,
        Membership.user_id == scope.user_id,
        Membership.engagement_id.in_(engagement_ids),
    )
