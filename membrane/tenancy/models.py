"""Tenants, organizations, their verified domains, users and the roles users hold."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from membrane.db.base import Base, IdMixin, TenantScoped, TimestampMixin, str_enum
from membrane.tenancy.enums import (
    OrganizationKind,
    OrganizationStatus,
    TenantRole,
    TenantStatus,
    TenantStrategy,
    UserStatus,
)

SLUG_MAX = 63
NAME_MAX = 200
EMAIL_MAX = 320


class Tenant(IdMixin, TimestampMixin, Base):
    """A tenant. In the default database this table is the tenant catalog; a bridge or silo
    store holds a copy of its own tenant's row, which its other tables refer to."""

    __tablename__ = "tenants"

    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    status: Mapped[TenantStatus] = mapped_column(
        str_enum(TenantStatus, "tenant_status"), default=TenantStatus.ACTIVE
    )
    strategy: Mapped[TenantStrategy] = mapped_column(
        str_enum(TenantStrategy, "tenant_strategy"),
        default=TenantStrategy.POOL,
        server_default=TenantStrategy.POOL.value,
    )
    # Bridge: the schema name (PostgreSQL) or the attached database file (SQLite).
    location: Mapped[str | None] = mapped_column(String(1000))
    # Silo: the database URL, encrypted (`membrane.secrets`); it may hold a password.
    database_url_secret: Mapped[str | None] = mapped_column(Text)


class Organization(IdMixin, TimestampMixin, TenantScoped, Base):
    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, "organization_kind"))
    status: Mapped[OrganizationStatus] = mapped_column(
        str_enum(OrganizationStatus, "organization_status"), default=OrganizationStatus.ACTIVE
    )


class OrganizationDomain(IdMixin, TimestampMixin, TenantScoped, Base):
    """An email domain an organization has proven it owns (used by home-realm discovery)."""

    __tablename__ = "organization_domains"
    __table_args__ = (UniqueConstraint("tenant_id", "domain"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    verified_at: Mapped[datetime | None]


class User(IdMixin, TimestampMixin, TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "issuer", "subject"),
        Index("ix_users_tenant_id_email", "tenant_id", "email"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    display_name: Mapped[str] = mapped_column(String(NAME_MAX))
    status: Mapped[UserStatus] = mapped_column(
        str_enum(UserStatus, "user_status"), default=UserStatus.ACTIVE
    )


class UserRole(TenantScoped, Base):
    """A tenant role (`ADMIN`, `FINANCE`, `AUDITOR`) a user holds within their own organization."""

    __tablename__ = "user_roles"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[TenantRole] = mapped_column(str_enum(TenantRole, "tenant_role"), primary_key=True)
