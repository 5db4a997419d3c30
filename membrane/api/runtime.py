"""What the HTTP app holds for its lifetime: settings, engine, sessions, tokens, documents.

Query operations read through one pooled connection in autocommit mode (no BEGIN and
ROLLBACK round trips, no session transaction unless an ORM read needs one); mutations use
`sessions`, one transaction each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from graphql import OperationType
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from membrane.api.documents import DocumentCache
from membrane.auth.principal_cache import PrincipalCache
from membrane.auth.tokens import TokenService
from membrane.config import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_connection: Callable[[], AbstractAsyncContextManager[AsyncConnection]]
    tokens: TokenService
    documents: DocumentCache
    principals: PrincipalCache

    @asynccontextmanager
    async def session_for(self, operation: OperationType) -> AsyncIterator[AsyncSession]:
        if operation is OperationType.MUTATION:
            async with self.sessions() as session:
                yield session
            return
        async with self.read_connection() as connection:
            session = AsyncSession(bind=connection, expire_on_commit=False)
            try:
                # Root fields run concurrently; a session must not be first used by two of
                # them at once, so it joins its connection before any resolver runs.
                await session.connection()
                yield session
            finally:
                await session.close()
