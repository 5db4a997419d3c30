"""Vocabularies of the tenancy domain."""

from enum import StrEnum


class TenantStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    PROVISIONING = "PROVISIONING"  # its store is being created; `tenants create` resumes it
    MOVING = "MOVING"  # its rows are being copied to another store; requests wait


class TenantStrategy(StrEnum):
    """Where a tenant's rows live (PRODUCT.md, "Tenancy strategies")."""

    POOL = "pool"  # shared tables in the default database
    BRIDGE = "bridge"  # a schema of its own (SQLite: an attached database file)
    SILO = "silo"  # a database of its own


class OrganizationKind(StrEnum):
    HOST = "HOST"
    PARTNER = "PARTNER"


class OrganizationStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    DEPROVISIONED = "DEPROVISIONED"


class TenantRole(StrEnum):
    """Roles a user holds within their own organization."""

    ADMIN = "ADMIN"
    FINANCE = "FINANCE"
    AUDITOR = "AUDITOR"
