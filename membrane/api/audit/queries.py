"""The auditors' root field: the audit log, filtered, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry
from strawberry import relay

from membrane.api.audit.types import AuditEvent
from membrane.api.context import Context, Info
from membrane.api.loaders import ByIdLoader
from membrane.api.policies import field, tenant_role
from membrane.api.relay import After, First, connection, decode_optional_global_id, page_request
from membrane.audit import queries as audit
from membrane.audit.models import Outcome
from membrane.tenancy.enums import TenantRole

# What reading the log is recorded as, for the reads that name no restricted field.
READ_BY_NODE = "Query.node(AuditEvent)"


@strawberry.type
class AuditQueries:
    @field(
        tenant_role(TenantRole.AUDITOR),
        description=(
            "Events of the audit log, newest first. A host auditor reads every event of the "
            "tenant; a partner's auditor those whose actor or target belongs to its "
            "organization. Every filter given must hold."
        ),
    )
    async def audit_events(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        actor_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only events of this acting user."),
        ] = None,
        organization_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only events whose actor or target belongs to this organization."
            ),
        ] = None,
        engagement_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only events within this engagement."),
        ] = None,
        action: Annotated[
            str | None,
            strawberry.argument(description="Only events of this action, e.g. `createTask`."),
        ] = None,
        outcome: Annotated[
            Outcome | None, strawberry.argument(description="Only events with this outcome.")
        ] = None,
        occurred_from: Annotated[
            datetime | None,
            strawberry.argument(
                name="from", description="Only events at or after this time (with a time zone)."
            ),
        ] = None,
        occurred_to: Annotated[
            datetime | None,
            strawberry.argument(
                name="to", description="Only events before this time (with a time zone)."
            ),
        ] = None,
    ) -> relay.Connection[AuditEvent] | None:
        ctx = info.context
        filters = audit.EventFilter(
            actor_user_id=decode_optional_global_id(actor_id, expected="User", field="actorId"),
            organization_id=decode_optional_global_id(
                organization_id, expected="Organization", field="organizationId"
            ),
            engagement_id=decode_optional_global_id(
                engagement_id, expected="Engagement", field="engagementId"
            ),
            action=action,
            outcome=outcome,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )
        page = await audit.list_events(
            ctx.session, ctx.principal, page_request(first, after), filters
        )
        return connection(page, AuditEvent.from_row, lambda row: row.id)


def audit_event_loader(ctx: Context) -> ByIdLoader[audit.EventView]:
    """Events by id, for `node(id:)`: those the viewer may read, each read recorded."""

    async def fetch(session_ctx: Context, ids: Sequence[uuid.UUID]) -> list[audit.EventView]:
        rows = await audit.events_by_id(session_ctx.session, session_ctx.principal, ids)
        if rows:
            session_ctx.audit.read_restricted(READ_BY_NODE)
        return rows

    return ByIdLoader(partial(fetch, ctx))
