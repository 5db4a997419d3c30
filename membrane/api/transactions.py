"""One transaction per mutation: commit when the service succeeds, roll back when it fails.

The mutation's audit event is appended in the same transaction, so a change and its event
stand or fall together; a refused or failed mutation's event is written after the
rollback, in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from membrane.api.context import Context

T = TypeVar("T")
logger = logging.getLogger(__name__)


async def in_transaction(ctx: Context, work: Callable[[], Awaitable[T]]) -> T:
    try:
        with ctx.audit.tracking(ctx.session):
            result = await work()
            await ctx.session.flush()
        drafts = ctx.audit.mutation_drafts()
        await ctx.audit_log.append(ctx.session, ctx.principal.tenant_id, drafts)
        await ctx.session.commit()
    except BaseException as error:
        await ctx.session.rollback()
        ctx.reset_loaders()
        if not isinstance(error, asyncio.CancelledError):
            await _record_failure(ctx, error)
        raise
    return result


async def _record_failure(ctx: Context, error: BaseException) -> None:
    draft = ctx.audit.failure_draft(error)
    if draft is None:
        return
    try:
        await ctx.audit_log.append(ctx.session, ctx.principal.tenant_id, [draft])
        await ctx.session.commit()
    except Exception:
        logger.exception("the audit event of a refused mutation could not be written")
        await ctx.session.rollback()
