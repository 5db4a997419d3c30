"""The JSONL export of a tenant's audit chain (`membrane audit export`).

One JSON object per line, in `seq` order:

- an event: its hashed document (`encoding.event_document`) plus its stored `hash`;
- a checkpoint, right after the event whose `seq` it covers:
  `{"checkpoint": <checkpoint_document>, "jws": "<compact JWS>", "keyId": "<kid>"}`.

A file that does not start at the first event of the chain (`--since`, or after
`membrane audit prune`) starts with the signed checkpoint just before its first event
(the anchor), so `membrane audit verify` can check it on its own: an export from a point
in the chain begins just after the last checkpoint before that point.

Rows are streamed (`AsyncSession.stream` with `yield_per`), events joined to the
checkpoint of the same `seq`, so memory stays constant whatever the size of the log.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterable
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.encoding import checkpoint_document, event_document
from membrane.audit.models import AuditCheckpoint, AuditEvent

BATCH = 500


def event_line(event: AuditEvent) -> dict[str, Any]:
    """An event as its export line: the hashed document and the stored hash."""
    return {**event_document(event), "hash": event.hash}


def checkpoint_line(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    document = checkpoint_document(
        str(checkpoint.tenant_id), checkpoint.seq, checkpoint.hash, checkpoint.signed_at
    )
    return {"checkpoint": document, "jws": checkpoint.jws, "keyId": checkpoint.key_id}


def is_checkpoint(line: dict[str, Any]) -> bool:
    return "checkpoint" in line


async def first_seq(
    session: AsyncSession, tenant_id: uuid.UUID, since: datetime | None = None
) -> int | None:
    """The seq of the tenant's oldest event held (of the first at or after `since`)."""
    statement = select(func.min(AuditEvent.seq)).where(AuditEvent.tenant_id == tenant_id)
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    found = await session.scalar(statement)
    return None if found is None else int(found)


async def _checkpoint_before(
    session: AsyncSession, tenant_id: uuid.UUID, seq: int
) -> AuditCheckpoint | None:
    """The newest checkpoint of a `seq` before `seq`."""
    statement = (
        select(AuditCheckpoint)
        .where(AuditCheckpoint.tenant_id == tenant_id, AuditCheckpoint.seq < seq)
        .order_by(AuditCheckpoint.seq.desc())
        .limit(1)
    )
    found: AuditCheckpoint | None = await session.scalar(statement)
    return found


async def export_lines(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    since_seq: int | None = None,
    since: datetime | None = None,
    through_seq: int | None = None,
    batch: int = BATCH,
) -> AsyncGenerator[dict[str, Any], None]:
    """The export's lines, streamed: from the first event (or the last checkpoint before
    `since_seq`, or before the first event at or after `since`) through `through_seq`."""
    first = await first_seq(session, tenant_id)
    if first is None:
        return
    start = first
    wanted = since_seq
    if since is not None:
        at = await first_seq(session, tenant_id, since)
        if at is None:
            return
        wanted = at if wanted is None else max(wanted, at)
    if wanted is not None and wanted > first:
        before = await _checkpoint_before(session, tenant_id, wanted)
        start = first if before is None else max(first, before.seq + 1)
    # The chain before `start` is not in the file: the checkpoint of `start - 1` vouches
    # for it (none before the first event of a chain that was never pruned).
    anchor = await _checkpoint_before(session, tenant_id, start)
    if anchor is not None and anchor.seq == start - 1:
        yield checkpoint_line(anchor)
    covers = and_(
        AuditCheckpoint.tenant_id == AuditEvent.tenant_id, AuditCheckpoint.seq == AuditEvent.seq
    )
    statement = (
        select(AuditEvent, AuditCheckpoint)
        .outerjoin(AuditCheckpoint, covers)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq >= start)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    if through_seq is not None:
        statement = statement.where(AuditEvent.seq <= through_seq)
    result = await session.stream(statement)
    try:
        async for event, checkpoint in result:
            yield event_line(event)
            if checkpoint is not None:
                yield checkpoint_line(checkpoint)
    finally:
        await result.close()


def dump_line(line: dict[str, Any]) -> str:
    """One JSONL line (ASCII, so any terminal or file encoding carries it unchanged)."""
    return json.dumps(line, separators=(",", ":")) + "\n"


async def write_lines(lines: AsyncIterable[dict[str, Any]], output: TextIO) -> tuple[int, int]:
    """Write lines as they come; how many events and checkpoints were written."""
    events = checkpoints = 0
    async for line in lines:
        output.write(dump_line(line))
        if is_checkpoint(line):
            checkpoints += 1
        else:
            events += 1
    return events, checkpoints
