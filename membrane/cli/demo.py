"""`membrane demo`: migrate, then seed the demo tenant in one transaction."""

from __future__ import annotations

from typing import Any

from membrane.config import Settings
from membrane.db.engine import create_engine, session_factory
from membrane.demo.seed import seed_demo
from membrane.migrations.runner import upgrade


async def run_demo(settings: Settings, *, slug: str, scale: int) -> dict[str, Any]:
    await _upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            report = await seed_demo(session, slug=slug, scale=scale)
    finally:
        await engine.dispose()
    return report.as_dict()


async def _upgrade(database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, database_url)
