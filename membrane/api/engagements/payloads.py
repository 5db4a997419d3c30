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
from membrane.api.tenancy.types import Organization
from membrane.engagements.enums import EngagementRole


@strawberry.type(description="Result of createEngagement.")
class CreateEngagementPayload:
    engagement: Engagement = strawberry.field(description="The new engagement.")


@strawberry.type(description="Result of addParticipant.")
class AddParticipantPayload:
    engagement: Engagement = strawberry.field(description="The engagement.")
    organization: Organization = strawberry.field(description="The organization added.")


@strawberry.type(description="Result of addMember.")
class AddMemberPayload:
    engagement: Engagement = strawberry.field(description="The engagement.")
    member: EngagementMember = strawberry.field(description="The new member.")


@strawberry.type(
    description=(
        "A pending invitation. The person accepts it by signing in through their "
        "organization's identity provider with this email (/auth/login/{organization})."
    )
)
class Invitation:
    email: str = strawberry.field(description="The invited email address.")
    role: EngagementRole = strawberry.field(description="Their role once they have signed in.")
    expires_at: datetime = strawberry.field(description="When the invitation lapses.")


@strawberry.type(description="Result of inviteToEngagement.")
class InviteToEngagementPayload:
    engagement: Engagement = strawberry.field(description="The engagement.")
    organization: Organization = strawberry.field(description="The invitees' organization.")
    invitations: list[Invitation] = strawberry.field(
        description="One per email, renewed if pending."
    )


@strawberry.type(description="Result of createTask and updateTask.")
class TaskPayload:
    task: Task = strawberry.field(description="The task as saved.")


@strawberry.type(description="Result of createThread.")
class CreateThreadPayload:
    thread: Thread = strawberry.field(description="The new thread.")


@strawberry.type(description="Result of postMessage.")
class PostMessagePayload:
    message: Message = strawberry.field(description="The message posted.")


@strawberry.type(description="Result of createDocument and createDocumentVersion.")
class DocumentPayload:
    document: Document = strawberry.field(description="The document as saved.")
    version: DocumentVersion = strawberry.field(description="The version just written.")


@strawberry.type(description="Result of createMilestone.")
class CreateMilestonePayload:
    milestone: Milestone = strawberry.field(description="The new milestone.")


@strawberry.type(description="Result of createIndicator and setIndicatorValue.")
class IndicatorPayload:
    indicator: Indicator = strawberry.field(description="The indicator as saved.")
