"""Listening to PostgreSQL notifications on a dedicated connection (outside the pool)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("membrane.db")


class Listener:
    """One connection LISTENing on one channel; `on_state(False)` when it is lost."""

    def __init__(
        self,
        engine: AsyncEngine,
        channel: str,
        on_message: Callable[[str], None],
        on_state: Callable[[bool], None],
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._on_message = on_message
        self._on_state = on_state
        self._connection: asyncpg.Connection | None = None

    async def start(self) -> None:
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        kwargs.pop("async_creator_fn", None)
        kwargs.pop("prepared_statement_cache_size", None)
        try:
            self._connection = await asyncpg.connect(*args, **kwargs)
            await self._connection.add_listener(self._channel, self._message)
        except (OSError, asyncpg.PostgresError) as error:
            logger.warning("not listening on %s: %s", self._channel, type(error).__name__)
            self._on_state(False)
            return
        self._connection.add_termination_listener(self._terminated)
        self._on_state(True)

    def _message(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_message(payload)

    def _terminated(self, _connection: Any) -> None:
        logger.warning("lost the connection listening on %s", self._channel)
        self._on_state(False)

    async def stop(self) -> None:
        if self._connection is not None and not self._connection.is_closed():
            self._on_state(False)
            await self._connection.close()
        self._connection = None
