"""Payload types returned by the engagement mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from membrane.api.engagements.content_types import (
    Document,
    DocumentVersion,
    Indicator,
    Message,
    Milestone,
    Task,
    Thread,
)
from membrane.api.engagements.types import Engagement, EngagementMember
from membrane.api.policies import VISIBLE, field
from membrane.api.tenancy.types import Organization
from membrane.engagements.enums import EngagementRole


@strawberry.type(description="Result of createEngagement.")
class CreateEngagementPayload:
    engagement: Engagement = field(VISIBLE, description="The new engagement.")


@strawberry.type(description="Result of addParticipant.")
class AddParticipantPayload:
    engagement: Engagement = field(VISIBLE, description="The engagement.")
    organization: Organization = field(VISIBLE, description="The organization added.")


@strawberry.type(description="Result of addMember.")
class AddMemberPayload:
    engagement: Engagement = field(VISIBLE, description="The engagement.")
    member: EngagementMember = field(VISIBLE, description="The new member.")


@strawberry.type(
    description=(
        "A pending invitation. The person accepts it by signing in through their "
        "organization's identity provider with this email (/auth/login/{organization})."
    )
)
class Invitation:
    email: str = field(VISIBLE, description="The invited email address.")
    role: EngagementRole = field(VISIBLE, description="Their role once they have signed in.")
    expires_at: datetime = field(VISIBLE, description="When the invitation lapses.")


@strawberry.type(description="Result of inviteToEngagement.")
class InviteToEngagementPayload:
    engagement: Engagement = field(VISIBLE, description="The engagement.")
    organization: Organization = field(VISIBLE, description="The invitees' organization.")
    invitations: list[Invitation] = field(VISIBLE, description="One per email, renewed if pending.")


@strawberry.type(description="Result of createTask and updateTask.")
class TaskPayload:
    task: Task = field(VISIBLE, description="The task as saved.")


@strawberry.type(description="Result of createThread.")
class CreateThreadPayload:
    thread: Thread = field(VISIBLE, description="The new thread.")


@strawberry.type(description="Result of postMessage.")
class PostMessagePayload:
    message: Message = field(VISIBLE, description="The message posted.")


@strawberry.type(description="Result of createDocument and createDocumentVersion.")
class DocumentPayload:
    document: Document = field(VISIBLE, description="The document as saved.")
    version: DocumentVersion = field(VISIBLE, description="The version just written.")


@strawberry.type(description="Result of createMilestone.")
class CreateMilestonePayload:
    milestone: Milestone = field(VISIBLE, description="The new milestone.")


@strawberry.type(description="Result of createIndicator and setIndicatorValue.")
class IndicatorPayload:
    indicator: Indicator = field(VISIBLE, description="The indicator as saved.")
