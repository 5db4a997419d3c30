"""GraphQL types of engagement content: tasks, threads, messages, documents, milestones, KPIs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import relay

from membrane.api.context import Info
from membrane.api.policies import (
    HOST_FINANCE_OR_LEAD,
    HOST_MEMBER_OF_ENGAGEMENT,
    VISIBLE,
    field,
)
from membrane.api.relay import After, First, connection, page_request
from membrane.api.scalars import Money
from membrane.api.tenancy.types import Organization, User, load_organization, load_user
from membrane.engagements import models
from membrane.engagements.enums import MilestoneStatus, TaskStatus, Zone

if TYPE_CHECKING:
    from membrane.api.engagements.types import Engagement

EngagementRef = Annotated["Engagement", strawberry.lazy("membrane.api.engagements.types")]


def _engagement(info: Info, engagement_id: uuid.UUID) -> object:
    from membrane.api.engagements.types import load_engagement

    return load_engagement(info, engagement_id)


@strawberry.type(description="A unit of work in one zone of an engagement.")
class Task(relay.Node):
    id: relay.NodeID[str]
    title: str = field(VISIBLE, description="Short title (at most 200 characters).")
    description: str = field(VISIBLE, description="Longer description (at most 10,000).")
    status: TaskStatus = field(VISIBLE, description="Progress of the task.")
    zone: Zone = field(VISIBLE, description="INTERNAL to its owning organization, or SHARED.")
    due_on: date | None = field(VISIBLE, description="Due date, if any.")
    estimate_hours: float | None = field(VISIBLE, description="Estimated effort in hours.")
    created_at: datetime = field(VISIBLE, description="When the task was created (UTC).")
    updated_at: datetime | None = field(VISIBLE, description="When it last changed (UTC).")
    internal_notes: str | None = field(
        HOST_MEMBER_OF_ENGAGEMENT, description="The host's own annotations on the task."
    )
    cost_cents: Money | None = field(
        HOST_FINANCE_OR_LEAD, description="Internal cost in minor units."
    )
    engagement_uuid: strawberry.Private[uuid.UUID]
    owner_uuid: strawberry.Private[uuid.UUID]
    assignee_uuid: strawberry.Private[uuid.UUID | None]

    @field(VISIBLE, description="The person the task is assigned to, if any.")
    def assignee(self, info: Info) -> User | None:
        return load_user(info, self.assignee_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The organization that owns the task (and its zone).")
    def owner_organization(self, info: Info) -> Organization:
        return load_organization(info, self.owner_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The engagement the task belongs to.")
    def engagement(self, info: Info) -> EngagementRef:
        return _engagement(info, self.engagement_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: models.Task) -> Task:
        return cls(
            id=str(row.id),
            title=row.title,
            description=row.description,
            status=row.status,
            zone=row.zone,
            due_on=row.due_on,
            estimate_hours=row.estimate_hours,
            created_at=row.created_at,
            updated_at=row.updated_at,
            internal_notes=row.internal_notes,
            cost_cents=None if row.cost_cents is None else Money(row.cost_cents),
            engagement_uuid=row.engagement_id,
            owner_uuid=row.owner_organization_id,
            assignee_uuid=row.assignee_id,
        )


@strawberry.type(description="A message posted in a thread.")
class Message(relay.Node):
    id: relay.NodeID[str]
    body: str = field(VISIBLE, description="Text of the message (at most 100,000 characters).")
    zone: Zone = field(VISIBLE, description="The zone of the message's thread.")
    created_at: datetime = field(VISIBLE, description="When it was posted (UTC).")
    author_uuid: strawberry.Private[uuid.UUID | None]
    thread_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="Who posted the message.")
    def author(self, info: Info) -> User | None:
        return load_user(info, self.author_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The thread the message belongs to.")
    async def thread(self, info: Info) -> Thread | None:
        row = await info.context.engagements.thread_by_id.load(self.thread_uuid)
        return None if row is None else Thread.from_row(row)

    @classmethod
    def from_row(cls, row: models.Message) -> Message:
        return cls(
            id=str(row.id),
            body=row.body,
            zone=row.zone,
            created_at=row.created_at,
            author_uuid=row.created_by_id,
            thread_uuid=row.thread_id,
        )


@strawberry.type(description="A conversation in one zone of an engagement.")
class Thread(relay.Node):
    id: relay.NodeID[str]
    title: str = field(VISIBLE, description="Subject of the thread.")
    zone: Zone = field(VISIBLE, description="INTERNAL to its owning organization, or SHARED.")
    created_at: datetime = field(VISIBLE, description="When the thread was started (UTC).")
    owner_uuid: strawberry.Private[uuid.UUID]
    engagement_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="The organization that owns the thread.")
    def owner_organization(self, info: Info) -> Organization:
        return load_organization(info, self.owner_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The engagement the thread belongs to.")
    def engagement(self, info: Info) -> EngagementRef:
        return _engagement(info, self.engagement_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="Messages in the order they were posted.")
    async def messages(
        self, info: Info, first: First = 20, after: After = None
    ) -> relay.Connection[Message]:
        page = await info.context.engagements.messages.fetch(
            uuid.UUID(self.id), page_request(first, after)
        )
        return connection(page, Message.from_row, lambda row: row.id)

    @classmethod
    def from_row(cls, row: models.Thread) -> Thread:
        return cls(
            id=str(row.id),
            title=row.title,
            zone=row.zone,
            created_at=row.created_at,
            owner_uuid=row.owner_organization_id,
            engagement_uuid=row.engagement_id,
        )


@strawberry.type(description="One immutable version of a document's body.")
class DocumentVersion(relay.Node):
    id: relay.NodeID[str]
    number: int = field(VISIBLE, description="1 for the first version, then 2, 3, ...")
    body: str = field(VISIBLE, description="The text of this version.")
    size_bytes: int = field(VISIBLE, description="Size of the body in bytes (UTF-8).")
    created_at: datetime = field(VISIBLE, description="When the version was saved (UTC).")
    author_uuid: strawberry.Private[uuid.UUID | None]

    @field(VISIBLE, description="Who saved the version.")
    def author(self, info: Info) -> User | None:
        return load_user(info, self.author_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: models.DocumentVersion) -> DocumentVersion:
        return cls(
            id=str(row.id),
            number=row.number,
            body=row.body,
            size_bytes=row.size_bytes,
            created_at=row.created_at,
            author_uuid=row.created_by_id,
        )


@strawberry.type(description="A versioned document in one zone of an engagement.")
class Document(relay.Node):
    id: relay.NodeID[str]
    title: str = field(VISIBLE, description="Title of the document.")
    zone: Zone = field(VISIBLE, description="INTERNAL to its owning organization, or SHARED.")
    current_version: int = field(VISIBLE, description="Number of the latest version.")
    size_bytes: int = field(VISIBLE, description="Size of the latest version in bytes.")
    created_at: datetime = field(VISIBLE, description="When the document was created (UTC).")
    owner_uuid: strawberry.Private[uuid.UUID]
    engagement_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="The organization that owns the document.")
    def owner_organization(self, info: Info) -> Organization:
        return load_organization(info, self.owner_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The engagement the document belongs to.")
    def engagement(self, info: Info) -> EngagementRef:
        return _engagement(info, self.engagement_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="All versions, oldest first.")
    async def versions(
        self, info: Info, first: First = 20, after: After = None
    ) -> relay.Connection[DocumentVersion]:
        page = await info.context.engagements.versions.fetch(
            uuid.UUID(self.id), page_request(first, after)
        )
        return connection(page, DocumentVersion.from_row, lambda row: row.id)

    @classmethod
    def from_row(cls, row: models.Document) -> Document:
        return cls(
            id=str(row.id),
            title=row.title,
            zone=row.zone,
            current_version=row.current_version,
            size_bytes=row.size_bytes,
            created_at=row.created_at,
            owner_uuid=row.owner_organization_id,
            engagement_uuid=row.engagement_id,
        )


@strawberry.type(description="A dated goal of an engagement.")
class Milestone(relay.Node):
    id: relay.NodeID[str]
    title: str = field(VISIBLE, description="What is to be reached.")
    due_on: date | None = field(VISIBLE, description="When it is due.")
    status: MilestoneStatus = field(VISIBLE, description="PLANNED, REACHED or MISSED.")
    zone: Zone = field(VISIBLE, description="INTERNAL to its owning organization, or SHARED.")
    created_at: datetime = field(VISIBLE, description="When the milestone was created (UTC).")
    owner_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="The organization that owns the milestone.")
    def owner_organization(self, info: Info) -> Organization:
        return load_organization(info, self.owner_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: models.Milestone) -> Milestone:
        return cls(
            id=str(row.id),
            title=row.title,
            due_on=row.due_on,
            status=row.status,
            zone=row.zone,
            created_at=row.created_at,
            owner_uuid=row.owner_organization_id,
        )


@strawberry.type(description="One recorded value of an indicator.")
class IndicatorValue:
    value: float = field(VISIBLE, description="The value recorded.")
    recorded_at: datetime = field(VISIBLE, description="When it was recorded (UTC).")
    recorded_by_uuid: strawberry.Private[uuid.UUID | None]

    @field(VISIBLE, description="Who recorded the value.")
    def recorded_by(self, info: Info) -> User | None:
        return load_user(info, self.recorded_by_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: models.IndicatorValue) -> IndicatorValue:
        return cls(value=row.value, recorded_at=row.created_at, recorded_by_uuid=row.created_by_id)


@strawberry.type(description="A value-of-the-engagement KPI: a target and a history of values.")
class Indicator(relay.Node):
    id: relay.NodeID[str]
    name: str = field(VISIBLE, description="What is measured.")
    unit: str = field(VISIBLE, description="Unit of the values, e.g. `%` or `EUR`.")
    target: float | None = field(VISIBLE, description="The value aimed for.")
    current_value: float | None = field(VISIBLE, description="The latest recorded value.")
    zone: Zone = field(VISIBLE, description="INTERNAL to its owning organization, or SHARED.")
    created_at: datetime = field(VISIBLE, description="When the indicator was created (UTC).")
    owner_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="The organization that owns the indicator.")
    def owner_organization(self, info: Info) -> Organization:
        return load_organization(info, self.owner_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="Recorded values, oldest first.")
    async def history(
        self, info: Info, first: First = 20, after: After = None
    ) -> relay.Connection[IndicatorValue]:  # type: ignore[type-var]
        page = await info.context.engagements.indicator_values.fetch(
            uuid.UUID(self.id), page_request(first, after)
        )
        return connection(page, IndicatorValue.from_row, lambda row: row.id)

    @classmethod
    def from_row(cls, row: models.Indicator) -> Indicator:
        return cls(
            id=str(row.id),
            name=row.name,
            unit=row.unit,
            target=row.target,
            current_value=row.current_value,
            zone=row.zone,
            created_at=row.created_at,
            owner_uuid=row.owner_organization_id,
        )


Content = Annotated[
    Task | Thread | Document | Milestone | Indicator,
    strawberry.union(
        "Content",
        description="A piece of engagement content that lives in a zone and can move.",
    ),
]

_CONTENT_TYPES: dict[type[models.ZonedContent], Any] = {
    models.Task: Task,
    models.Thread: Thread,
    models.Document: Document,
    models.Milestone: Milestone,
    models.Indicator: Indicator,
}


def content_node(row: models.ZonedContent) -> Task | Thread | Document | Milestone | Indicator:
    """The GraphQL object of a task, thread, document, milestone or indicator row."""
    node: Task | Thread | Document | Milestone | Indicator = _CONTENT_TYPES[type(row)].from_row(row)
    return node
