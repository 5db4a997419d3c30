"""GraphQL types of the audit log: events, their actor and target.

Every field is `AUDIT_ROWS`: the data layer (`membrane.audit.queries`) loads events for
auditors only, a partner's auditor getting those about its own organization, so nothing
is checked per field. The users, organizations and engagements an event points to are
loaded within the viewer's row visibility like anywhere else: null where the viewer may
not see them, while their ids stay readable.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NewType

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from membrane.api.context import Info
from membrane.api.engagements.types import Engagement, load_engagement
from membrane.api.policies import AUDIT_ROWS, field
from membrane.api.tenancy.types import Organization, User, load_organization, load_user
from membrane.audit.models import Outcome
from membrane.audit.queries import EventView
from membrane.engagements.enums import Zone

AuditOutcome = strawberry.enum(
    Outcome,
    name="AuditOutcome",
    description=(
        "How an audited action ended: SUCCESS, DENIED (refused, or aimed at what the actor "
        "may not see) or ERROR."
    ),
)

# Sequence numbers outgrow GraphQL's 32-bit `Int` in a busy tenant.
Long = NewType("Long", int)
MAX_LONG = 2**53 - 1  # exact in every JSON reader (JavaScript numbers included)


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a whole number is expected")
    if not 0 <= value <= MAX_LONG:
        raise ValueError(f"must be between 0 and {MAX_LONG}")
    return value


LONG_SCALAR = strawberry.scalar(
    name="Long",
    description="A whole number from 0 to 2^53 - 1, sent as a JSON number.",
    serialize=int,
    parse_value=_parse_long,
)


def _global_id(type_name: str, value: uuid.UUID | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(relay.GlobalID(type_name, str(value))))


@strawberry.type(description="Who performed an audited action, and from where.")
class AuditActor:
    client: str | None = field(
        AUDIT_ROWS,
        description=(
            "What acted: `graphql`, a sign-in route, or `membrane` for the system itself."
        ),
    )
    ip: str | None = field(AUDIT_ROWS, description="The address the request came from.")
    user_agent: str | None = field(
        AUDIT_ROWS, description="The User-Agent header of the request (300 characters at most)."
    )
    user_uuid: strawberry.Private[uuid.UUID | None]
    organization_uuid: strawberry.Private[uuid.UUID | None]

    @field(AUDIT_ROWS, description="The id of the acting user; null for the system.")
    def user_id(self) -> strawberry.ID | None:
        return _global_id("User", self.user_uuid)

    @field(
        AUDIT_ROWS,
        description="The acting user; null for the system, or when the viewer may not see them.",
    )
    def user(self, info: Info) -> User | None:
        return load_user(info, self.user_uuid)  # type: ignore[return-value]

    @field(AUDIT_ROWS, description="The id of the acting user's organization.")
    def organization_id(self) -> strawberry.ID | None:
        return _global_id("Organization", self.organization_uuid)

    @field(
        AUDIT_ROWS,
        description="The acting user's organization; null when the viewer may not see it.",
    )
    def organization(self, info: Info) -> Organization | None:
        if self.organization_uuid is None:
            return None
        return load_organization(info, self.organization_uuid)  # type: ignore[return-value]


@strawberry.type(description="What an audited action was aimed at.")
class AuditTarget:
    type: str | None = field(
        AUDIT_ROWS, description="The kind of object (its table, e.g. `tasks`), if any."
    )
    id: str | None = field(AUDIT_ROWS, description="The object's own key (not a global id).")
    organization_uuid: strawberry.Private[uuid.UUID | None]

    @field(AUDIT_ROWS, description="The id of the organization that owns the object.")
    def organization_id(self) -> strawberry.ID | None:
        return _global_id("Organization", self.organization_uuid)

    @field(
        AUDIT_ROWS,
        description="The organization that owns the object; null when the viewer may not see it.",
    )
    def organization(self, info: Info) -> Organization | None:
        if self.organization_uuid is None:
            return None
        return load_organization(info, self.organization_uuid)  # type: ignore[return-value]


@strawberry.type(
    description=(
        "One event of the tenant's tamper-evident audit log: who did what to what, how it "
        "ended, and its place in the hash chain."
    )
)
class AuditEvent(relay.Node):
    id: relay.NodeID[str]
    seq: Long = field(AUDIT_ROWS, description="Position in the tenant's chain, from 1.")
    occurred_at: datetime = field(AUDIT_ROWS, description="When it happened (UTC).")
    actor: AuditActor = field(AUDIT_ROWS, description="Who acted, and from where.")
    action: str = field(
        AUDIT_ROWS,
        description="What was done: a mutation's name, `read`, or a sign-in step.",
    )
    target: AuditTarget = field(AUDIT_ROWS, description="What the action was aimed at.")
    zone: Zone | None = field(AUDIT_ROWS, description="The zone of the target, if it has one.")
    outcome: Outcome = field(AUDIT_ROWS, description="SUCCESS, DENIED or ERROR.")
    details: JSON = field(
        AUDIT_ROWS,
        description=(
            "What the event records: a mutation's changed fields before and after (secrets "
            "redacted), the restricted fields a read touched, a refusal's reason. A partner's "
            "auditor reads the host's internal fields redacted."
        ),
    )
    prev_hash: str = field(AUDIT_ROWS, description="The hash of the previous event (hex).")
    hash: str = field(
        AUDIT_ROWS,
        description="SHA-256 over the event's canonical encoding and `prevHash` (hex).",
    )
    engagement_uuid: strawberry.Private[uuid.UUID | None]

    @field(AUDIT_ROWS, description="The id of the engagement the action took place in, if any.")
    def engagement_id(self) -> strawberry.ID | None:
        return _global_id("Engagement", self.engagement_uuid)

    @field(
        AUDIT_ROWS,
        description=(
            "The engagement the action took place in; null when none, or when the viewer "
            "may not see it."
        ),
    )
    def engagement(self, info: Info) -> Engagement | None:
        if self.engagement_uuid is None:
            return None
        return load_engagement(info, self.engagement_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: EventView) -> AuditEvent:
        return cls(
            id=str(row.id),
            seq=Long(row.seq),
            occurred_at=row.occurred_at,
            actor=AuditActor(
                client=row.actor_client,
                ip=row.actor_ip,
                user_agent=row.actor_user_agent,
                user_uuid=row.actor_user_id,
                organization_uuid=row.actor_organization_id,
            ),
            action=row.action,
            target=AuditTarget(
                type=row.target_type,
                id=row.target_id,
                organization_uuid=row.target_organization_id,
            ),
            zone=None if row.zone is None else Zone(row.zone),
            outcome=row.outcome,
            details=JSON(row.details),
            prev_hash=row.prev_hash,
            hash=row.hash,
            engagement_uuid=row.engagement_id,
        )
