"""Listening to PostgreSQL notifications on a dedicated connection (outside the pool).

The connection is supervised: it is probed every few seconds, so a connection that hangs
without closing is noticed, and a lost one is re-opened. Whoever relies on the feed is told
when it starts and stops (`on_state`), and must not trust anything in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("membrane.db")

_FAILURES = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class Listener:
    def __init__(
        self,
        engine: AsyncEngine,
        channel: str,
        on_message: Callable[[str], None],
        on_state: Callable[[bool], None],
        *,
        probe_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._on_message = on_message
        self._on_state = on_state
        self._probe = probe_seconds
        self._connection: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Connect once (so the feed is up when serving starts, if it can be), then keep
        the connection supervised in the background."""
        await self._connect()
        self._task = asyncio.create_task(self._supervise(), name=f"listen:{self._channel}")

    async def _connect(self) -> None:
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        try:
            connection = await asyncpg.connect(
                *args,
                timeout=self._probe,
                server_settings={"application_name": f"membrane-listen-{self._channel}"},
                **kwargs,
            )
            await connection.add_listener(self._channel, self._message)
        except _FAILURES as error:
            logger.warning("not listening on %s: %s", self._channel, type(error).__name__)
            self._on_state(False)
            return
        connection.add_termination_listener(self._terminated)
        self._connection = connection
        self._on_state(True)

    async def _supervise(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self._probe)
            if self._stopping:
                return
            if self._connection is None or self._connection.is_closed():
                await self._connect()
                continue
            try:
                await self._connection.execute("SELECT 1", timeout=self._probe)
            except _FAILURES as error:
                logger.warning("listener on %s stopped answering: %s", self._channel, error)
                self._on_state(False)
                await self._close()

    def _message(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_message(payload)

    def _terminated(self, _connection: Any) -> None:
        if not self._stopping:
            logger.warning("lost the connection listening on %s", self._channel)
            self._on_state(False)

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(*_FAILURES):
                await connection.close(timeout=self._probe)

    async def stop(self) -> None:
        self._stopping = True
        self._on_state(False)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()
