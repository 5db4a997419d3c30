"""Reads of the engagements domain: engagements, participants, members and content, batched.

Every function takes the request's `VisibilityScope`; invisible rows are simply not returned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.bound import Bound
from membrane.db.rows import fetch_rows
from membrane.engagements import repository
from membrane.engagements.enums import EngagementRole, EngagementStatus, TaskStatus, Zone
from membrane.engagements.models import (
    ITEMS,
    DocumentVersion,
    Engagement,
    IndicatorValue,
    Membership,
    Message,
    Participant,
    Task,
    ZonedContent,
)
from membrane.engagements.pagination import Page, PageRequest
from membrane.engagements.scope import VisibilityScope
from membrane.errors import InvalidInputError, check_text
from membrane.tenancy.models import Organization, User

ContentT = TypeVar("ContentT", bound=ZonedContent)
RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class People:
    """Users and organizations met while loading rows, to be remembered by the caller."""

    users: list[User]
    organizations: list[Organization]


def _group_pages(
    rows: Sequence[RowT], parent_ids: Sequence[uuid.UUID], parent_of: Any, page: PageRequest
) -> dict[uuid.UUID, Page[RowT]]:
    grouped: dict[uuid.UUID, list[RowT]] = {parent_id: [] for parent_id in parent_ids}
    for row in rows:
        grouped[parent_of(row)].append(row)
    return {parent_id: Page.from_rows(items, page) for parent_id, items in grouped.items()}


def _engagement_of(row: ZonedContent | Participant | Membership) -> uuid.UUID:
    return row.engagement_id


def _tasks_and_people(rows: Sequence[Any]) -> tuple[list[Any], People]:
    tasks: list[Any] = []
    people = People(users=[], organizations=[])
    for row in rows:
        task, user, organization = repository.split_task_row(row)
        tasks.append(task)
        if user is not None:
            people.users.append(user)  # type: ignore[arg-type]
        if organization is not None:
            people.organizations.append(organization)  # type: ignore[arg-type]
    return tasks, people


async def list_engagements(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    page: PageRequest,
    status: EngagementStatus | None = None,
) -> tuple[Page[Engagement], dict[uuid.UUID, EngagementRole | None]]:
    """A page of engagements, and the viewer's role in each (None where not a member)."""
    query = repository.engagements_page(scope, page, status)
    rows = (await session.execute(query.statement, query.params)).all()
    engagements = Page.from_rows([row[0] for row in rows], page)
    roles = {row[0].id: None if row[1] is None else EngagementRole(row[1]) for row in rows}
    return engagements, roles


async def engagements_by_ids(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> list[Engagement]:
    query = repository.engagements_by_ids(scope, ids)
    return list(await session.scalars(query.statement, query.params))


async def content_by_ids(
    session: AsyncSession, scope: VisibilityScope, model: type[ContentT], ids: Sequence[uuid.UUID]
) -> list[ContentT]:
    query = repository.content_by_ids(scope, model, ids)
    return list(await session.scalars(query.statement, query.params))


async def content_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
    *,
    zone: Zone | None = None,
) -> dict[uuid.UUID, Page[ContentT]]:
    query = repository.content_pages(scope, model, engagement_ids, page, zone=zone)
    return await _pages_per_engagement(session, query, engagement_ids, page)


async def content_counts(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_ids: Sequence[uuid.UUID],
    *,
    zone: Zone | None = None,
    status: TaskStatus | None = None,
) -> dict[uuid.UUID, int]:
    """How much content of each engagement the viewer may see (0 when none)."""
    query = repository.content_counts(scope, model, engagement_ids, zone=zone, status=status)
    rows = (await session.execute(query.statement, query.params)).all()
    counts = {row.engagement_id: int(row.total) for row in rows}
    return {engagement_id: counts.get(engagement_id, 0) for engagement_id in engagement_ids}


async def count_engagements(
    session: AsyncSession, scope: VisibilityScope, *, status: EngagementStatus | None = None
) -> int:
    """How many engagements the viewer may see."""
    query = repository.engagements_count(scope, status)
    return int((await session.execute(query.statement, query.params)).scalar_one())


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
    query = repository.task_pages(scope, engagement_ids, page, zone=zone, status=status)
    tasks, people = _tasks_and_people(await fetch_rows(session, query))
    return _group_pages(tasks, engagement_ids, _engagement_of, page), people


async def tasks_by_ids(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> tuple[list[Task], People]:
    return _tasks_and_people(await fetch_rows(session, repository.tasks_by_ids(scope, ids)))


async def _pages_per_engagement(
    session: AsyncSession, query: Bound, engagement_ids: Sequence[uuid.UUID], page: PageRequest
) -> dict[uuid.UUID, Page[Any]]:
    rows = list(await session.scalars(query.statement, query.params))
    return _group_pages(rows, engagement_ids, _engagement_of, page)


async def participant_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Participant]]:
    query = repository.participants_first_per_engagement(scope, engagement_ids, page)
    return await _pages_per_engagement(session, query, engagement_ids, page)


async def member_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Membership]]:
    query = repository.members_first_per_engagement(scope, engagement_ids, page)
    return await _pages_per_engagement(session, query, engagement_ids, page)


async def _children(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ZonedContent],
    parent_column: str,
    parent_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Any]]:
    query = repository.children_first_per_parent(scope, model, parent_column, parent_ids, page)
    rows = list(await session.scalars(query.statement, query.params))
    return _group_pages(rows, parent_ids, lambda row: getattr(row, parent_column), page)


async def message_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    thread_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[Message]]:
    return await _children(session, scope, Message, "thread_id", thread_ids, page)


async def version_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    document_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[DocumentVersion]]:
    return await _children(session, scope, DocumentVersion, "document_id", document_ids, page)


async def indicator_value_pages(
    session: AsyncSession,
    scope: VisibilityScope,
    indicator_ids: Sequence[uuid.UUID],
    page: PageRequest,
) -> dict[uuid.UUID, Page[IndicatorValue]]:
    return await _children(session, scope, IndicatorValue, "indicator_id", indicator_ids, page)


async def viewer_roles(
    session: AsyncSession, scope: VisibilityScope, engagement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EngagementRole]:
    query = repository.roles_in_engagements(scope, engagement_ids)
    rows = await session.scalars(query.statement, query.params)
    return {row.engagement_id: EngagementRole(row.role) for row in rows}


async def visible_users(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> list[User]:
    """People the viewer may see: their own organization's, and co-members of visible
    engagements. Anyone else answers like a missing id."""
    query = repository.visible_users(scope, ids)
    return list(await session.scalars(query.statement, query.params))


async def users_led_by_viewer(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Of these users, those in an engagement the viewer leads (row-dependent fields)."""
    query = repository.users_led_by_viewer(scope, ids)
    return set(await session.scalars(query.statement, query.params))


async def visible_organizations(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> list[Organization]:
    """The viewer's organization and the participants of visible engagements."""
    query = repository.visible_organizations(scope, ids)
    return list(await session.scalars(query.statement, query.params))


async def versions_by_ids(
    session: AsyncSession, scope: VisibilityScope, ids: Sequence[uuid.UUID]
) -> list[DocumentVersion]:
    return await content_by_ids(session, scope, DocumentVersion, ids)


SEARCHABLE = ITEMS
MAX_SEARCH_RESULTS = 100


async def search_content(
    session: AsyncSession,
    scope: VisibilityScope,
    text: str,
    *,
    first: int,
    engagement_id: uuid.UUID | None = None,
) -> list[ZonedContent]:
    """Tasks, threads, documents, milestones and indicators the viewer may see whose title
    (an indicator's name) holds `text`, newest first."""
    text = check_text(text, field="text", max_length=200)
    if len(text) < 2:
        raise InvalidInputError("text must be at least 2 characters", field="text")
    if not 1 <= first <= MAX_SEARCH_RESULTS:
        raise InvalidInputError(f"first must be from 1 to {MAX_SEARCH_RESULTS}", field="first")
    found: list[ZonedContent] = []
    for model in SEARCHABLE:
        query = repository.search(scope, model, text, first, engagement_id)
        found.extend(await session.scalars(query.statement, query.params))
    found.sort(key=lambda row: row.id, reverse=True)  # ids are time-ordered (UUIDv7)
    return found[:first]
