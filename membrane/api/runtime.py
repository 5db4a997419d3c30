"""What the HTTP app holds for its lifetime: settings, engine, sessions, tokens, documents."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from membrane.api.documents import DocumentCache
from membrane.auth.tokens import TokenService
from membrane.config import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenService
    documents: DocumentCache
