"""Input objects of the engagement mutations (one input object per mutation)."""

from __future__ import annotations

from datetime import date

import strawberry

from membrane.api.policies import HOST_FINANCE_OR_LEAD, HOST_MEMBER_OF_ENGAGEMENT, input_field
from membrane.api.scalars import Money
from membrane.engagements.enums import EngagementRole, EngagementStatus, TaskStatus, Zone


@strawberry.input(description="A new engagement; the creator becomes its lead.")
class CreateEngagementInput:
    name: str = strawberry.field(description="Name, 1 to 200 characters.")
    description: str = strawberry.field(default="", description="At most 10,000 characters.")
    status: EngagementStatus = strawberry.field(
        default=EngagementStatus.PLANNED, description="Initial state."
    )
    starts_on: date | None = strawberry.field(default=None, description="Planned start.")
    ends_on: date | None = strawberry.field(default=None, description="Planned end.")
    budget_cents: Money | None = input_field(
        HOST_FINANCE_OR_LEAD,
        default=None,
        description="Internal budget in minor units, not negative.",
    )


@strawberry.input(description="A partner organization to add to an engagement.")
class AddParticipantInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    organization_id: strawberry.ID = strawberry.field(description="A PARTNER organization.")


@strawberry.input(description="A user of a participant organization to add as a member.")
class AddMemberInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    user_id: strawberry.ID = strawberry.field(description="The user to add.")
    role: EngagementRole = strawberry.field(description="Their role in the engagement.")


@strawberry.input(
    description="People of a participant organization to invite by email (engagement lead)."
)
class InviteToEngagementInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    organization_id: strawberry.ID = strawberry.field(
        description=(
            "Their organization: a PARTNER not yet taking part joins the engagement (host "
            "leads only); a partner lead may invite only its own organization's people."
        )
    )
    emails: list[str] = strawberry.field(description="1 to 50 email addresses.")
    role: EngagementRole = strawberry.field(description="Their role once they have signed in.")


@strawberry.input(description="A new task in the viewer's organization's zone of choice.")
class CreateTaskInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    title: str = strawberry.field(description="Title, 1 to 200 characters.")
    zone: Zone = strawberry.field(description="INTERNAL (the viewer's organization) or SHARED.")
    description: str = strawberry.field(default="", description="At most 10,000 characters.")
    status: TaskStatus = strawberry.field(default=TaskStatus.TODO, description="Initial status.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A member who can see the task."
    )
    due_on: date | None = strawberry.field(default=None, description="Due date.")
    estimate_hours: float | None = strawberry.field(
        default=None, description="Estimated hours, not negative."
    )
    internal_notes: str | None = input_field(
        HOST_MEMBER_OF_ENGAGEMENT, default=None, description="The host's own annotations."
    )
    cost_cents: Money | None = input_field(
        HOST_FINANCE_OR_LEAD, default=None, description="Internal cost in minor units."
    )


@strawberry.input(description="Changes to a task; omitted fields keep their value.")
class UpdateTaskInput:
    id: strawberry.ID = strawberry.field(description="The task.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="New title.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description."
    )
    status: TaskStatus | None = strawberry.field(
        default=strawberry.UNSET, description="New status."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="New assignee; null unassigns."
    )
    due_on: date | None = strawberry.field(
        default=strawberry.UNSET, description="New due date; null clears it."
    )
    estimate_hours: float | None = strawberry.field(
        default=strawberry.UNSET, description="New estimate; null clears it."
    )
    internal_notes: str | None = input_field(
        HOST_MEMBER_OF_ENGAGEMENT,
        default=strawberry.UNSET,
        description="The host's own annotations.",
    )
    cost_cents: Money | None = input_field(
        HOST_FINANCE_OR_LEAD, default=strawberry.UNSET, description="Internal cost in minor units."
    )


@strawberry.input(description="A new thread, optionally with its first message.")
class CreateThreadInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    title: str = strawberry.field(description="Subject, 1 to 200 characters.")
    zone: Zone = strawberry.field(description="INTERNAL or SHARED.")
    body: str | None = strawberry.field(default=None, description="First message, if any.")


@strawberry.input(description="A message to post in a thread.")
class PostMessageInput:
    thread_id: strawberry.ID = strawberry.field(description="The thread.")
    body: str = strawberry.field(description="Text, 1 to 100,000 characters.")


@strawberry.input(description="A new document with its first version.")
class CreateDocumentInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    title: str = strawberry.field(description="Title, 1 to 200 characters.")
    zone: Zone = strawberry.field(description="INTERNAL or SHARED.")
    body: str = strawberry.field(default="", description="Body of version 1.")


@strawberry.input(description="A new version of a document.")
class CreateDocumentVersionInput:
    document_id: strawberry.ID = strawberry.field(description="The document.")
    body: str = strawberry.field(description="Body of the new version.")


@strawberry.input(description="A new milestone.")
class CreateMilestoneInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    title: str = strawberry.field(description="Title, 1 to 200 characters.")
    zone: Zone = strawberry.field(description="INTERNAL or SHARED.")
    due_on: date | None = strawberry.field(default=None, description="Due date.")


@strawberry.input(description="A new indicator (KPI).")
class CreateIndicatorInput:
    engagement_id: strawberry.ID = strawberry.field(description="The engagement.")
    name: str = strawberry.field(description="What is measured, 1 to 200 characters.")
    unit: str = strawberry.field(default="", description="Unit, at most 32 characters.")
    zone: Zone = strawberry.field(description="INTERNAL or SHARED.")
    target: float | None = strawberry.field(default=None, description="The value aimed for.")


@strawberry.input(description="A new value of an indicator.")
class SetIndicatorValueInput:
    indicator_id: strawberry.ID = strawberry.field(description="The indicator.")
    value: float = strawberry.field(description="The value, a finite number.")
