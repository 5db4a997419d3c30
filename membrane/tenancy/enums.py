"""Vocabularies of the tenancy domain."""

from enum import StrEnum


class TenantStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


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
