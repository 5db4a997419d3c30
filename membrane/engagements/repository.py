"""SQL of the engagements domain. Every query takes a `VisibilityScope` (and so its tenant).

Statement shapes are built once (`functools.cache`) with bound parameters; each function
returns the shape and this call's values as a `Bound`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import FromClause

from membrane.db.bound import Bound, ids_params, match_ids, statement_shape
from membrane.db.records import Record, columns_of, prefixed
from membrane.engagements.enums import EngagementRole, EngagementStatus, TaskStatus, Zone
from membrane.engagements.models import (
    Engagement,
    Indicator,
    Membership,
    Participant,
    Task,
    ZonedContent,
)
from membrane.engagements.pagination import PageRequest
from membrane.engagements.scope import ORGANIZATION, TENANT, VisibilityScope
from membrane.tenancy.models import Organization, User

ContentT = TypeVar("ContentT", bound=ZonedContent)
RowT = TypeVar("RowT")

IDS: BindParameter[Any] = bindparam("ids", expanding=True)
AFTER: BindParameter[Any] = bindparam("after")
LIMIT: BindParameter[int] = bindparam("limit")


def _by_ids(
    scope: VisibilityScope,
    ids: Sequence[uuid.UUID],
    shape: Callable[[bool, bool], Select[Any]],
) -> Bound:
    """A by-id shape (`sees_all`, `single`) of this scope, with its parameters."""
    return Bound(
        shape(scope.sees_all_engagements, len(ids) == 1), {**scope.params, **ids_params(ids)}
    )


def _page_params(scope: VisibilityScope, page: PageRequest, **extra: Any) -> dict[str, Any]:
    params = {**scope.params, "limit": page.first + 1, **extra}
    if page.after is not None:
        params["after"] = page.after
    return params


@statement_shape
def _engagements_page(
    sees_all: bool, has_after: bool, with_status: bool
) -> Select[Engagement, str | None]:
    """A page of engagements with the viewer's role in each (null where not a member)."""
    scope_filter = VisibilityScope.engagement_filter(sees_all)
    viewer = and_(
        Membership.tenant_id == TENANT,
        Membership.engagement_id == Engagement.id,
        Membership.user_id == bindparam("scope_user"),
    )
    query = select(Engagement, Membership.role).outerjoin(Membership, viewer).where(scope_filter)
    if has_after:
        query = query.where(Engagement.id > AFTER)
    if with_status:
        query = query.where(Engagement.status == bindparam("status"))
    return query.order_by(Engagement.id).limit(LIMIT)


def engagements_page(
    scope: VisibilityScope, page: PageRequest, status: EngagementStatus | None
) -> Bound:
    statement = _engagements_page(
        scope.sees_all_engagements, page.after is not None, status is not None
    )
    extra = {"status": status} if status is not None else {}
    return Bound(statement, _page_params(scope, page, **extra))


@statement_shape
def _engagements_by_ids(sees_all: bool, single: bool) -> Select[Engagement]:
    return select(Engagement).where(
        VisibilityScope.engagement_filter(sees_all), match_ids(Engagement.id, single)
    )


def engagements_by_ids(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Bound:
    return _by_ids(scope, ids, _engagements_by_ids)


@statement_shape
def _content_by_ids(model: type[ContentT], sees_all: bool, single: bool) -> Select[ContentT]:
    return select(model).where(
        VisibilityScope.content_filter(model, sees_all), match_ids(model.id, single)
    )


def content_by_ids(
    scope: VisibilityScope, model: type[ContentT], ids: Sequence[uuid.UUID]
) -> Bound:
    return _by_ids(scope, ids, partial(_content_by_ids, model))


def first_per_parent(
    model: type[RowT],
    parent_column: Any,
    key_column: Any,
    has_after: bool,
    *filters: ColumnElement[bool],
) -> Select[RowT]:
    """The first `:limit` rows of each parent in `:ids`, ordered by key, in one statement."""
    conditions = [parent_column.in_(IDS), *filters]
    if has_after:
        conditions.append(key_column > AFTER)
    position = (
        func.row_number().over(partition_by=parent_column, order_by=key_column).label("position")
    )
    ranked = select(model, position).where(*conditions).subquery()
    row = aliased(model, ranked)
    return (
        select(row)
        .where(ranked.c.position <= LIMIT)
        .order_by(ranked.c[parent_column.key], ranked.c[key_column.key])
    )


USER_PREFIX = "assignee__"
ORGANIZATION_PREFIX = "assignee_org__"
# What the GraphQL User and Organization types show; the rest is not read on this path.
USER_FIELDS = ("id", "display_name", "email", "status", "organization_id")
ORGANIZATION_FIELDS = ("id", "slug", "name", "kind", "status")
_TASKS = Task.__table__
_USERS = User.__table__
_ORGANIZATIONS = Organization.__table__


def _tasks_with_assignees(tasks: FromClause, *conditions: ColumnElement[bool]) -> Select[Any]:
    """Task columns (under their own names) with the assignee's and their organization's
    columns (prefixed), as plain rows: no ORM objects are built on this hot path."""
    return (
        select(
            *columns_of(tasks, _TASKS),
            *prefixed(_USERS, USER_PREFIX, USER_FIELDS),
            *prefixed(_ORGANIZATIONS, ORGANIZATION_PREFIX, ORGANIZATION_FIELDS),
        )
        .select_from(tasks)
        .outerjoin(
            _USERS,
            and_(_USERS.c.id == tasks.c.assignee_id, _USERS.c.tenant_id == tasks.c.tenant_id),
        )
        .outerjoin(_ORGANIZATIONS, _ORGANIZATIONS.c.id == _USERS.c.organization_id)
        .where(*conditions)
    )


def split_task_row(row: Any) -> tuple[Any, Record | None, Record | None]:
    """(task, assignee, assignee's organization) of a row of `_tasks_with_assignees`."""
    return (
        row,
        Record.take(row, USER_PREFIX, USER_FIELDS),
        Record.take(row, ORGANIZATION_PREFIX, ORGANIZATION_FIELDS),
    )


@statement_shape
def _task_pages(sees_all: bool, has_after: bool, with_zone: bool, with_status: bool) -> Select[Any]:
    conditions = [Task.engagement_id.in_(IDS), VisibilityScope.content_filter(Task, sees_all)]
    if has_after:
        conditions.append(Task.id > AFTER)
    if with_zone:
        conditions.append(Task.zone == bindparam("zone"))
    if with_status:
        conditions.append(Task.status == bindparam("status"))
    position = func.row_number().over(partition_by=Task.engagement_id, order_by=Task.id)
    ranked = select(_TASKS, position.label("position")).where(*conditions).subquery()
    return _tasks_with_assignees(ranked, ranked.c.position <= LIMIT).order_by(
        ranked.c.engagement_id, ranked.c.id
    )


def task_pages(
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *,
    zone: Zone | None = None,
    status: TaskStatus | None = None,
) -> Bound:
    statement = _task_pages(
        scope.sees_all_engagements, page.after is not None, zone is not None, status is not None
    )
    extra: dict[str, Any] = {"ids": list(engagement_ids)}
    if zone is not None:
        extra["zone"] = zone
    if status is not None:
        extra["status"] = status
    return Bound(statement, _page_params(scope, page, **extra))


@statement_shape
def _content_pages(
    model: type[ContentT], sees_all: bool, has_after: bool, with_zone: bool
) -> Select[Any]:
    filters = [VisibilityScope.content_filter(model, sees_all)]
    if with_zone:
        filters.append(model.zone == bindparam("zone"))
    return first_per_parent(model, model.engagement_id, model.id, has_after, *filters)


def content_pages(
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *,
    zone: Zone | None = None,
) -> Bound:
    """First pages of content per engagement (tasks: see `task_pages`)."""
    statement = _content_pages(
        model, scope.sees_all_engagements, page.after is not None, zone is not None
    )
    extra: dict[str, Any] = {"ids": list(engagement_ids)}
    if zone is not None:
        extra["zone"] = zone
    return Bound(statement, _page_params(scope, page, **extra))


@statement_shape
def _content_counts(
    model: type[ContentT], sees_all: bool, with_zone: bool, with_status: bool
) -> Select[uuid.UUID, int]:
    filters = [VisibilityScope.content_filter(model, sees_all), model.engagement_id.in_(IDS)]
    if with_zone:
        filters.append(model.zone == bindparam("zone"))
    if with_status:
        if model is not Task:
            raise ValueError("only tasks have a status")
        filters.append(Task.status == bindparam("status"))
    return (
        select(model.engagement_id, func.count().label("total"))
        .where(*filters)
        .group_by(model.engagement_id)
    )


def content_counts(
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    *,
    zone: Zone | None = None,
    status: TaskStatus | None = None,
) -> Bound:
    """How much content of each engagement the scope may see, with a list's filters."""
    statement = _content_counts(
        model, scope.sees_all_engagements, zone is not None, status is not None
    )
    params: dict[str, Any] = {**scope.params, "ids": list(engagement_ids)}
    if zone is not None:
        params["zone"] = zone
    if status is not None:
        params["status"] = status
    return Bound(statement, params)


@statement_shape
def _engagements_count(sees_all: bool, with_status: bool) -> Select[Any]:
    filters = [VisibilityScope.engagement_filter(sees_all)]
    if with_status:
        filters.append(Engagement.status == bindparam("status"))
    return select(func.count()).select_from(Engagement).where(*filters)


def engagements_count(scope: VisibilityScope, status: EngagementStatus | None) -> Bound:
    params: dict[str, Any] = dict(scope.params)
    if status is not None:
        params["status"] = status
    return Bound(_engagements_count(scope.sees_all_engagements, status is not None), params)


@statement_shape
def _search(model: type[ContentT], sees_all: bool, in_engagement: bool) -> Select[ContentT]:
    title = model.name if model is Indicator else model.title  # type: ignore[attr-defined]
    filters = [
        VisibilityScope.content_filter(model, sees_all),
        func.lower(title).like(func.lower(bindparam("pattern")), escape="/"),
    ]
    if in_engagement:
        filters.append(model.engagement_id == bindparam("engagement"))
    return select(model).where(*filters).order_by(model.id.desc()).limit(LIMIT)


def search(
    scope: VisibilityScope,
    model: type[ContentT],
    text: str,
    limit: int,
    engagement_id: uuid.UUID | None,
) -> Bound:
    """Content of one kind whose title holds `text` (any case), newest first, within scope."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    params: dict[str, Any] = {**scope.params, "pattern": f"%{escaped}%", "limit": limit}
    if engagement_id is not None:
        params["engagement"] = engagement_id
    return Bound(_search(model, scope.sees_all_engagements, engagement_id is not None), params)


@statement_shape
def _tasks_by_ids(sees_all: bool, single: bool) -> Select[Any]:
    return _tasks_with_assignees(
        _TASKS, match_ids(Task.id, single), VisibilityScope.content_filter(Task, sees_all)
    )


def tasks_by_ids(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Bound:
    return _by_ids(scope, ids, _tasks_by_ids)


@statement_shape
def _link_pages(model: type[Any], sees_all: bool, has_after: bool) -> Select[Any]:
    key = model.organization_id if model is Participant else model.user_id
    return first_per_parent(
        model,
        model.engagement_id,
        key,
        has_after,
        model.tenant_id == bindparam("scope_tenant"),
        model.engagement_id.in_(VisibilityScope.engagement_ids_for(sees_all)),
    )


def participants_first_per_engagement(
    scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID], page: PageRequest
) -> Bound:
    statement = _link_pages(Participant, scope.sees_all_engagements, page.after is not None)
    return Bound(statement, _page_params(scope, page, ids=list(engagement_ids)))


def members_first_per_engagement(
    scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID], page: PageRequest
) -> Bound:
    statement = _link_pages(Membership, scope.sees_all_engagements, page.after is not None)
    return Bound(statement, _page_params(scope, page, ids=list(engagement_ids)))


@statement_shape
def _children_pages(
    model: type[ZonedContent], parent_column_name: str, sees_all: bool, has_after: bool
) -> Select[Any]:
    parent_column = getattr(model, parent_column_name)
    visible = VisibilityScope.content_filter(model, sees_all)
    return first_per_parent(model, parent_column, model.id, has_after, visible)


def children_first_per_parent(
    scope: VisibilityScope,
    model: type[ZonedContent],
    parent_column_name: str,
    parent_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> Bound:
    """Messages of threads, versions of documents, values of indicators: each row carries
    its parent's zone, so the zone rule applies to it directly."""
    statement = _children_pages(
        model, parent_column_name, scope.sees_all_engagements, page.after is not None
    )
    return Bound(statement, _page_params(scope, page, ids=list(parent_ids)))


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


@statement_shape
def _roles_in_engagements() -> Select[Membership]:
    return select(Membership).where(
        Membership.tenant_id == bindparam("scope_tenant"),
        Membership.user_id == bindparam("scope_user"),
        Membership.engagement_id.in_(IDS),
    )


def roles_in_engagements(scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID]) -> Bound:
    return Bound(_roles_in_engagements(), {**scope.params, "ids": list(engagement_ids)})


@statement_shape
def _visible_users(sees_all: bool, single: bool) -> Select[User]:
    """Users of the viewer's own organization, and members of the engagements it may see."""
    co_members = select(Membership.user_id).where(
        Membership.tenant_id == TENANT,
        Membership.engagement_id.in_(VisibilityScope.engagement_ids_for(sees_all)),
    )
    return select(User).where(
        User.tenant_id == TENANT,
        match_ids(User.id, single),
        or_(User.organization_id == ORGANIZATION, User.id.in_(co_members)),
    )


def visible_users(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Bound:
    return _by_ids(scope, ids, _visible_users)


@statement_shape
def _users_led_by_viewer() -> Select[uuid.UUID]:
    """Of the given users, those taking part in an engagement the viewer is LEAD of."""
    led = select(Membership.engagement_id).where(
        Membership.tenant_id == TENANT,
        Membership.user_id == bindparam("scope_user"),
        Membership.role == EngagementRole.LEAD,
    )
    return (
        select(Membership.user_id)
        .where(
            Membership.tenant_id == TENANT,
            Membership.user_id.in_(IDS),
            Membership.engagement_id.in_(led),
        )
        .distinct()
    )


def users_led_by_viewer(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Bound:
    return Bound(_users_led_by_viewer(), {**scope.params, "ids": list(ids)})


@statement_shape
def _visible_organizations(sees_all: bool, single: bool) -> Select[Organization]:
    """The viewer's own organization, and the participants of the engagements it may see."""
    participants = select(Participant.organization_id).where(
        Participant.tenant_id == TENANT,
        Participant.engagement_id.in_(VisibilityScope.engagement_ids_for(sees_all)),
    )
    return select(Organization).where(
        Organization.tenant_id == TENANT,
        match_ids(Organization.id, single),
        or_(Organization.id == ORGANIZATION, Organization.id.in_(participants)),
    )


def visible_organizations(scope: VisibilityScope, ids: Sequence[uuid.UUID]) -> Bound:
    return _by_ids(scope, ids, _visible_organizations)


def organization_in_tenant(
    scope: VisibilityScope, organization_id: uuid.UUID
) -> Select[Organization]:
    """Any organization of the tenant, for a host lead choosing whom to invite."""
    return select(Organization).where(
        Organization.tenant_id == scope.tenant_id, Organization.id == organization_id
    )


def user_in_tenant(scope: VisibilityScope, user_id: uuid.UUID) -> Select[User]:
    """Any user of the tenant; callers then check that their organization takes part."""
    return select(User).where(User.tenant_id == scope.tenant_id, User.id == user_id)
