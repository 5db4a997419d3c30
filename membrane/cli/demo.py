"""`membrane demo`: migrate, then seed the demo tenant in one transaction."""

from __future__ import annotations

from typing import Any

from membrane.config import Settings
from membrane.db.engine import create_engine, session_factory
from membrane.demo.seed import seed_demo
from membrane.migrations.runner import upgrade
from membrane.tenancy import catalog
from membrane.tenancy.enums import TenantStrategy


class DemoRefusedError(RuntimeError):
    """The demo would overwrite a tenant it does not own."""


async def run_demo(settings: Settings, *, slug: str, scale: int) -> dict[str, Any]:
    await _upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            existing = await catalog.entry_by_slug(session, slug)
            if existing is not None and existing.strategy is not TenantStrategy.POOL:
                raise DemoRefusedError(
                    f"tenant {slug!r} is a {existing.strategy.value} tenant; the demo seeds "
                    f"pooled tenants (move it first: membrane tenants move {slug} --to pool)"
                )
            report = await seed_demo(session, slug=slug, scale=scale)
    finally:
        await engine.dispose()
    return report.as_dict()


async def _upgrade(database_url: str) -> None:
    import asyncio

    await asyncio.to_thread(upgrade, database_url)
