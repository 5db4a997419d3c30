"""Reads of the engagements domain: engagements, participants, members and content, batched.

Every function takes the request's `VisibilityScope`; invisible rows are simply not returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.engagements import repository
from membrane.engagements.enums import EngagementRole, EngagementStatus, TaskStatus, Zone
from membrane.engagements.models import (
    Document,
    DocumentVersion,
    Engagement,
    Indicator,
    IndicatorValue,
    Membership,
    Message,
    Participant,
    Task,
    ZonedContent,
)
from membrane.engagements.pagination import Page, PageRequest
from membrane.engagements.scope import VisibilityScope
from membrane.tenancy.models import Organization, User

ContentT = TypeVar("ContentT", bound=ZonedContent)
RowT = TypeVar("RowT")


def _group_pages(
    rows: Sequence[RowT], parent_ids: Sequence[uuid.UUID], parent_of: Any, page: PageRequest
) -> dict[uuid.UUID, Page[RowT]]:
    grouped: dict[uuid.UUID, list[RowT]] = {parent_id: [] for parent_id in parent_ids}
    for row in rows:
        grouped[parent_of(row)].append(row)
    return {parent_id: Page.from_rows(items, page) for parent_id, items in grouped.items()}


async def list_engagements(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    page: PageRequest,
    status: EngagementStatus | None = None,
) -> Page[Engagement]:
    filters = [Engagement.status == status] if status is not None else []
    rows = list(await session.scalars(repository.engagements_page(scope, page, *filters)))
    return Page.from_rows(rows, page)


async def engagements_by_ids(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> list[Engagement]:
    return list(await session.scalars(repository.engagements_by_ids(scope, ids)))


async def content_by_ids(
    session: AsyncSession, scope: VisibilityScope, model: type[ContentT], ids: Sequence[uuid.UUID]
) -> list[ContentT]:
    return list(await session.scalars(repository.content_by_ids(scope, model, ids)))


async def content_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *,
    zone: Zone | None = None,
    status: StrEnum | None = None,
) -> dict[uuid.UUID, Page[ContentT]]:
    """First pages of content per engagement; `status` filters models that have one."""
    extra: list[ColumnElement[bool]] = []
    if zone is not None:
        extra.append(model.zone == zone)
    if status is not None:
        status_column: Any = getattr(model, "status")  # noqa: B009 - only some models have one
        extra.append(status_column == status)
    rows = await session.scalars(
        repository.content_first_per_engagement(scope, model, engagement_ids, page, *extra)
    )
    return _group_pages(list(rows), engagement_ids, lambda row: row.engagement_id, page)


@dataclass(frozen=True, slots=True)
class People:
    """Users and organizations met while loading rows, to be remembered by the caller."""

    users: list[User]
    organizations: list[Organization]


def _people(rows: Sequence[Any]) -> People:
    return People(
        users=[row[1] for row in rows if row[1] is not None],
        organizations=[row[2] for row in rows if row[2] is not None],
    )


async def task_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *,
    zone: Zone | None = None,
    status: TaskStatus | None = None,
) -> tuple[dict[uuid.UUID, Page[Task]], People]:
    """First pages of tasks per engagement, with assignees and their organizations, in one
    statement."""
    extra: list[ColumnElement[bool]] = []
    if zone is not None:
        extra.append(Task.zone == zone)
    if status is not None:
        extra.append(Task.status == status)
    query = repository.with_assignees(
        scope, repository.content_first_per_engagement(scope, Task, engagement_ids, page, *extra)
    )
    rows = (await session.execute(query)).all()
    tasks = [row[0] for row in rows]
    pages = _group_pages(tasks, engagement_ids, lambda row: row.engagement_id, page)
    return pages, _people(rows)


async def tasks_by_ids(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> tuple[list[Task], People]:
    query = repository.with_assignees(scope, repository.content_by_ids(scope, Task, ids))
    rows = (await session.execute(query)).all()
    return [row[0] for row in rows], _people(rows)


async def participant_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Participant]]:
    rows = await session.scalars(
        repository.participants_first_per_engagement(scope, engagement_ids, page)
    )
    return _group_pages(list(rows), engagement_ids, lambda row: row.engagement_id, page)


async def member_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Membership]]:
    rows = await session.scalars(
        repository.members_first_per_engagement(scope, engagement_ids, page)
    )
    return _group_pages(list(rows), engagement_ids, lambda row: row.engagement_id, page)


async def message_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    thread_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Message]]:
    query = repository.first_per_parent(
        Message, Message.thread_id, Message.id, thread_ids, page, scope.content_visible(Message)
    )
    rows = await session.scalars(query)
    return _group_pages(list(rows), thread_ids, lambda row: row.thread_id, page)


async def version_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    document_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[DocumentVersion]]:
    visible_documents = select(Document.id).where(scope.content_visible(Document))
    query = repository.first_per_parent(
        DocumentVersion,
        DocumentVersion.document_id,
        DocumentVersion.id,
        document_ids,
        page,
        DocumentVersion.tenant_id == scope.tenant_id,
        DocumentVersion.document_id.in_(visible_documents),
    )
    rows = await session.scalars(query)
    return _group_pages(list(rows), document_ids, lambda row: row.document_id, page)


async def indicator_value_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    indicator_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[IndicatorValue]]:
    visible_indicators = select(Indicator.id).where(scope.content_visible(Indicator))
    query = repository.first_per_parent(
        IndicatorValue,
        IndicatorValue.indicator_id,
        IndicatorValue.id,
        indicator_ids,
        page,
        IndicatorValue.tenant_id == scope.tenant_id,
        IndicatorValue.indicator_id.in_(visible_indicators),
    )
    rows = await session.scalars(query)
    return _group_pages(list(rows), indicator_ids, lambda row: row.indicator_id, page)


async def viewer_roles(
    session: AsyncSession, scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EngagementRole]:
    rows = await session.scalars(repository.roles_in_engagements(scope, engagement_ids))
    return {row.engagement_id: EngagementRole(row.role) for row in rows}
