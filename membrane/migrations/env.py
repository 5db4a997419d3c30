"""Alembic environment: migrates one store through its async driver.

`database_url` names the database; `schema` (PostgreSQL bridge tenants) the schema inside
it: the migration then runs with that schema alone on the search path and keeps its own
version table there.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from membrane.db.engine import create_engine
from membrane.db.registry import Base

target_metadata = Base.metadata


def _run(connection: Connection, schema: str | None) -> None:
    if schema is not None:
        connection.dialect.default_schema_name = schema
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table_schema=schema,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, schema: str | None) -> None:
    engine = create_engine(url, pool_size=1, sqlite_foreign_keys=False)
    try:
        async with engine.connect() as connection:
            if schema is not None:
                quoted = connection.dialect.identifier_preparer.quote_identifier(schema)
                await connection.execute(text(f"SET search_path TO {quoted}"))
                await connection.commit()
            await connection.run_sync(_run, schema)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    attributes = context.config.attributes
    asyncio.run(_run_async(attributes["database_url"], attributes.get("schema")))


if context.is_offline_mode():
    raise SystemExit("Membrane runs its migrations online only")
run_migrations_online()
