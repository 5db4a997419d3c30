"""Checkpoints on demand, and retention: archiving a tenant's oldest events, then pruning them.

- `checkpoint_now` signs the head (`membrane audit checkpoint`), its row locked meanwhile.
- `archive` writes the events older than a cut-off as an export (`export.export_lines`),
  verified as it is written, ending at a signed checkpoint: one is signed for its last
  event when none covers it. The chain after it starts from that checkpoint, so an export
  of what remains verifies on its own, and with `verify --after ARCHIVE` against the archive.
- `prune` deletes exactly the events of an archive, once the archive verifies and is, line
  for line, what the database holds (its anchor, events and checkpoints); the deletion and
  an `audit.prune` event recording it share one transaction. It runs as the database
  owner (the API's role may not delete audit events); checkpoints stay, each a few hundred
  bytes, since the oldest remaining one anchors the rest of the chain.

Reading passes run before any write transaction, so writers of the tenant wait only for the
short transactions that sign or delete.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.chain import EVENTS, HEADS, SYSTEM, AuditLog, Draft, Head
from membrane.audit.encoding import timestamp
from membrane.audit.export import checkpoint_line, export_lines, first_seq, is_checkpoint
from membrane.audit.models import AuditCheckpoint, AuditEvent
from membrane.audit.verify import Line, Report, Verifier
from membrane.db.base import utcnow
from membrane.errors import ConflictError, InvalidInputError, NotFoundError

PRUNE_ACTION = "audit.prune"


async def lock_head(session: AsyncSession, tenant_id: uuid.UUID) -> Head | None:
    """The tenant's head, locked until the transaction ends (a row lock on PostgreSQL; a
    SQLite transaction holds the write lock from its start)."""
    heads = HEADS.c
    statement = (
        select(heads.seq, heads.hash, heads.checkpoint_seq, heads.checkpoint_at)
        .where(heads.tenant_id == tenant_id)
        .with_for_update()
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else Head(int(row[0]), str(row[1]), int(row[2]), row[3])


async def sign_checkpoint(
    session: AsyncSession,
    log: AuditLog,
    tenant_id: uuid.UUID,
    seq: int,
    chain_hash: str,
    head: Head | None = None,
) -> tuple[AuditCheckpoint, bool]:
    """The checkpoint of `seq` (with `chain_hash`, the verified hash of the event `seq`),
    signed now unless one exists; and whether it was signed now. `head`: the head the
    caller has locked already. The caller commits."""
    if head is None:
        head = await lock_head(session, tenant_id)
    if head is None or not 1 <= seq <= head.seq:
        raise NotFoundError(f"the audit log has no event seq {seq}", field="seq")
    existing = await session.scalar(
        select(AuditCheckpoint).where(
            AuditCheckpoint.tenant_id == tenant_id, AuditCheckpoint.seq == seq
        )
    )
    if existing is not None:
        return existing, False
    now = utcnow()
    checkpoint = await log.checkpoint(session, tenant_id, seq, chain_hash, now)
    if seq > head.checkpoint_seq:
        await session.execute(
            update(HEADS)
            .where(HEADS.c.tenant_id == tenant_id)
            .values(checkpoint_seq=seq, checkpoint_at=now)
        )
    return checkpoint, True


async def checkpoint_now(
    session: AsyncSession, log: AuditLog, tenant_id: uuid.UUID
) -> tuple[AuditCheckpoint, bool] | None:
    """Sign the head of the tenant's chain (None: it has no events yet). The caller commits."""
    head = await lock_head(session, tenant_id)
    if head is None or head.seq == 0:
        return None
    return await sign_checkpoint(session, log, tenant_id, head.seq, head.hash, head)


async def archive(
    session: AsyncSession,
    log: AuditLog,
    tenant_id: uuid.UUID,
    before: datetime,
    write: Callable[[dict[str, Any]], None],
) -> Report:
    """Write (`write`, line by line) the events older than `before`, from the oldest one
    still held, ending at a checkpoint; the archive's report. The events archived are the
    longest run of the chain older than `before` (`occurredAt` is taken before an event is
    chained, so it may step back by a moment across concurrent writers)."""
    oldest = await first_seq(session, tenant_id)
    if oldest is None:
        raise NotFoundError("the tenant's audit log has no events", field="tenant")
    newer = await first_seq(session, tenant_id, before)
    if newer is None:
        last = await session.scalar(
            select(func.max(AuditEvent.seq)).where(AuditEvent.tenant_id == tenant_id)
        )
        through = int(last or 0)
    else:
        through = newer - 1
    if through < oldest:
        raise NotFoundError(
            f"no audit events before {timestamp(before)}: the oldest held is seq {oldest}",
            field="before",
        )
    chain = Verifier(log.keys.jwks())
    number = 0
    async for line in export_lines(session, tenant_id, through_seq=through):
        number += 1
        chain.feed(line, number)
        write(line)
    await session.commit()  # the reading transaction
    if not chain.report.ends_at_checkpoint:
        report = chain.report
        checkpoint, _ = await sign_checkpoint(
            session, log, tenant_id, report.end_seq, report.end_hash
        )
        await session.commit()
        line = checkpoint_line(checkpoint)
        chain.feed(line, number + 1)
        write(line)
    return chain.report


def _describe(line: Line) -> str:
    if is_checkpoint(dict(line)):
        document = line.get("checkpoint")
        seq = document.get("seq") if isinstance(document, dict) else None
        return f"checkpoint at seq {seq}"
    return f"event seq {line.get('seq')} (id {line.get('id')})"


async def prune(
    session: AsyncSession,
    log: AuditLog,
    tenant_id: uuid.UUID,
    archived: Iterable[Line],
    *,
    archive_sha256: str | None = None,
) -> Report:
    """Delete the events of an archive (its lines, read once), which must verify, end at a
    checkpoint and be what the database holds from its oldest event on; its report."""
    chain = Verifier(log.keys.jwks())
    held = export_lines(session, tenant_id)
    number = 0
    try:
        for line in archived:
            number += 1
            chain.feed(line, number)
            stored = await anext(held, None)
            if stored is None:
                raise ConflictError(
                    f"line {number} of the archive ({_describe(line)}) is not in the database: "
                    "nothing pruned",
                    field="archive",
                )
            if stored != line and number == 1:
                raise ConflictError(
                    f"the archive starts with {_describe(line)}, the tenant's audit log with "
                    f"{_describe(stored)} (was it pruned already?): nothing pruned",
                    field="archive",
                )
            if stored != line:
                raise ConflictError(
                    f"line {number} of the archive ({_describe(line)}) differs from the "
                    f"database ({_describe(stored)}): nothing pruned",
                    field="archive",
                )
    finally:
        await held.aclose()
    report = chain.report
    if report.first_seq is None or report.last_seq is None:
        raise InvalidInputError("the archive holds no events: nothing pruned", field="archive")
    if not report.ends_at_checkpoint:
        raise InvalidInputError(
            "the archive does not end at a signed checkpoint of its last event (it was not "
            "written by `membrane audit archive`, or it was cut short): nothing pruned",
            field="archive",
        )
    await session.commit()  # the reading transaction
    events = EVENTS.c
    result = cast(
        CursorResult[Any],
        await session.execute(
            delete(EVENTS).where(
                events.tenant_id == tenant_id,
                events.seq >= report.first_seq,
                events.seq <= report.last_seq,
            )
        ),
    )
    if result.rowcount != report.events:
        await session.rollback()
        raise ConflictError(
            f"the database holds {result.rowcount} events from seq {report.first_seq} to "
            f"{report.last_seq}, the archive {report.events}: nothing pruned",
            field="archive",
        )
    details: dict[str, Any] = {
        "fromSeq": report.first_seq,
        "throughSeq": report.last_seq,
        "events": report.events,
        "hash": report.end_hash,
        "archiveSha256": archive_sha256,
    }
    await log.append(
        session,
        tenant_id,
        [Draft(action=PRUNE_ACTION, actor=SYSTEM, target_type="audit_events", details=details)],
    )
    await session.commit()
    return report
