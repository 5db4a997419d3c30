"""Reading the audit log: which events a principal may read, filtered, newest first.

Who reads what (deny by default):

- a host `AUDITOR` reads every event of the tenant;
- a partner organization's `AUDITOR` reads the events about its own people and its own
  data: those whose actor or target belongs to its organization;
- nobody else reads any event: the functions below return nothing to them.

A partner's auditor does not read the values of the host's internal fields (`HIDDEN_FROM_PARTNERS`)
that an event's changes may carry, e.g. the host's notes on a partner's task; they are
replaced by `[redacted]`, so such an event no longer matches its hash for that reader.

Pages run on the chain's sequence number, newest first; a page continues after the event
whose id its cursor holds. Statement shapes are built once, with bound parameters
(`membrane.db.bound`).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.models import AuditEvent, Outcome
from membrane.audit.recorder import REDACTED
from membrane.auth.principal import Principal
from membrane.db.bound import Bound, ids_params, match_ids, statement_shape
from membrane.engagements.pagination import Page, PageRequest
from membrane.errors import InvalidInputError, check_text
from membrane.tenancy.enums import TenantRole

TENANT: BindParameter[Any] = bindparam("audit_tenant")
ORGANIZATION: BindParameter[Any] = bindparam("audit_org")
AFTER: BindParameter[Any] = bindparam("after")
LIMIT: BindParameter[int] = bindparam("limit")

# Columns of the host's internal fields (absent from every partner schema) whose values an
# event's changes may carry; a partner's auditor reads them redacted.
HIDDEN_FROM_PARTNERS = frozenset(
    {"tasks.internal_notes", "tasks.cost_cents", "engagements.budget_cents"}
)
MAX_ACTION_LENGTH = 80


class Reach(enum.Enum):
    """How much of the log a principal reads."""

    NOTHING = "nothing"
    ORGANIZATION = "organization"  # events whose actor or target is its organization's
    TENANT = "tenant"  # every event of the tenant


def reach_of(principal: Principal) -> Reach:
    if not principal.has_role(TenantRole.AUDITOR):
        return Reach.NOTHING
    return Reach.TENANT if principal.is_host else Reach.ORGANIZATION


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What an auditor narrows the log to; every given condition must hold."""

    actor_user_id: uuid.UUID | None = None
    # the actor's organization or the target's
    organization_id: uuid.UUID | None = None
    engagement_id: uuid.UUID | None = None
    action: str | None = None
    outcome: Outcome | None = None
    # occurred at or after `occurred_from`, and before `occurred_to`
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def __post_init__(self) -> None:
        if self.action is not None:
            object.__setattr__(
                self,
                "action",
                check_text(self.action, field="action", max_length=MAX_ACTION_LENGTH),
            )
        for name, value in (("from", self.occurred_from), ("to", self.occurred_to)):
            if value is not None and value.utcoffset() is None:
                raise InvalidInputError(
                    f"{name} must carry a time zone, e.g. 2026-12-03T10:00:00Z", field=name
                )
        if (
            self.occurred_from is not None
            and self.occurred_to is not None
            and self.occurred_from > self.occurred_to
        ):
            raise InvalidInputError("from must not be later than to", field="from")

    def params(self) -> dict[str, Any]:
        """The bound parameters of the filters given; their names are the statement's shape."""
        values = {
            "actor": self.actor_user_id,
            "organization": self.organization_id,
            "engagement": self.engagement_id,
            "action": self.action,
            "outcome": self.outcome,
            "occurred_from": self.occurred_from,
            "occurred_to": self.occurred_to,
        }
        return {name: value for name, value in values.items() if value is not None}


NO_FILTER = EventFilter()


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as one reader may read it (its details redacted where they must be)."""

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_organization_id: uuid.UUID | None
    actor_client: str | None
    actor_ip: str | None
    actor_user_agent: str | None
    action: str
    target_type: str | None
    target_id: str | None
    target_organization_id: uuid.UUID | None
    engagement_id: uuid.UUID | None
    zone: str | None
    outcome: Outcome
    details: dict[str, Any]
    prev_hash: str
    hash: str


# --- statements ------------------------------------------------------------------------------


def _visible(reach: Reach) -> ColumnElement[bool]:
    """The reader's rows: the tenant's, and for a partner's auditor its organization's."""
    in_tenant = AuditEvent.tenant_id == TENANT
    if reach is Reach.TENANT:
        return in_tenant
    assert reach is Reach.ORGANIZATION, reach
    return in_tenant & or_(
        AuditEvent.actor_organization_id == ORGANIZATION,
        AuditEvent.target_organization_id == ORGANIZATION,
    )


# Each filter: the name of its bound parameter (`EventFilter.params`), and its condition.
_FILTERS: dict[str, ColumnElement[bool]] = {
    "actor": AuditEvent.actor_user_id == bindparam("actor"),
    "organization": or_(
        AuditEvent.actor_organization_id == bindparam("organization"),
        AuditEvent.target_organization_id == bindparam("organization"),
    ),
    "engagement": AuditEvent.engagement_id == bindparam("engagement"),
    "action": AuditEvent.action == bindparam("action"),
    "outcome": AuditEvent.outcome == bindparam("outcome"),
    "occurred_from": AuditEvent.occurred_at >= bindparam("occurred_from"),
    "occurred_to": AuditEvent.occurred_at < bindparam("occurred_to"),
}


@statement_shape
def _events_page(reach: Reach, has_after: bool, given: frozenset[str]) -> Select[Any]:
    conditions = [_visible(reach), *(_FILTERS[name] for name in _FILTERS if name in given)]
    if has_after:
        # the page continues below the sequence number of the cursor's event
        after_seq = (
            select(AuditEvent.seq)
            .where(AuditEvent.tenant_id == TENANT, AuditEvent.id == AFTER)
            .scalar_subquery()
        )
        conditions.append(AuditEvent.seq < after_seq)
    return select(AuditEvent).where(*conditions).order_by(AuditEvent.seq.desc()).limit(LIMIT)


def _scope_params(principal: Principal) -> dict[str, Any]:
    return {"audit_tenant": principal.tenant_id, "audit_org": principal.organization_id}


def events_page(
    principal: Principal, page: PageRequest, filters: EventFilter = NO_FILTER
) -> Bound | None:
    """The statement of one page of the events `principal` may read; None when none."""
    reach = reach_of(principal)
    if reach is Reach.NOTHING:
        return None
    given = filters.params()
    params = {**_scope_params(principal), **given, "limit": page.first + 1}
    if page.after is not None:
        params["after"] = page.after
    return Bound(_events_page(reach, page.after is not None, frozenset(given)), params)


@statement_shape
def _events_by_ids(reach: Reach, single: bool) -> Select[Any]:
    return select(AuditEvent).where(_visible(reach), match_ids(AuditEvent.id, single))


def events_by_ids(principal: Principal, ids: Sequence[uuid.UUID]) -> Bound | None:
    reach = reach_of(principal)
    if reach is Reach.NOTHING or not ids:
        return None
    return Bound(
        _events_by_ids(reach, len(ids) == 1), {**_scope_params(principal), **ids_params(ids)}
    )


# --- the service -----------------------------------------------------------------------------


async def list_events(
    session: AsyncSession,
    principal: Principal,
    page: PageRequest,
    filters: EventFilter = NO_FILTER,
) -> Page[EventView]:
    """A page of the events `principal` may read, newest first (empty for anyone who is not
    an auditor)."""
    query = events_page(principal, page, filters)
    if query is None:
        return Page(items=[], has_next=False, has_previous=page.after is not None)
    rows = list(await session.scalars(query.statement, query.params))
    reach = reach_of(principal)
    return Page.from_rows([view_of(row, reach) for row in rows], page)


async def events_by_id(
    session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]
) -> list[EventView]:
    """Of these events, those `principal` may read."""
    query = events_by_ids(principal, ids)
    if query is None:
        return []
    reach = reach_of(principal)
    return [view_of(row, reach) for row in await session.scalars(query.statement, query.params)]


def view_of(row: AuditEvent, reach: Reach) -> EventView:
    details = row.details if reach is Reach.TENANT else redacted_for_partners(row.details)
    return EventView(
        id=row.id,
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor_user_id=row.actor_user_id,
        actor_organization_id=row.actor_organization_id,
        actor_client=row.actor_client,
        actor_ip=row.actor_ip,
        actor_user_agent=row.actor_user_agent,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        target_organization_id=row.target_organization_id,
        engagement_id=row.engagement_id,
        zone=row.zone,
        outcome=Outcome(row.outcome),
        details=details,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def redacted_for_partners(details: dict[str, Any]) -> dict[str, Any]:
    """The details without the values of the host's internal fields among its changes."""
    changes = details.get("changes")
    if not isinstance(changes, list):
        return details
    cleaned = []
    for change in changes:
        fields = change.get("fields") if isinstance(change, dict) else None
        table = change.get("type") if isinstance(change, dict) else None
        if not isinstance(fields, dict) or not any(
            f"{table}.{name}" in HIDDEN_FROM_PARTNERS for name in fields
        ):
            cleaned.append(change)
            continue
        cleaned.append(
            {
                **change,
                "fields": {
                    name: _redact(value) if f"{table}.{name}" in HIDDEN_FROM_PARTNERS else value
                    for name, value in fields.items()
                },
            }
        )
    return {**details, "changes": cleaned}


def _redact(value: Any) -> Any:
    """A created row's value, or an update's [before, after]."""
    return [REDACTED for _ in value] if isinstance(value, list) else REDACTED
