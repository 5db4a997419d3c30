"""Signing the chains' unsigned tails on time, whether or not another event comes.

An append signs a checkpoint when `every_events` events or `every_seconds` seconds have
passed since the last one; a tenant whose last events are followed by silence would keep
them unsigned until its next event. So the `AuditLog` of each process remembers the
tenants it left with an unsigned tail, and the process's `Sealer` looks at them every
`every_seconds / 2` seconds: it signs the head of each chain whose oldest unsigned events
have waited `every_seconds` since the last checkpoint, and, when the process stops, every
tail it left unsigned. The decision is taken again under the head's lock, so processes
sealing together sign once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.chain import AuditLog, Sessions
from membrane.audit.retention import lock_head, sign_checkpoint
from membrane.db.base import utcnow
from membrane.tenancy.isolation import bind_tenant

logger = logging.getLogger(__name__)

# The tenants' stores, for the tenant ids asked (those no longer served left out).
Chains = Callable[[Collection[uuid.UUID]], Awaitable[Sequence[tuple[uuid.UUID, Sessions]]]]


@dataclass(frozen=True, slots=True)
class Sealing:
    head: int  # the head's seq when looked at (0: no chain)
    signed: int | None = None  # the seq signed now
    waiting: bool = False  # events after the last checkpoint, not yet due


async def seal_if_due(
    session: AsyncSession, log: AuditLog, tenant_id: uuid.UUID, *, now_anyway: bool = False
) -> Sealing:
    """Sign the tenant's head if events after its last checkpoint have waited
    `every_seconds` (or have waited at all, `now_anyway`). The caller commits."""
    head = await lock_head(session, tenant_id)
    if head is None:
        return Sealing(0)
    if head.seq <= head.checkpoint_seq:
        return Sealing(head.seq)
    if not (now_anyway or log.checkpoint_overdue(head.checkpoint_at, utcnow())):
        return Sealing(head.seq, waiting=True)
    await sign_checkpoint(session, log, tenant_id, head.seq, head.hash, head)
    return Sealing(head.seq, signed=head.seq)


class Sealer:
    """Signs the tails `log` left unsigned, now (`sweep`) or on time (`run`)."""

    def __init__(self, log: AuditLog, chains: Chains) -> None:
        self.log = log
        self.chains = chains

    @property
    def interval(self) -> float:
        return max(1.0, self.log.policy.every_seconds / 2)

    async def sweep(self, *, now_anyway: bool = False) -> dict[uuid.UUID, int]:
        """The seq signed per tenant. A tenant whose store fails, or that is not served
        now (moving), stays for the next sweep."""
        pending = self.log.unsigned_tenants()
        if not pending:
            return {}
        signed: dict[uuid.UUID, int] = {}
        for tenant_id, sessions in await self.chains(pending):
            try:
                async with sessions() as session:
                    bind_tenant(session, tenant_id)
                    sealing = await seal_if_due(session, self.log, tenant_id, now_anyway=now_anyway)
                    await session.commit()
            except Exception:
                logger.exception("the audit chain of tenant %s could not be signed", tenant_id)
                continue
            if not sealing.waiting:
                self.log.signed(tenant_id, sealing.head)
            if sealing.signed is not None:
                signed[tenant_id] = sealing.signed
        return signed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:  # the catalog unreachable: the next sweep tries again
                logger.exception("the audit chains could not be sealed")
