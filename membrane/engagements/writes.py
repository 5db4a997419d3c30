"""Changes to engagements and their content. Services validate and flush; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.base import utcnow
from membrane.engagements import repository
from membrane.engagements.enums import (
    WRITER_ROLES,
    EngagementRole,
    EngagementStatus,
    TaskStatus,
    Zone,
)
from membrane.engagements.models import (
    BODY_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    UNIT_MAX,
    Document,
    DocumentVersion,
    Engagement,
    Indicator,
    IndicatorValue,
    Membership,
    Message,
    Milestone,
    Participant,
    Task,
    Thread,
    ZonedContent,
)
from membrane.engagements.scope import VisibilityScope
from membrane.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    check_not_negative,
    check_text,
)
from membrane.tenancy.enums import (
    OrganizationKind,
    OrganizationStatus,
    TenantRole,
    UserStatus,
)
from membrane.tenancy.models import Organization, User

ContentT = TypeVar("ContentT", bound=ZonedContent)


async def _visible_engagement(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID, field: str
) -> Engagement:
    query = repository.engagements_by_ids(scope, [engagement_id])
    engagement: Engagement | None = (
        await session.scalars(query.statement, query.params)
    ).one_or_none()
    if engagement is None:
        raise NotFoundError("engagement not found", field=field)
    return engagement


async def _role(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID
) -> EngagementRole | None:
    member = (
        await session.scalars(repository.membership(scope, engagement_id, scope.user_id))
    ).one_or_none()
    return None if member is None else EngagementRole(member.role)


async def _require_writer(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID
) -> EngagementRole:
    role = await _role(session, scope, engagement_id)
    if role not in WRITER_ROLES:
        raise ForbiddenError("only engagement leads and contributors may change its content")
    assert role is not None
    return role


async def _require_lead(
    session: AsyncSession, scope: VisibilityScope, engagement: Engagement
) -> None:
    role = await _role(session, scope, engagement.id)
    host_admin = scope.is_host and scope.principal.has_role(TenantRole.ADMIN)
    if role is not EngagementRole.LEAD and not host_admin:
        raise ForbiddenError("only an engagement lead may do this")


async def _visible_content(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    content_id: uuid.UUID,
    field: str,
) -> ContentT:
    query = repository.content_by_ids(scope, model, [content_id])
    row: ContentT | None = (await session.scalars(query.statement, query.params)).one_or_none()
    if row is None:
        raise NotFoundError(f"{model.__name__.lower()} not found", field=field)
    return row


def _check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInputError("endsOn must not be before startsOn", field="endsOn")


async def _require_finance_or_lead(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID, field: str
) -> None:
    """Money fields: the host's FINANCE role, or the engagement's host LEAD (as for reads)."""
    _require_host_field(scope, field)
    if scope.principal.has_role(TenantRole.FINANCE):
        return
    if await _role(session, scope, engagement_id) is not EngagementRole.LEAD:
        raise ForbiddenError(
            f"{field} may only be written by host finance or the engagement's lead", field=field
        )


def _require_host_field(scope: VisibilityScope, field: str) -> None:
    if not scope.is_host:
        raise ForbiddenError(f"{field} may only be written by the host organization", field=field)


@dataclass(frozen=True, slots=True)
class NewEngagement:
    name: str
    description: str = ""
    status: EngagementStatus = EngagementStatus.PLANNED
    starts_on: date | None = None
    ends_on: date | None = None
    budget_cents: int | None = None


async def create_engagement(
    session: AsyncSession, scope: VisibilityScope, data: NewEngagement
) -> Engagement:
    """Host members create engagements; the creator becomes its first lead."""
    if not scope.is_host:
        raise ForbiddenError("only members of the host organization may create engagements")
    check_not_negative(data.budget_cents, field="budgetCents")
    _check_dates(data.starts_on, data.ends_on)
    engagement = Engagement(
        tenant_id=scope.tenant_id,
        host_organization_id=scope.organization_id,
        name=check_text(data.name, field="name", max_length=TITLE_MAX),
        description=check_text(
            data.description, field="description", max_length=DESCRIPTION_MAX, required=False
        ),
        status=data.status,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        budget_cents=data.budget_cents,
    )
    session.add(engagement)
    await session.flush()
    session.add(
        Participant(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            organization_id=scope.organization_id,
        )
    )
    session.add(
        Membership(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            user_id=scope.user_id,
            organization_id=scope.organization_id,
            role=EngagementRole.LEAD,
        )
    )
    await session.flush()
    return engagement


async def add_participant(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    organization_id: uuid.UUID,
) -> tuple[Engagement, Organization]:
    engagement = await _visible_engagement(session, scope, engagement_id, "engagementId")
    if not scope.is_host:
        raise ForbiddenError("only the host organization may add participants")
    await _require_lead(session, scope, engagement)
    organization = (
        await session.scalars(
            select(Organization).where(
                Organization.tenant_id == scope.tenant_id, Organization.id == organization_id
            )
        )
    ).one_or_none()
    if organization is None:
        raise NotFoundError("organization not found", field="organizationId")
    if organization.kind is not OrganizationKind.PARTNER:
        raise InvalidInputError("only partner organizations can be added", field="organizationId")
    if organization.status is not OrganizationStatus.ACTIVE:
        raise InvalidInputError("the organization is suspended", field="organizationId")
    existing = await session.scalars(repository.participant(scope, engagement.id, organization.id))
    if existing.one_or_none() is not None:
        raise ConflictError("the organization already takes part", field="organizationId")
    session.add(
        Participant(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            organization_id=organization.id,
        )
    )
    await session.flush()
    return engagement, organization


async def add_member(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    user_id: uuid.UUID,
    role: EngagementRole,
) -> Membership:
    """Leads add members; a partner's lead may add only people of its own organization."""
    engagement = await _visible_engagement(session, scope, engagement_id, "engagementId")
    await _require_lead(session, scope, engagement)
    user = (
        await session.scalars(
            select(User).where(User.tenant_id == scope.tenant_id, User.id == user_id)
        )
    ).one_or_none()
    if user is None:
        raise NotFoundError("user not found", field="userId")
    if not scope.is_host and user.organization_id != scope.organization_id:
        raise ForbiddenError("a partner lead may only add people of its own organization")
    if user.status is not UserStatus.ACTIVE:
        raise InvalidInputError("the user is not active", field="userId")
    participant = await session.scalars(
        repository.participant(scope, engagement.id, user.organization_id)
    )
    if participant.one_or_none() is None:
        raise InvalidInputError(
            "the user's organization does not take part in the engagement", field="userId"
        )
    existing = await session.scalars(repository.membership(scope, engagement.id, user.id))
    if existing.one_or_none() is not None:
        raise ConflictError("the user is already a member", field="userId")
    membership = Membership(
        tenant_id=scope.tenant_id,
        engagement_id=engagement.id,
        user_id=user.id,
        organization_id=user.organization_id,
        role=role,
    )
    session.add(membership)
    await session.flush()
    return membership


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
    await _visible_engagement(session, scope, data.engagement_id, "engagementId")
    await _require_writer(session, scope, data.engagement_id)
    title = check_text(data.title, field="title", max_length=TITLE_MAX)
    description = check_text(
        data.description, field="description", max_length=DESCRIPTION_MAX, required=False
    )
    check_not_negative(data.estimate_hours, field="estimateHours")
    check_not_negative(data.cost_cents, field="costCents")
    notes = ""
    if data.internal_notes is not None:
        _require_host_field(scope, "internalNotes")
        notes = check_text(
            data.internal_notes, field="internalNotes", max_length=DESCRIPTION_MAX, required=False
        )
    if data.cost_cents is not None:
        await _require_finance_or_lead(session, scope, data.engagement_id, "costCents")
    if data.assignee_id is not None:
        await _check_assignee(
            session, scope, data.engagement_id, data.assignee_id, data.zone, scope.organization_id
        )
    task = Task(
        tenant_id=scope.tenant_id,
        engagement_id=data.engagement_id,
        owner_organization_id=scope.organization_id,
        zone=data.zone,
        created_by_id=scope.user_id,
        title=title,
        description=description,
        status=data.status,
        assignee_id=data.assignee_id,
        due_on=data.due_on,
        estimate_hours=data.estimate_hours,
        internal_notes=notes,
        cost_cents=data.cost_cents,
    )
    session.add(task)
    await session.flush()
    return task


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
    task = await _visible_content(session, scope, Task, task_id, "id")
    await _require_writer(session, scope, task.engagement_id)
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
        _require_host_field(scope, "internalNotes")
        task.internal_notes = check_text(
            changes.internal_notes or "",
            field="internalNotes",
            max_length=DESCRIPTION_MAX,
            required=False,
        )
    if "cost_cents" in changes.given:
        await _require_finance_or_lead(session, scope, task.engagement_id, "costCents")
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
    await _visible_engagement(session, scope, engagement_id, "engagementId")
    await _require_writer(session, scope, engagement_id)
    thread = Thread(
        tenant_id=scope.tenant_id,
        engagement_id=engagement_id,
        owner_organization_id=scope.organization_id,
        zone=zone,
        created_by_id=scope.user_id,
        title=check_text(title, field="title", max_length=TITLE_MAX),
    )
    session.add(thread)
    await session.flush()
    if body is not None:
        await _add_message(session, scope, thread, body)
    return thread


async def _add_message(
    session: AsyncSession, scope: VisibilityScope, thread: Thread, body: str
) -> Message:
    message = Message(
        tenant_id=scope.tenant_id,
        engagement_id=thread.engagement_id,
        owner_organization_id=thread.owner_organization_id,
        zone=thread.zone,
        created_by_id=scope.user_id,
        thread_id=thread.id,
        body=check_text(body, field="body", max_length=BODY_MAX),
    )
    session.add(message)
    await session.flush()
    return message


async def post_message(
    session: AsyncSession, scope: VisibilityScope, *, thread_id: uuid.UUID, body: str
) -> Message:
    thread = await _visible_content(session, scope, Thread, thread_id, "threadId")
    await _require_writer(session, scope, thread.engagement_id)
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
    await _visible_engagement(session, scope, engagement_id, "engagementId")
    await _require_writer(session, scope, engagement_id)
    text = check_text(body, field="body", max_length=BODY_MAX, required=False)
    size = len(text.encode("utf-8"))
    document = Document(
        tenant_id=scope.tenant_id,
        engagement_id=engagement_id,
        owner_organization_id=scope.organization_id,
        zone=zone,
        created_by_id=scope.user_id,
        title=check_text(title, field="title", max_length=TITLE_MAX),
        current_version=1,
        size_bytes=size,
    )
    session.add(document)
    await session.flush()
    version = DocumentVersion(
        tenant_id=scope.tenant_id,
        document_id=document.id,
        number=1,
        body=text,
        size_bytes=size,
        created_by_id=scope.user_id,
    )
    session.add(version)
    await session.flush()
    return document, version


async def create_document_version(
    session: AsyncSession, scope: VisibilityScope, *, document_id: uuid.UUID, body: str
) -> tuple[Document, DocumentVersion]:
    document = await _visible_content(session, scope, Document, document_id, "documentId")
    await _require_writer(session, scope, document.engagement_id)
    text = check_text(body, field="body", max_length=BODY_MAX, required=False)
    size = len(text.encode("utf-8"))
    version = DocumentVersion(
        tenant_id=scope.tenant_id,
        document_id=document.id,
        number=document.current_version + 1,
        body=text,
        size_bytes=size,
        created_by_id=scope.user_id,
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
    await _visible_engagement(session, scope, engagement_id, "engagementId")
    await _require_writer(session, scope, engagement_id)
    milestone = Milestone(
        tenant_id=scope.tenant_id,
        engagement_id=engagement_id,
        owner_organization_id=scope.organization_id,
        zone=zone,
        created_by_id=scope.user_id,
        title=check_text(title, field="title", max_length=TITLE_MAX),
        due_on=due_on,
    )
    session.add(milestone)
    await session.flush()
    return milestone


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
    await _visible_engagement(session, scope, engagement_id, "engagementId")
    await _require_writer(session, scope, engagement_id)
    indicator = Indicator(
        tenant_id=scope.tenant_id,
        engagement_id=engagement_id,
        owner_organization_id=scope.organization_id,
        zone=zone,
        created_by_id=scope.user_id,
        name=check_text(name, field="name", max_length=TITLE_MAX),
        unit=check_text(unit, field="unit", max_length=UNIT_MAX, required=False),
        target=target,
    )
    session.add(indicator)
    await session.flush()
    return indicator


async def set_indicator_value(
    session: AsyncSession, scope: VisibilityScope, *, indicator_id: uuid.UUID, value: float
) -> Indicator:
    indicator = await _visible_content(session, scope, Indicator, indicator_id, "indicatorId")
    await _require_writer(session, scope, indicator.engagement_id)
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError("value must be a finite number", field="value")
    session.add(
        IndicatorValue(
            tenant_id=scope.tenant_id,
            indicator_id=indicator.id,
            value=value,
            recorded_by_id=scope.user_id,
        )
    )
    indicator.current_value = value
    await session.flush()
    return indicator
