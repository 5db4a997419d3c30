"""What the HTTP app holds for its lifetime: settings, engine, sessions, tokens, documents.

`read_sessions` serve query operations in autocommit mode: no BEGIN and ROLLBACK round
trips for requests that change nothing. Mutations use `sessions` (one transaction each).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from membrane.api.documents import DocumentCache
from membrane.auth.principal_cache import PrincipalCache
from membrane.auth.tokens import TokenService
from membrane.config import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    tokens: TokenService
    documents: DocumentCache
    principals: PrincipalCache
