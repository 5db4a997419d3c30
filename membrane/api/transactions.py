"""One transaction per mutation: commit when the service succeeds, roll back when it fails."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from membrane.api.context import Context

T = TypeVar("T")


async def in_transaction(ctx: Context, work: Callable[[], Awaitable[T]]) -> T:
    try:
        result = await work()
        await ctx.session.commit()
    except BaseException:
        await ctx.session.rollback()
        ctx.reset_loaders()
        raise
    return result
