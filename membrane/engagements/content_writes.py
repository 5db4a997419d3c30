"""Changes to engagement content: tasks, threads and messages, documents and versions,
milestones, indicators. Services validate and flush; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.base import utcnow
from membrane.engagements import repository
from membrane.engagements.enums import TaskStatus, Zone
from membrane.engagements.guards import (
    require_finance_or_lead,
    require_host_field,
    require_writer,
    visible_content,
    visible_engagement,
)
from membrane.engagements.models import (
    BODY_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    UNIT_MAX,
    Document,
    DocumentVersion,
    Indicator,
    IndicatorValue,
    Message,
    Milestone,
    Task,
    Thread,
    ZonedContent,
)
from membrane.engagements.scope import VisibilityScope
from membrane.errors import (
    ConflictError,
    InvalidInputError,
    check_not_negative,
    check_text,
)

ContentT = TypeVar("ContentT", bound=ZonedContent)


def _child_of(
    parent: ZonedContent, scope: VisibilityScope, model: type[ContentT], **fields: Any
) -> ContentT:
    """A row that belongs to `parent` (a message, a version, a value): same engagement,
    owner and zone, so it is checkable alone and moves with its parent."""
    build: Any = model
    row: ContentT = build(
        tenant_id=parent.tenant_id,
        engagement_id=parent.engagement_id,
        owner_organization_id=parent.owner_organization_id,
        zone=parent.zone,
        created_by_id=scope.user_id,
        **fields,
    )
    return row


async def _may_write(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID
) -> None:
    """The engagement is visible and the viewer is one of its leads or contributors."""
    await visible_engagement(session, scope, engagement_id, "engagementId")
    await require_writer(session, scope, engagement_id)


async def _add_content(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    engagement_id: uuid.UUID,
    zone: Zone,
    **fields: Any,
) -> ContentT:
    """New content of the viewer's organization in one zone of the engagement."""
    build: Any = model  # the mixin has no constructor of its own; every model does
    row: ContentT = build(
        tenant_id=scope.tenant_id,
        engagement_id=engagement_id,
        owner_organization_id=scope.organization_id,
        zone=zone,
        created_by_id=scope.user_id,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def _check_assignee(
    session: AsyncSession,
    scope: VisibilityScope,
    engagement_id: uuid.UUID,
    assignee_id: uuid.UUID,
    zone: Zone,
    owner_organization_id: uuid.UUID,
) -> None:
    """An assignee must be a member who can see the task."""
    member = (
        await session.scalars(repository.membership(scope, engagement_id, assignee_id))
    ).one_or_none()
    if member is None:
        raise InvalidInputError(
            "the assignee is not a member of the engagement", field="assigneeId"
        )
    if zone is Zone.INTERNAL and member.organization_id != owner_organization_id:
        raise InvalidInputError(
            "an internal task can only be assigned within its organization", field="assigneeId"
        )


@dataclass(frozen=True, slots=True)
class NewTask:
    engagement_id: uuid.UUID
    title: str
    zone: Zone
    description: str = ""
    status: TaskStatus = TaskStatus.TODO
    assignee_id: uuid.UUID | None = None
    due_on: date | None = None
    estimate_hours: float | None = None
    internal_notes: str | None = None
    cost_cents: int | None = None


async def create_task(session: AsyncSession, scope: VisibilityScope, data: NewTask) -> Task:
    await _may_write(session, scope, data.engagement_id)
    title = check_text(data.title, field="title", max_length=TITLE_MAX)
    description = check_text(
        data.description, field="description", max_length=DESCRIPTION_MAX, required=False
    )
    check_not_negative(data.estimate_hours, field="estimateHours")
    check_not_negative(data.cost_cents, field="costCents")
    notes = ""
    if data.internal_notes is not None:
        require_host_field(scope, "internalNotes")
        notes = check_text(
            data.internal_notes, field="internalNotes", max_length=DESCRIPTION_MAX, required=False
        )
    if data.cost_cents is not None:
        await require_finance_or_lead(session, scope, data.engagement_id, "costCents")
    if data.assignee_id is not None:
        await _check_assignee(
            session, scope, data.engagement_id, data.assignee_id, data.zone, scope.organization_id
        )
    return await _add_content(
        session,
        scope,
        Task,
        data.engagement_id,
        data.zone,
        title=title,
        description=description,
        status=data.status,
        assignee_id=data.assignee_id,
        due_on=data.due_on,
        estimate_hours=data.estimate_hours,
        internal_notes=notes,
        cost_cents=data.cost_cents,
    )


@dataclass(frozen=True, slots=True)
class TaskChanges:
    """Only the fields present in `given` are changed; a given `None` clears the field."""

    given: frozenset[str]
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    assignee_id: uuid.UUID | None = None
    due_on: date | None = None
    estimate_hours: float | None = None
    internal_notes: str | None = None
    cost_cents: int | None = None


_NOT_NULL_TASK_FIELDS = {"title": "title", "status": "status", "description": "description"}


async def update_task(
    session: AsyncSession, scope: VisibilityScope, task_id: uuid.UUID, changes: TaskChanges
) -> Task:
    task = await visible_content(session, scope, Task, task_id, "id")
    await require_writer(session, scope, task.engagement_id)
    for name, field in _NOT_NULL_TASK_FIELDS.items():
        if name in changes.given and getattr(changes, name) is None:
            raise InvalidInputError(f"{field} cannot be null", field=field)
    if "title" in changes.given and changes.title is not None:
        task.title = check_text(changes.title, field="title", max_length=TITLE_MAX)
    if "description" in changes.given and changes.description is not None:
        task.description = check_text(
            changes.description, field="description", max_length=DESCRIPTION_MAX, required=False
        )
    if "status" in changes.given and changes.status is not None:
        task.status = changes.status
    if "due_on" in changes.given:
        task.due_on = changes.due_on
    if "estimate_hours" in changes.given:
        check_not_negative(changes.estimate_hours, field="estimateHours")
        task.estimate_hours = changes.estimate_hours
    if "internal_notes" in changes.given:
        require_host_field(scope, "internalNotes")
        task.internal_notes = check_text(
            changes.internal_notes or "",
            field="internalNotes",
            max_length=DESCRIPTION_MAX,
            required=False,
        )
    if "cost_cents" in changes.given:
        await require_finance_or_lead(session, scope, task.engagement_id, "costCents")
        check_not_negative(changes.cost_cents, field="costCents")
        task.cost_cents = changes.cost_cents
    if "assignee_id" in changes.given:
        if changes.assignee_id is not None:
            await _check_assignee(
                session,
                scope,
                task.engagement_id,
                changes.assignee_id,
                task.zone,
                task.owner_organization_id,
            )
        task.assignee_id = changes.assignee_id
    task.updated_at = utcnow()
    await session.flush()
    return task


async def create_thread(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    title: str,
    zone: Zone,
    body: str | None,
) -> Thread:
    await _may_write(session, scope, engagement_id)
    thread = await _add_content(
        session,
        scope,
        Thread,
        engagement_id,
        zone,
        title=check_text(title, field="title", max_length=TITLE_MAX),
    )
    if body is not None:
        await _add_message(session, scope, thread, body)
    return thread


async def _add_message(
    session: AsyncSession, scope: VisibilityScope, thread: Thread, body: str
) -> Message:
    message = _child_of(
        thread,
        scope,
        Message,
        thread_id=thread.id,
        body=check_text(body, field="body", max_length=BODY_MAX),
    )
    session.add(message)
    await session.flush()
    return message


async def post_message(
    session: AsyncSession, scope: VisibilityScope, *, thread_id: uuid.UUID, body: str
) -> Message:
    thread = await visible_content(session, scope, Thread, thread_id, "threadId", for_update=True)
    await require_writer(session, scope, thread.engagement_id)
    return await _add_message(session, scope, thread, body)


async def create_document(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    title: str,
    zone: Zone,
    body: str,
) -> tuple[Document, DocumentVersion]:
    await _may_write(session, scope, engagement_id)
    text = check_text(body, field="body", max_length=BODY_MAX, required=False)
    size = len(text.encode("utf-8"))
    document = await _add_content(
        session,
        scope,
        Document,
        engagement_id,
        zone,
        title=check_text(title, field="title", max_length=TITLE_MAX),
        current_version=1,
        size_bytes=size,
    )
    version = _child_of(
        document,
        scope,
        DocumentVersion,
        document_id=document.id,
        number=1,
        body=text,
        size_bytes=size,
    )
    session.add(version)
    await session.flush()
    return document, version


async def create_document_version(
    session: AsyncSession, scope: VisibilityScope, *, document_id: uuid.UUID, body: str
) -> tuple[Document, DocumentVersion]:
    document = await visible_content(
        session, scope, Document, document_id, "documentId", for_update=True
    )
    await require_writer(session, scope, document.engagement_id)
    text = check_text(body, field="body", max_length=BODY_MAX, required=False)
    size = len(text.encode("utf-8"))
    version = _child_of(
        document,
        scope,
        DocumentVersion,
        document_id=document.id,
        number=document.current_version + 1,
        body=text,
        size_bytes=size,
    )
    session.add(version)
    document.current_version = version.number
    document.size_bytes = size
    try:
        await session.flush()
    except IntegrityError:
        raise ConflictError("the document changed meanwhile; try again") from None
    return document, version


async def create_milestone(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    title: str,
    zone: Zone,
    due_on: date | None,
) -> Milestone:
    await _may_write(session, scope, engagement_id)
    return await _add_content(
        session,
        scope,
        Milestone,
        engagement_id,
        zone,
        title=check_text(title, field="title", max_length=TITLE_MAX),
        due_on=due_on,
    )


async def create_indicator(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    name: str,
    unit: str,
    zone: Zone,
    target: float | None,
) -> Indicator:
    await _may_write(session, scope, engagement_id)
    return await _add_content(
        session,
        scope,
        Indicator,
        engagement_id,
        zone,
        name=check_text(name, field="name", max_length=TITLE_MAX),
        unit=check_text(unit, field="unit", max_length=UNIT_MAX, required=False),
        target=target,
    )


async def set_indicator_value(
    session: AsyncSession, scope: VisibilityScope, *, indicator_id: uuid.UUID, value: float
) -> Indicator:
    indicator = await visible_content(
        session, scope, Indicator, indicator_id, "indicatorId", for_update=True
    )
    await require_writer(session, scope, indicator.engagement_id)
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError("value must be a finite number", field="value")
    session.add(_child_of(indicator, scope, IndicatorValue, indicator_id=indicator.id, value=value))
    indicator.current_value = value
    await session.flush()
    return indicator
