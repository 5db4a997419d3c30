"""A database that refuses audit events, to see what happens when the log cannot be written."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def refuse_audit_events(session: AsyncSession, backend: str, action: str) -> None:
    """From now on the database refuses to store audit events of `action`."""
    if backend == "sqlite":
        await session.execute(
            text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                f"WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'audit full'); END"
            )
        )
        return
    await session.execute(
        text(
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.action = '{action}' THEN RAISE EXCEPTION 'audit full'; END IF; "
            "RETURN NEW; END $$"
        )
    )
    await session.execute(
        text(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
        )
    )
