"""Whether the API's database role is bound by row-level security (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_ROLE = text(
    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)
_OWNED = text(
    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
    "AND tableowner = current_user"
)


async def bypass_reason(engine: AsyncEngine) -> str | None:
    """Why connections of `engine` would not be bound by row-level security, or None."""
    async with engine.connect() as connection:
        role = (await connection.execute(_ROLE)).one()
        owned = await connection.scalar(_OWNED)
    if role.rolsuper:
        return f"the database role {role.name!r} is a superuser"
    if role.rolbypassrls:
        return f"the database role {role.name!r} has BYPASSRLS"
    if owned:
        return f"the database role {role.name!r} owns Membrane's tables"
    return None
