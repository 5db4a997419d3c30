"""The API process's `Sealer`: the tenants it reaches, and its lifetime in the app's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Collection

from membrane.api.runtime import Runtime
from membrane.audit.chain import Sessions
from membrane.audit.sealing import Sealer
from membrane.tenancy import catalog
from membrane.tenancy.enums import TenantStatus

logger = logging.getLogger(__name__)
_SERVED = frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED})
# How long a stopping process may spend signing the tails it leaves.
SHUTDOWN_SECONDS = 10


def sealer_of(runtime: Runtime) -> Sealer:
    async def chains(tenant_ids: Collection[uuid.UUID]) -> list[tuple[uuid.UUID, Sessions]]:
        # The catalog has no row-level policy: this session needs no tenant setting.
        async with runtime.stores.default.read_sessions() as session:
            entries = [await catalog.entry_by_id(session, tenant) for tenant in tenant_ids]
        return [
            (entry.id, runtime.stores.store_for(entry).sessions)
            for entry in entries
            if entry is not None and entry.status in _SERVED
        ]

    return Sealer(runtime.audit, chains)


@contextlib.asynccontextmanager
async def sealing(runtime: Runtime) -> AsyncIterator[Sealer]:
    """Seal on time while the block runs, and every unsigned tail when it ends."""
    sealer = sealer_of(runtime)
    task = asyncio.create_task(sealer.run())
    try:
        yield sealer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            async with asyncio.timeout(SHUTDOWN_SECONDS):
                await sealer.sweep(now_anyway=True)
        except Exception:  # a store unreachable, or too slow to answer
            logger.exception("the audit chains could not all be signed at shutdown")
