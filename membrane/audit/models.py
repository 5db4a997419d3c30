"""Audit rows: the events, each tenant's chain head, and the signed checkpoints.

The API's database role may insert events and checkpoints but never change or delete them
(migration 0006); only the owner prunes archived events (`membrane audit prune`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from membrane.db.base import Base, IdMixin, TenantScoped, str_enum


class Outcome(StrEnum):
    SUCCESS = "SUCCESS"
    DENIED = "DENIED"
    ERROR = "ERROR"


class AuditEvent(IdMixin, TenantScoped, Base):
    """One recorded action. `hash` is SHA-256 over the canonical encoding of the event and
    `prev_hash` (`membrane.audit.encoding`), so editing, removing, inserting or reordering
    any event breaks every later hash."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "seq"),
        Index("ix_audit_events_tenant_id_occurred_at", "tenant_id", "occurred_at"),
        Index(
            "ix_audit_events_tenant_id_actor_organization_id", "tenant_id", "actor_organization_id"
        ),
        Index(
            "ix_audit_events_tenant_id_target_organization_id",
            "tenant_id",
            "target_organization_id",
        ),
        Index("ix_audit_events_tenant_id_engagement_id", "tenant_id", "engagement_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    encoding: Mapped[int]
    actor_user_id: Mapped[uuid.UUID | None]
    actor_organization_id: Mapped[uuid.UUID | None]
    actor_client: Mapped[str | None] = mapped_column(String(40))
    actor_ip: Mapped[str | None] = mapped_column(String(45))
    actor_user_agent: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(80))
    target_type: Mapped[str | None] = mapped_column(String(60))
    target_id: Mapped[str | None] = mapped_column(String(100))
    target_organization_id: Mapped[uuid.UUID | None]
    engagement_id: Mapped[uuid.UUID | None]
    zone: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[Outcome] = mapped_column(str_enum(Outcome, "audit_outcome"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(TenantScoped, Base):
    """The end of a tenant's chain. Appending updates it first, which serialises writers:
    PostgreSQL locks the row, SQLite the database, so two writers never fork the chain."""

    __tablename__ = "audit_heads"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    checkpoint_seq: Mapped[int] = mapped_column(BigInteger)
    checkpoint_at: Mapped[datetime | None]


class AuditCheckpoint(TenantScoped, Base):
    """A signed statement that a tenant's chain reached `seq` with `hash`: a compact JWS
    (Ed25519, with the key's id) over the canonical checkpoint document."""

    __tablename__ = "audit_checkpoints"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(100))
    jws: Mapped[str] = mapped_column(String(2000))
