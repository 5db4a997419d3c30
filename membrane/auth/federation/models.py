"""An organization's identity provider (OpenID Provider) as registered with Membrane."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from membrane.db.base import Base, IdMixin, TenantScoped, TimestampMixin

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
