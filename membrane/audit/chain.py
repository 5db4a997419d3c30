"""Appending to a tenant's audit chain, in the caller's transaction.

`AuditLog.append` first moves the tenant's head (`audit_heads`) forward by the number of
events, which locks it (a row lock on PostgreSQL, the write lock on SQLite) until the
transaction ends: writers queue there, so sequence numbers and hashes never fork. It then
inserts the events in one statement and, every `every_events` events or `every_seconds`
seconds, a signed checkpoint of the new head. Nothing is committed here: an event stands
or falls with the change it records.

Events that record no change of their own (a read, a refused sign-in) go through
`AuditLog.append_committed`, which commits them in a transaction of their own. Concurrent
callers for one tenant share that transaction (group commit): one writer task per tenant
and store takes whatever has queued while its previous transaction ran, so the head is
locked once per batch rather than once per request, and each caller returns only once its
own events are committed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Table, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membrane.audit.encoding import (
    ENCODING,
    GENESIS,
    canonical,
    checkpoint_document,
    document_hash,
    event_document,
)
from membrane.audit.keys import AuditKeys
from membrane.audit.models import AuditCheckpoint, AuditEvent, AuditHead, Outcome
from membrane.db.base import utcnow, uuid7
from membrane.tenancy.isolation import TENANT_KEY, TenantMismatchError, bind_tenant

# Core statements on the tables: the log is written as rows, never as tracked ORM objects.
EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
HEADS: Table = AuditHead.__table__  # type: ignore[assignment]
CHECKPOINTS: Table = AuditCheckpoint.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted, and from where."""

    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    client: str | None = None
    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Actor(client="membrane")


@dataclass(frozen=True, slots=True)
class Draft:
    """An event before it has a place in the chain."""

    action: str
    actor: Actor
    outcome: Outcome = Outcome.SUCCESS
    target_type: str | None = None
    target_id: str | None = None
    target_organization_id: uuid.UUID | None = None
    engagement_id: uuid.UUID | None = None
    zone: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class CheckpointPolicy:
    every_events: int = 100
    every_seconds: int = 300


Sessions = Callable[[], AbstractAsyncContextManager[AsyncSession]]

# A shared transaction takes queued callers until it holds this many events.
BATCH_EVENTS = 500


@dataclass(slots=True)
class _Queue:
    """Callers waiting for the next transaction of one tenant's writer task."""

    loop: asyncio.AbstractEventLoop
    waiting: list[tuple[Sequence[Draft], asyncio.Future[None]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


class AuditLog:
    def __init__(self, keys: AuditKeys, policy: CheckpointPolicy | None = None) -> None:
        self.keys = keys
        self.policy = policy or CheckpointPolicy()
        self._queues: dict[tuple[uuid.UUID, Sessions], _Queue] = {}
        # Tenants whose chain this process left with events after the last checkpoint,
        # and the last seq it appended there (`sealing.Sealer` signs them on time).
        self._unsigned: dict[uuid.UUID, int] = {}

    def unsigned_tenants(self) -> set[uuid.UUID]:
        return set(self._unsigned)

    def signed(self, tenant_id: uuid.UUID, seq: int) -> None:
        """The tenant's chain is signed up to `seq`: forget it, unless this process has
        appended after that since."""
        if self._unsigned.get(tenant_id, seq) <= seq:
            self._unsigned.pop(tenant_id, None)

    async def append(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        drafts: Sequence[Draft],
        *,
        sign: bool = False,
    ) -> list[AuditEvent]:
        """Chain `drafts` after the tenant's head, in the session's transaction; `sign`:
        with a checkpoint of the new head whether or not one is due (for a process that
        will not stay to sign it later, such as a command)."""
        if not drafts:
            return []
        bound = session.info.get(TENANT_KEY)
        if bound is not None and bound != tenant_id:
            raise TenantMismatchError("an audit event names another tenant than its session's")
        # The session's own changes are written before the head is locked (as
        # `session.execute` would have flushed them), so they do not lengthen the lock.
        if session.new or session.dirty or session.deleted:
            await session.flush()
        # Core statements on the session's connection: the log's rows need none of the
        # session's ORM machinery, and the head stays locked for fewer turns of the loop.
        connection = await session.connection()
        head = await _advance(connection, tenant_id, len(drafts))
        last_seq, prev_hash, checkpoint_seq, checkpoint_at = head
        events = []
        for offset, draft in enumerate(drafts):
            event = _event(tenant_id, last_seq - len(drafts) + 1 + offset, draft, prev_hash)
            prev_hash = event.hash
            events.append(event)
        values: dict[str, Any] = {"hash": prev_hash}
        now = utcnow()
        signing = sign or self._checkpoint_due(last_seq, checkpoint_seq, checkpoint_at, now)
        if signing:
            values.update(checkpoint_seq=last_seq, checkpoint_at=now)
        else:
            self._unsigned[tenant_id] = max(last_seq, self._unsigned.get(tenant_id, 0))
        # Bound parameters, not `.values(rows)`: a statement whose shape is cached. (Moving
        # the head in the same statement, as a data-modifying WITH over `.values(rows)`,
        # was measured: each append then compiled anew, and cost more than the round trip
        # it saved.)
        await connection.execute(insert(EVENTS), [_row(event) for event in events])
        await connection.execute(
            update(HEADS).where(HEADS.c.tenant_id == tenant_id).values(**values)
        )
        if signing:
            await self.checkpoint(session, tenant_id, last_seq, prev_hash, now)
        return events

    async def append_committed(
        self, sessions: Sessions, tenant_id: uuid.UUID, drafts: Sequence[Draft]
    ) -> None:
        """Chain `drafts` in a short transaction of the tenant's store, shared with the
        concurrent callers for the same tenant; returns once it is committed, or raises
        what made it fail."""
        if not drafts:
            return
        loop = asyncio.get_running_loop()
        key = (tenant_id, sessions)
        queue = self._queues.get(key)
        if queue is None or queue.loop is not loop:
            queue = self._queues[key] = _Queue(loop)
        committed: asyncio.Future[None] = loop.create_future()
        queue.waiting.append((drafts, committed))
        if queue.writer is None:
            queue.writer = loop.create_task(self._write_queued(key, queue))
        await committed

    async def _write_queued(self, key: tuple[uuid.UUID, Sessions], queue: _Queue) -> None:
        """Commit the queued events, one transaction per batch, until none are left."""
        tenant_id, sessions = key
        batch: list[tuple[Sequence[Draft], asyncio.Future[None]]] = []
        try:
            while queue.waiting:
                batch = _take_batch(queue.waiting)
                outcome: BaseException | None = None
                try:
                    async with sessions() as session:
                        bind_tenant(session, tenant_id)
                        await self.append(
                            session, tenant_id, [d for drafts, _ in batch for d in drafts]
                        )
                        await session.commit()
                except Exception as error:  # every caller of the batch learns of it
                    outcome = error
                for _, committed in batch:
                    if committed.done():  # its caller was cancelled meanwhile
                        continue
                    if outcome is None:
                        committed.set_result(None)
                    else:
                        committed.set_exception(outcome)
        finally:
            # Callers still waiting here only if this task itself was cancelled.
            for _, committed in batch + queue.waiting:
                if not committed.done():
                    committed.cancel()
            if self._queues.get(key) is queue:
                del self._queues[key]

    def _checkpoint_due(
        self, seq: int, checkpoint_seq: int, checkpoint_at: datetime | None, now: datetime
    ) -> bool:
        return seq - checkpoint_seq >= self.policy.every_events or self.checkpoint_overdue(
            checkpoint_at, now
        )

    def checkpoint_overdue(self, checkpoint_at: datetime | None, now: datetime) -> bool:
        """Whether the last checkpoint (at `checkpoint_at`) is `every_seconds` old."""
        return checkpoint_at is None or now - checkpoint_at >= timedelta(
            seconds=self.policy.every_seconds
        )

    async def checkpoint(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        seq: int,
        chain_hash: str,
        signed_at: datetime | None = None,
    ) -> AuditCheckpoint:
        """Sign that the chain reached `seq` with `chain_hash`."""
        signed_at = signed_at or utcnow()
        document = checkpoint_document(str(tenant_id), seq, chain_hash, signed_at)
        checkpoint = AuditCheckpoint(
            tenant_id=tenant_id,
            seq=seq,
            hash=chain_hash,
            signed_at=signed_at,
            key_id=str(self.keys.signing_key.kid),
            jws=self.keys.sign(canonical(document)),
        )
        await (await session.connection()).execute(
            insert(CHECKPOINTS),
            [{c.key: getattr(checkpoint, c.key) for c in CHECKPOINTS.columns}],
        )
        return checkpoint


def _take_batch(
    waiting: list[tuple[Sequence[Draft], asyncio.Future[None]]],
) -> list[tuple[Sequence[Draft], asyncio.Future[None]]]:
    """The first callers of the queue, up to `BATCH_EVENTS` events (at least one caller)."""
    count = events = 0
    for drafts, _ in waiting:
        if count and events + len(drafts) > BATCH_EVENTS:
            break
        count += 1
        events += len(drafts)
    batch = waiting[:count]
    del waiting[:count]
    return batch


class Head(NamedTuple):
    """A tenant's chain head: its last seq and that event's hash, and its last checkpoint."""

    seq: int
    hash: str
    checkpoint_seq: int
    checkpoint_at: datetime | None


async def _advance(connection: AsyncConnection, tenant_id: uuid.UUID, count: int) -> Head:
    """Move the head `count` events forward: the new last seq, with the hash of the event
    before the new ones. The tenant's first event creates its head."""
    heads = HEADS.c
    statement = (
        update(HEADS)
        .where(heads.tenant_id == tenant_id)
        .values(seq=heads.seq + count)
        .returning(heads.seq, heads.hash, heads.checkpoint_seq, heads.checkpoint_at)
    )
    row = (await connection.execute(statement)).one_or_none()
    if row is None:
        await connection.execute(_create_head(connection, tenant_id))
        row = (await connection.execute(statement)).one()
    return Head(int(row[0]), str(row[1]), int(row[2]), row[3])


def _create_head(connection: AsyncConnection, tenant_id: uuid.UUID) -> Any:
    values = {"tenant_id": tenant_id, "seq": 0, "hash": GENESIS, "checkpoint_seq": 0}
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(HEADS).values(**values).on_conflict_do_nothing()


def _event(tenant_id: uuid.UUID, seq: int, draft: Draft, prev_hash: str) -> AuditEvent:
    event = AuditEvent(
        id=uuid7(),
        tenant_id=tenant_id,
        seq=seq,
        occurred_at=draft.occurred_at,
        encoding=ENCODING,
        actor_user_id=draft.actor.user_id,
        actor_organization_id=draft.actor.organization_id,
        actor_client=draft.actor.client,
        actor_ip=draft.actor.ip,
        actor_user_agent=draft.actor.user_agent[:300] if draft.actor.user_agent else None,
        action=draft.action,
        target_type=draft.target_type,
        target_id=draft.target_id,
        target_organization_id=draft.target_organization_id,
        engagement_id=draft.engagement_id,
        zone=draft.zone,
        outcome=draft.outcome,
        details=draft.details,
        prev_hash=prev_hash,
    )
    event.hash = document_hash(event_document(event))
    return event


def _row(event: AuditEvent) -> dict[str, Any]:
    return {column.key: getattr(event, column.key) for column in EVENTS.columns}
