"""Vocabularies of the engagements domain."""

from enum import StrEnum


class EngagementStatus(StrEnum):
    PLANNED = "PLANNED"
    ACTIVE = "ACTIVE"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class EngagementRole(StrEnum):
    LEAD = "LEAD"
    CONTRIBUTOR = "CONTRIBUTOR"
    VIEWER = "VIEWER"


class Zone(StrEnum):
    """`INTERNAL`: only the owning organization's members. `SHARED`: every engagement member."""

    INTERNAL = "INTERNAL"
    SHARED = "SHARED"


class TaskStatus(StrEnum):
    TODO = "TODO"
    IN_PROGRESS = "IN_PROGRESS"
    BLOCKED = "BLOCKED"
    DONE = "DONE"


class MilestoneStatus(StrEnum):
    PLANNED = "PLANNED"
    REACHED = "REACHED"
    MISSED = "MISSED"


WRITER_ROLES = frozenset({EngagementRole.LEAD, EngagementRole.CONTRIBUTOR})
