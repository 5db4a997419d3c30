"""Alembic environment: migrates the configured database through its async driver."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from membrane.db.engine import create_engine
from membrane.db.registry import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = context.config.attributes["database_url"]
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("Membrane runs its migrations online only")
run_migrations_online()
