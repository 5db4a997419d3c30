"""GraphQL types of engagements and their members."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from membrane.api.context import Info
from membrane.api.engagements.content_types import (
    Document,
    Indicator,
    Milestone,
    Task,
    Thread,
)
from membrane.api.loaders import then
from membrane.api.policies import HOST_FINANCE_OR_LEAD, VISIBLE, field
from membrane.api.relay import (
    After,
    CountedConnection,
    First,
    connection,
    counted_connection,
    page_request,
)
from membrane.api.scalars import Money
from membrane.api.tenancy.types import Organization, User, load_organization, load_user
from membrane.engagements import models
from membrane.engagements.enums import EngagementRole, EngagementStatus, TaskStatus, Zone

ZoneArg = Annotated[Zone | None, strawberry.argument(description="Only content of this zone.")]


@strawberry.type(description="A member of an engagement: a user with an engagement role.")
class EngagementMember:
    role: EngagementRole = field(VISIBLE, description="LEAD, CONTRIBUTOR or VIEWER.")
    joined_at: datetime = field(VISIBLE, description="When the user joined (UTC).")
    user_uuid: strawberry.Private[uuid.UUID]
    organization_uuid: strawberry.Private[uuid.UUID]

    @field(VISIBLE, description="The member.")
    def user(self, info: Info) -> User:
        return load_user(info, self.user_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The member's organization.")
    def organization(self, info: Info) -> Organization:
        return load_organization(info, self.organization_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: models.Membership) -> EngagementMember:
        return cls(
            role=row.role,
            joined_at=row.created_at,
            user_uuid=row.user_id,
            organization_uuid=row.organization_id,
        )


@strawberry.type(
    description="A combined project of the host organization and one or more partners."
)
class Engagement(relay.Node):
    id: relay.NodeID[str]
    name: str = field(VISIBLE, description="Name of the engagement.")
    description: str = field(VISIBLE, description="What the engagement is about.")
    status: EngagementStatus = field(VISIBLE, description="Lifecycle state.")
    starts_on: date | None = field(VISIBLE, description="Planned start date.")
    ends_on: date | None = field(VISIBLE, description="Planned end date.")
    created_at: datetime = field(VISIBLE, description="When the engagement was created (UTC).")
    budget_cents: Money | None = field(
        HOST_FINANCE_OR_LEAD, description="Internal budget in minor units."
    )
    host_uuid: strawberry.Private[uuid.UUID]

    @property
    def engagement_uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)

    @field(VISIBLE, description="The host organization that runs the engagement.")
    def host_organization(self, info: Info) -> Organization:
        return load_organization(info, self.host_uuid)  # type: ignore[return-value]

    @field(VISIBLE, description="The viewer's role in this engagement, if a member.")
    async def viewer_role(self, info: Info) -> EngagementRole | None:
        return await info.context.engagements.viewer_role.load(self.engagement_uuid)

    @field(VISIBLE, description="Organizations taking part, the host included.")
    async def participants(
        self, info: Info, first: First = 20, after: After = None
    ) -> relay.Connection[Organization]:
        page = await info.context.engagements.participants.fetch(
            self.engagement_uuid, page_request(first, after)
        )
        loader = info.context.tenancy.organization_by_id
        organizations = await loader.load_many([row.organization_id for row in page.items])
        by_id = {org.id: org for org in organizations if org is not None}
        return connection(
            page,
            lambda row: Organization.from_row(by_id[row.organization_id]),
            lambda row: row.organization_id,
        )

    @field(VISIBLE, description="People taking part and their engagement roles.")
    async def members(
        self, info: Info, first: First = 20, after: After = None
    ) -> relay.Connection[EngagementMember]:  # type: ignore[type-var]
        page = await info.context.engagements.members.fetch(
            self.engagement_uuid, page_request(first, after)
        )
        return connection(page, EngagementMember.from_row, lambda row: row.user_id)

    @field(VISIBLE, description="Tasks the viewer may see, oldest first.")
    def tasks(
        self,
        info: Info,
        first: First = 20,
        after: After = None,
        zone: ZoneArg = None,
        status: Annotated[
            TaskStatus | None, strawberry.argument(description="Only tasks in this status.")
        ] = None,
    ) -> CountedConnection[Task]:
        found = info.context.engagements.tasks.get(
            self.engagement_uuid, page_request(first, after), (zone, status)
        )
        counter = self._counter(info, models.Task, (zone, status))
        return _page_connection(found, Task.from_row, counter)  # type: ignore[return-value]

    @field(VISIBLE, description="Threads the viewer may see, oldest first.")
    async def threads(
        self, info: Info, first: First = 20, after: After = None, zone: ZoneArg = None
    ) -> CountedConnection[Thread]:
        page = await info.context.engagements.threads.fetch(
            self.engagement_uuid, page_request(first, after), (zone, None)
        )
        counter = self._counter(info, models.Thread, (zone, None))
        return counted_connection(page, Thread.from_row, _row_id, counter)

    @field(VISIBLE, description="Documents the viewer may see, oldest first.")
    async def documents(
        self, info: Info, first: First = 20, after: After = None, zone: ZoneArg = None
    ) -> CountedConnection[Document]:
        page = await info.context.engagements.documents.fetch(
            self.engagement_uuid, page_request(first, after), (zone, None)
        )
        counter = self._counter(info, models.Document, (zone, None))
        return counted_connection(page, Document.from_row, _row_id, counter)

    @field(VISIBLE, description="Milestones the viewer may see, oldest first.")
    async def milestones(
        self, info: Info, first: First = 20, after: After = None, zone: ZoneArg = None
    ) -> CountedConnection[Milestone]:
        page = await info.context.engagements.milestones.fetch(
            self.engagement_uuid, page_request(first, after), (zone, None)
        )
        counter = self._counter(info, models.Milestone, (zone, None))
        return counted_connection(page, Milestone.from_row, _row_id, counter)

    @field(VISIBLE, description="Indicators the viewer may see, oldest first.")
    async def indicators(
        self, info: Info, first: First = 20, after: After = None, zone: ZoneArg = None
    ) -> CountedConnection[Indicator]:
        page = await info.context.engagements.indicators.fetch(
            self.engagement_uuid, page_request(first, after), (zone, None)
        )
        counter = self._counter(info, models.Indicator, (zone, None))
        return counted_connection(page, Indicator.from_row, _row_id, counter)

    def _counter(
        self, info: Info, model: type[models.ZonedContent], filters: tuple[Any, Any]
    ) -> Callable[[], Any]:
        loader = info.context.engagements.counts(model)
        key = (self.engagement_uuid, filters)
        return lambda: loader.load(key)

    @classmethod
    def from_row(cls, row: models.Engagement) -> Engagement:
        return cls(
            id=str(row.id),
            name=row.name,
            description=row.description,
            status=row.status,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            created_at=row.created_at,
            budget_cents=None if row.budget_cents is None else Money(row.budget_cents),
            host_uuid=row.host_organization_id,
        )


def _page_connection(
    found: object, to_node: Callable[[Any], Any], counter: Callable[[], Any]
) -> object:
    """A connection now when the page is loaded, else an awaitable of it."""
    return then(found, lambda page: counted_connection(page, to_node, _row_id, counter))


def _row_id(row: models.ZonedContent) -> uuid.UUID:
    return row.id


def _engagement_or_none(row: models.Engagement | None) -> Engagement | None:
    return None if row is None else Engagement.from_row(row)


def load_engagement(info: Info, engagement_id: uuid.UUID) -> object:
    """The engagement as a value when already loaded, else an awaitable of it."""
    return then(info.context.engagements.engagement_by_id.get(engagement_id), _engagement_or_none)
