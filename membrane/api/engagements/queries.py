"""Root query fields of engagements and content, including Relay's `node`."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from membrane.api.audit.queries import audit_event_loader
from membrane.api.audit.types import AuditEvent
from membrane.api.context import Info
from membrane.api.engagements.content_types import (
    Content,
    Document,
    DocumentVersion,
    Indicator,
    Message,
    Milestone,
    Task,
    Thread,
    content_node,
)
from membrane.api.engagements.types import Engagement
from membrane.api.policies import SIGNED_IN, field
from membrane.api.relay import (
    CountedConnection,
    counted_connection,
    decode_global_id,
    decode_optional_global_id,
    page_request,
)
from membrane.api.tenancy.admin_types import IdentityProvider
from membrane.api.tenancy.types import Organization, User
from membrane.engagements import service
from membrane.engagements.enums import EngagementStatus
from membrane.engagements.models import table_of
from membrane.errors import InvalidInputError

# A node type's name: its class, and the loader of its rows in a request's context.
_NODES: dict[str, tuple[type, Any]] = {
    "Engagement": (Engagement, lambda ctx: ctx.engagements.engagement_by_id),
    "Task": (Task, lambda ctx: ctx.engagements.task_by_id),
    "Thread": (Thread, lambda ctx: ctx.engagements.thread_by_id),
    "Message": (Message, lambda ctx: ctx.engagements.message_by_id),
    "Document": (Document, lambda ctx: ctx.engagements.document_by_id),
    "Milestone": (Milestone, lambda ctx: ctx.engagements.milestone_by_id),
    "Indicator": (Indicator, lambda ctx: ctx.engagements.indicator_by_id),
    "User": (User, lambda ctx: ctx.tenancy.user_by_id),
    "Organization": (Organization, lambda ctx: ctx.tenancy.organization_by_id),
    "DocumentVersion": (DocumentVersion, lambda ctx: ctx.engagements.version_by_id),
    "IdentityProvider": (
        IdentityProvider,
        lambda ctx: ctx.administration.identity_provider_by_id,
    ),
    "AuditEvent": (AuditEvent, audit_event_loader),
}


@strawberry.type
class EngagementQueries:
    @field(SIGNED_IN, description="Engagements the viewer takes part in, oldest first.")
    async def engagements(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, at most 100.")
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="Cursor of the last engagement of the previous page."),
        ] = None,
        status: Annotated[
            EngagementStatus | None,
            strawberry.argument(description="Only engagements in this state."),
        ] = None,
    ) -> CountedConnection[Engagement]:
        ctx = info.context
        page, roles = await service.list_engagements(
            ctx.session, ctx.scope, page=page_request(first, after), status=status
        )
        ctx.engagements.engagement_by_id.remember(page.items)
        # Fields checked against the viewer's role are then decided without waiting.
        ctx.engagements.viewer_role.prime_many(roles)

        def count() -> Any:
            return service.count_engagements(ctx.session, ctx.scope, status=status)

        return counted_connection(page, Engagement.from_row, lambda row: row.id, count)

    @field(SIGNED_IN, description="One engagement by id; null when missing or not visible.")
    async def engagement(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Engagement id.")],
    ) -> Engagement | None:
        engagement_id = decode_global_id(id, expected="Engagement", field="id")
        row = await info.context.engagements.engagement_by_id.one(engagement_id)
        return None if row is None else Engagement.from_row(row)

    @field(
        SIGNED_IN,
        description=(
            "Tasks, threads, documents, milestones and indicators the viewer may see whose "
            "title (an indicator's name) holds the text, in any case; newest first."
        ),
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str, strawberry.argument(description="What to look for: 2 to 200 characters.")
        ],
        first: Annotated[int, strawberry.argument(description="How many results: 1 to 100.")] = 20,
        engagement_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only content of this engagement."),
        ] = None,
    ) -> list[Content]:
        ctx = info.context
        engagement = decode_optional_global_id(
            engagement_id, expected="Engagement", field="engagementId"
        )
        rows = await service.search_content(
            ctx.session, ctx.scope, text, first=first, engagement_id=engagement
        )
        for row in rows:
            ctx.audit.rows_read(table_of(type(row)), [row])
        return [content_node(row) for row in rows]

    @field(SIGNED_IN, description="Any object by its global id; null when missing or not visible.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> relay.Node | None:
        try:
            type_name = relay.GlobalID.from_id(id).type_name
        except ValueError:
            raise InvalidInputError("id is not a valid id", field="id") from None
        if type_name not in _NODES or info.schema.get_type_by_name(type_name) is None:
            # A type the viewer's audience schema lacks answers like a type that does not exist.
            raise InvalidInputError(f"id names an unknown type {type_name!r}", field="id")
        node_id = decode_global_id(id, expected=type_name, field="id")
        node_class, loader = _NODES[type_name]
        row = await loader(info.context).one(node_id)
        if row is None:
            return None
        node: relay.Node = node_class.from_row(row)  # type: ignore[attr-defined]
        return node
