"""Imports every model module so `Base.metadata` is complete (Alembic and tests use it)."""

from membrane.audit import models as audit_models
from membrane.auth import models as auth_models
from membrane.auth.federation import models as federation_models
from membrane.db.base import Base
from membrane.engagements import models as engagement_models
from membrane.tenancy import models as tenancy_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "engagement_models",
    "federation_models",
    "tenancy_models",
]
