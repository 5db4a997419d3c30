"""An organization's identity providers (OpenID Providers) as registered with Membrane, the
sign-ins in progress through them, and the invitations their first sign-in accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from membrane.db.base import Base, IdMixin, TenantScoped, TimestampMixin, str_enum
from membrane.engagements.enums import EngagementRole
from membrane.tenancy.models import EMAIL_MAX

DEFAULT_SCOPES = "openid email profile"
DEFAULT_ALGORITHMS = "RS256,ES256"


class IdentityProvider(IdMixin, TimestampMixin, TenantScoped, Base):
    """Membrane is an OpenID Connect relying party of this provider for one organization.

    `client_secret_secret` is the client secret encrypted with `MEMBRANE_SECRET_KEYS`
    (None for public clients, which rely on PKCE alone). `role_mapping` maps a value of the
    groups claim to a tenant role (`ADMIN`, `FINANCE`, `AUDITOR`).
    """

    __tablename__ = "identity_providers"
    __table_args__ = (UniqueConstraint("tenant_id", "organization_id", "issuer"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    discovery_url: Mapped[str] = mapped_column(String(1000))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_secret: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(500), default=DEFAULT_SCOPES)
    allowed_algorithms: Mapped[str] = mapped_column(String(200), default=DEFAULT_ALGORITHMS)
    email_claim: Mapped[str] = mapped_column(String(100), default="email")
    name_claim: Mapped[str] = mapped_column(String(100), default="name")
    groups_claim: Mapped[str | None] = mapped_column(String(100))
    role_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Whether the provider's email claim is trusted without `email_verified: true` (it
    # provisions people and accepts invitations by email; off unless the admin says so).
    trust_email: Mapped[bool] = mapped_column(default=False, server_default=false())


class LoginAttempt(IdMixin, TimestampMixin, TenantScoped, Base):
    """One sign-in through a provider, between `/auth/login` and `/auth/callback`.

    Kept server side so the callback can check what the browser brings back: the state is
    stored as its SHA-256 (`state_hash`), the PKCE verifier encrypted; `used_at` makes the
    state single-use. `flow` is `browser` (cookies and redirects) or `api` (JSON).
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_expires_at", "expires_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE")
    )
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(100))
    code_verifier_secret: Mapped[str] = mapped_column(Text)
    flow: Mapped[str] = mapped_column(String(10))
    return_to: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Invitation(IdMixin, TimestampMixin, TenantScoped, Base):
    """An engagement lead's invitation of a person of a partner organization, by email.

    The first sign-in through the organization's provider with that email accepts it: the
    person is provisioned, bound to the provider's issuer and subject (`user_id`), and made
    a member of the engagement with `role`.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        Index(
            "ix_invitations_tenant_id_organization_id_email",
            "tenant_id",
            "organization_id",
            "email",
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE")
    )
    role: Mapped[EngagementRole] = mapped_column(str_enum(EngagementRole, "engagement_role"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
