"""Engagements and their content. Every content row carries tenant, engagement, owner and zone."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from membrane.db.base import Base, IdMixin, TenantScoped, TimestampMixin, str_enum
from membrane.engagements.enums import (
    EngagementRole,
    EngagementStatus,
    MilestoneStatus,
    TaskStatus,
    Zone,
)

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
BODY_MAX = 100_000
UNIT_MAX = 32


class Engagement(IdMixin, TimestampMixin, TenantScoped, Base):
    __tablename__ = "engagements"
    __table_args__ = (
        CheckConstraint("budget_cents IS NULL OR budget_cents >= 0", name="budget_not_negative"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    host_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EngagementStatus] = mapped_column(
        str_enum(EngagementStatus, "engagement_status"), default=EngagementStatus.PLANNED
    )
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    budget_cents: Mapped[int | None] = mapped_column(BigInteger)


class Participant(TimestampMixin, TenantScoped, Base):
    """An organization taking part in an engagement (the host is a participant too)."""

    __tablename__ = "engagement_participants"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Membership(TimestampMixin, TenantScoped, Base):
    """A user of a participant organization holding an engagement role."""

    __tablename__ = "engagement_members"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[EngagementRole] = mapped_column(str_enum(EngagementRole, "engagement_role"))


class ZonedContent(IdMixin, TimestampMixin, TenantScoped):
    """Columns every piece of content carries: where it lives and who owns it."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))

    @declared_attr
    def engagement_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"))

    @declared_attr
    def owner_organization_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("organizations.id"))

    @declared_attr
    def zone(cls) -> Mapped[Zone]:
        return mapped_column(str_enum(Zone, "zone"))

    @declared_attr
    def created_by_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Thread(ZonedContent, Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_engagement_zone", "engagement_id", "zone", "id"),)

    title: Mapped[str] = mapped_column(String(TITLE_MAX))


class Message(ZonedContent, Base):
    """A message carries its thread's zone and owner, so a message row is checkable alone."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread_id", "thread_id", "id"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)


class Task(ZonedContent, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_engagement_zone", "engagement_id", "zone", "id"),
        Index("ix_tasks_assignee_id", "assignee_id"),
        CheckConstraint("cost_cents IS NULL OR cost_cents >= 0", name="cost_not_negative"),
        CheckConstraint(
            "estimate_hours IS NULL OR estimate_hours >= 0", name="estimate_not_negative"
        ),
    )

    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "task_status"), default=TaskStatus.TODO
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    due_on: Mapped[date | None] = mapped_column(Date)
    estimate_hours: Mapped[float | None]
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    cost_cents: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None]


class Document(ZonedContent, Base):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_engagement_zone", "engagement_id", "zone", "id"),)

    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    current_version: Mapped[int] = mapped_column(default=1)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class DocumentVersion(ZonedContent, Base):
    """A version carries its document's zone and owner, so a version row is checkable alone."""

    __tablename__ = "document_versions"
    __table_args__ = (Index("ix_document_versions_document", "document_id", "number", unique=True),)

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class Milestone(ZonedContent, Base):
    __tablename__ = "milestones"
    __table_args__ = (Index("ix_milestones_engagement_zone", "engagement_id", "zone", "id"),)

    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[MilestoneStatus] = mapped_column(
        str_enum(MilestoneStatus, "milestone_status"), default=MilestoneStatus.PLANNED
    )


class Indicator(ZonedContent, Base):
    """A value-of-the-engagement KPI with a target and a history of values."""

    __tablename__ = "indicators"
    __table_args__ = (Index("ix_indicators_engagement_zone", "engagement_id", "zone", "id"),)

    name: Mapped[str] = mapped_column(String(TITLE_MAX))
    unit: Mapped[str] = mapped_column(String(UNIT_MAX))
    target: Mapped[float | None]
    current_value: Mapped[float | None]


class IndicatorValue(ZonedContent, Base):
    """A recorded value carries its indicator's zone and owner; `created_by` recorded it."""

    __tablename__ = "indicator_values"
    __table_args__ = (Index("ix_indicator_values_indicator", "indicator_id", "id"),)

    indicator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    value: Mapped[float]


# An engagement's items: the content that stands on its own (messages, versions and values
# belong to one of them). Each is searched, and moves between zones with what belongs to it.
ITEMS: tuple[type[ZonedContent], ...] = (Task, Thread, Document, Milestone, Indicator)


def table_of(model: type[ZonedContent]) -> str:
    """The table a kind of content lives in (`tasks`, `threads`, ...)."""
    name: str = model.__tablename__  # type: ignore[attr-defined]
    return name
