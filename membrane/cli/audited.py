"""Changes made from the command line are audited like mutations: the rows a command
writes, with their fields before and after, in the command's own transaction."""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.chain import Actor
from membrane.audit.recorder import Recorder
from membrane.audit.setup import append_from_command
from membrane.config import Settings
from membrane.tenancy.catalog import CatalogEntry


def cli_actor() -> Actor:
    """Who acts from the command line: the operating-system user running it."""
    return Actor(client="cli", user_agent=f"membrane cli ({getpass.getuser()})")


@asynccontextmanager
async def audited(
    settings: Settings, entry: CatalogEntry, session: AsyncSession, action: str
) -> AsyncIterator[Recorder]:
    """Record what the block writes as `action`, then commit it with its event."""
    recorder = Recorder(cli_actor(), settings.audit_redacted)
    recorder.begin(action)
    with recorder.tracking(session):
        yield recorder
        await session.flush()
    await append_from_command(settings, session, entry.id, recorder.mutation_drafts())
    await session.commit()
