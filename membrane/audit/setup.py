"""The audit log a process appends with, made from the settings."""

from __future__ import annotations

from membrane.audit import keys
from membrane.audit.chain import AuditLog, CheckpointPolicy
from membrane.config import Settings


def audit_log(settings: Settings) -> AuditLog:
    return AuditLog(
        keys.load_or_create(keys.audit_keys_dir(settings.keys_dir)),
        CheckpointPolicy(
            every_events=settings.audit_checkpoint_every,
            every_seconds=settings.audit_checkpoint_seconds,
        ),
    )
