"""The domain vocabularies, registered once as GraphQL enums."""

from __future__ import annotations

import strawberry

from membrane.engagements.enums import (
    EngagementRole,
    EngagementStatus,
    MilestoneStatus,
    TaskStatus,
    Zone,
)
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus, TenantRole, UserStatus

ZoneEnum = strawberry.enum(
    Zone,
    description="Where content lives: INTERNAL (owning organization only) or SHARED (all members).",
)
EngagementStatusEnum = strawberry.enum(EngagementStatus, description="Lifecycle of an engagement.")
EngagementRoleEnum = strawberry.enum(
    EngagementRole, description="Role of a member within one engagement."
)
TaskStatusEnum = strawberry.enum(TaskStatus, description="Progress of a task.")
MilestoneStatusEnum = strawberry.enum(MilestoneStatus, description="State of a milestone.")
OrganizationKindEnum = strawberry.enum(
    OrganizationKind, description="HOST owns the tenant; PARTNER companies are invited into it."
)
OrganizationStatusEnum = strawberry.enum(
    OrganizationStatus, description="Whether an organization's people may sign in."
)
UserStatusEnum = strawberry.enum(UserStatus, description="Whether a user may sign in.")
TenantRoleEnum = strawberry.enum(
    TenantRole, description="A role a user holds within their own organization."
)
