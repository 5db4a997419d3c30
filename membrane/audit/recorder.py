"""What one request records for the audit log.

A mutation's event lists every row it created, changed or deleted, with the changed
fields before and after, read from SQLAlchemy's own change tracking at each flush (secrets
and the configured sensitive columns redacted). A query's event lists the restricted
fields it read, the refused ones and the rows of other organizations it crossed into: one
event per operation, whatever its size.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from membrane.audit.chain import Actor, Draft
from membrane.audit.encoding import timestamp
from membrane.audit.models import Outcome
from membrane.errors import DomainError, ErrorCode

REDACTED = "[redacted]"
_SECRET_MARKERS = ("secret", "token_hash", "state_hash", "nonce", "code_verifier", "password")
# Rows that are the log itself, or sign-in machinery recorded by its own events.
_UNTRACKED = frozenset(
    {"audit_events", "audit_heads", "audit_checkpoints", "login_attempts", "refresh_tokens"}
)
_SKIPPED_COLUMNS = frozenset({"tenant_id", "created_at"})
MAX_IDS_PER_TYPE = 100


def jsonable(value: Any) -> Any:
    """A value as the JSON the hash is computed over."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return str(value)


class Recorder:
    def __init__(self, actor: Actor, redacted: Sequence[str] = ()) -> None:
        self.actor = actor
        self._redacted = frozenset(redacted)
        self.action: str | None = None
        # The rows written, by (table, id), in the order first written.
        self._changes: dict[tuple[str, str], dict[str, Any]] = {}
        self._subject: dict[str, Any] = {}
        self._facts: dict[str, Any] = {}
        self.restricted: dict[str, int] = {}
        self.denied: list[str] = []
        # Rows of other organizations read: owner organization -> table -> ids.
        self.crossed: dict[uuid.UUID, dict[str, set[str]]] = {}

    # -- mutations ---------------------------------------------------------------------

    def begin(self, action: str) -> None:
        """A mutation starts: what follows is recorded as its event."""
        self.action = action
        self._changes, self._subject, self._facts = {}, {}, {}

    def describe(self, **facts: Any) -> None:
        """Facts a mutation states itself (a zone move's zones), added to its details."""
        self._facts.update(jsonable(facts))

    def subject(
        self,
        *,
        target_type: str,
        target_id: object,
        organization_id: uuid.UUID | None = None,
        engagement_id: uuid.UUID | None = None,
        zone: object = None,
    ) -> None:
        """What the mutation acted on, when no row change names it."""
        self._subject = {
            "target_type": target_type,
            "target_id": str(target_id),
            "target_organization_id": organization_id,
            "engagement_id": engagement_id,
            "zone": None if zone is None else str(jsonable(zone)),
        }

    @contextmanager
    def tracking(self, session: AsyncSession) -> Iterator[None]:
        """Record the rows each flush of `session` writes."""
        sync_session = session.sync_session
        event.listen(sync_session, "after_flush", self._after_flush)
        try:
            yield
        finally:
            event.remove(sync_session, "after_flush", self._after_flush)

    def _after_flush(self, session: Session, context: UOWTransaction) -> None:
        for operation, rows in (
            ("create", session.new),
            ("update", session.dirty),
            ("delete", session.deleted),
        ):
            for row in rows:
                change = self._change(operation, row)
                if change is not None:
                    self._merge(change)

    def _merge(self, change: dict[str, Any]) -> None:
        """One entry per row, however many flushes wrote it: the first value before, the
        last after."""
        known = self._changes.setdefault((change["type"], change["id"]), change)
        if known is change:
            return
        for name, value in change["fields"].items():
            if known["op"] == "update" and name in known["fields"]:
                known["fields"][name] = [known["fields"][name][0], value[1]]
            elif known["op"] == "create" and change["op"] == "update":
                known["fields"][name] = value[1]
            else:
                known["fields"][name] = value
        if change["op"] == "delete":
            known["op"] = "delete"

    def _change(self, operation: str, row: Any) -> dict[str, Any] | None:
        table = getattr(row, "__tablename__", None)
        if table is None or table in _UNTRACKED:
            return None
        state = inspect(row)
        fields: dict[str, Any] = {}
        for attribute in state.mapper.column_attrs:
            name = attribute.key
            if name in _SKIPPED_COLUMNS:
                continue
            history = state.attrs[name].history
            if operation == "update":
                if not history.has_changes():
                    continue
                before = history.deleted[0] if history.deleted else None
                after = history.added[0] if history.added else None
                fields[name] = [self._value(table, name, before), self._value(table, name, after)]
            elif operation == "create":
                value = getattr(row, name)
                if value is not None:
                    fields[name] = self._value(table, name, value)
        if operation == "update" and not fields:
            return None
        identity = state.mapper.primary_key_from_instance(row)
        key = ":".join(str(part) for part in identity)
        return {"type": table, "id": key, "op": operation, "fields": fields, "_row": row}

    def _value(self, table: str, column: str, value: Any) -> Any:
        if value is None:
            return None
        if any(marker in column for marker in _SECRET_MARKERS):
            return REDACTED
        if f"{table}.{column}" in self._redacted:
            return REDACTED
        return jsonable(value)

    def changes(self) -> list[dict[str, Any]]:
        """The rows written so far, as events list them."""
        return [{k: v for k, v in c.items() if k != "_row"} for c in self._changes.values()]

    def mutation_drafts(self) -> list[Draft]:
        """The event of the mutation that just succeeded (none if it changed nothing)."""
        if self.action is None or not (self._changes or self._facts):
            return []
        target = self._subject or _target_of(list(self._changes.values()))
        details: dict[str, Any] = {"changes": self.changes(), **self._facts}
        return [Draft(action=self.action, actor=self.actor, details=details, **target)]

    def failure_draft(self, error: BaseException) -> Draft | None:
        """The event of a mutation that was refused or failed (its changes rolled back)."""
        if self.action is None:
            return None
        if isinstance(error, DomainError):
            denied = error.code in (ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND)
            outcome = Outcome.DENIED if denied else Outcome.ERROR
            details = {"code": error.code.value, "reason": error.message, "field": error.field}
        else:
            outcome, details = Outcome.ERROR, {"code": ErrorCode.INTERNAL.value}
        return Draft(action=self.action, actor=self.actor, outcome=outcome, details=details)

    # -- reads -------------------------------------------------------------------------

    def read_restricted(self, coordinate: str) -> None:
        self.restricted[coordinate] = self.restricted.get(coordinate, 0) + 1

    def read_denied(self, path: str) -> None:
        self.denied.append(path)

    def rows_read(self, table: str, rows: Sequence[Any]) -> None:
        """Note the rows of other organizations a request reads (their shared content)."""
        mine = self.actor.organization_id
        for row in rows:
            owner = getattr(row, "owner_organization_id", None)
            if owner is not None and owner != mine:
                self.crossed.setdefault(owner, {}).setdefault(table, set()).add(str(row.id))

    def read_drafts(self, operation: str | None) -> list[Draft]:
        """The events of a query that read restricted fields, crossed into other
        organizations' rows or was refused a field: one per organization whose rows it
        read (so each organization's auditor sees the reads of its data), else one."""
        if not (self.restricted or self.denied or self.crossed):
            return []
        first: dict[str, Any] = {"operation": operation}
        if self.restricted:
            first["restricted"] = dict(sorted(self.restricted.items()))
        if self.denied:
            first["denied"] = self.denied[:MAX_IDS_PER_TYPE]
        outcome = Outcome.DENIED if self.denied else Outcome.SUCCESS
        owners: list[uuid.UUID | None] = sorted(self.crossed, key=str) or [None]
        drafts = []
        for index, owner in enumerate(owners):
            details: dict[str, Any] = dict(first) if index == 0 else {"operation": operation}
            tables = self.crossed.get(owner, {}) if owner is not None else {}
            if tables:
                details["crossed"] = {
                    table: {"count": len(ids), "ids": sorted(ids)[:MAX_IDS_PER_TYPE]}
                    for table, ids in sorted(tables.items())
                }
            drafts.append(
                Draft(
                    action="read",
                    actor=self.actor,
                    outcome=outcome if index == 0 else Outcome.SUCCESS,
                    target_organization_id=owner,
                    details=details,
                )
            )
        return drafts


def _target_of(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The first row a mutation wrote stands for it: its type, id, owner, engagement, zone."""
    if not changes:
        return {}
    row = changes[0]["_row"]
    engagement = getattr(row, "engagement_id", None)
    if changes[0]["type"] == "engagements":
        engagement = row.id
    owner = getattr(row, "owner_organization_id", None) or getattr(row, "organization_id", None)
    if changes[0]["type"] == "organizations":
        owner = row.id
    zone = getattr(row, "zone", None)
    return {
        "target_type": changes[0]["type"],
        "target_id": changes[0]["id"],
        "target_organization_id": owner,
        "engagement_id": engagement,
        "zone": None if zone is None else str(jsonable(zone)),
    }
