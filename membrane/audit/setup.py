"""The audit log a process appends with, made from the settings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit import keys
from membrane.audit.chain import AuditLog, CheckpointPolicy, Draft
from membrane.config import Settings


def audit_log(settings: Settings) -> AuditLog:
    return AuditLog(
        keys.load_or_create(keys.audit_keys_dir(settings.keys_dir)),
        CheckpointPolicy(
            every_events=settings.audit_checkpoint_every,
            every_seconds=settings.audit_checkpoint_seconds,
        ),
    )


async def append_from_command(
    settings: Settings, session: AsyncSession, tenant_id: uuid.UUID, drafts: Sequence[Draft]
) -> None:
    """A command's events, in the caller's transaction; signed at once, since no process of
    the command stays to sign the chain's tail later."""
    await audit_log(settings).append(session, tenant_id, drafts, sign=True)
