"""Mutations of engagements and content: each one input object, one payload, one transaction."""

from __future__ import annotations

from typing import Annotated

import strawberry

from membrane.api.context import Info
from membrane.api.engagements import inputs, payloads
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
from membrane.api.policies import HOST, SIGNED_IN, mutation
from membrane.api.relay import decode_global_id, decode_optional_global_id
from membrane.api.tenancy.types import Organization
from membrane.api.transactions import in_transaction
from membrane.engagements import content_writes, invitations, writes

INPUT = "What to change; see the input type."


@strawberry.type
class EngagementMutations:
    @mutation(HOST, description="Create an engagement; its creator becomes its LEAD.")
    async def create_engagement(
        self,
        info: Info,
        input: Annotated[inputs.CreateEngagementInput, strawberry.argument(description=INPUT)],
    ) -> payloads.CreateEngagementPayload | None:
        ctx = info.context
        data = writes.NewEngagement(
            name=input.name,
            description=input.description,
            status=input.status,
            starts_on=input.starts_on,
            ends_on=input.ends_on,
            budget_cents=input.budget_cents,
        )
        row = await in_transaction(
            ctx, lambda: writes.create_engagement(ctx.session, ctx.scope, data)
        )
        return payloads.CreateEngagementPayload(engagement=Engagement.from_row(row))

    @mutation(HOST, description="Add a partner organization to an engagement (its host LEAD).")
    async def add_participant(
        self,
        info: Info,
        input: Annotated[inputs.AddParticipantInput, strawberry.argument(description=INPUT)],
    ) -> payloads.AddParticipantPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        organization_id = decode_global_id(
            input.organization_id, expected="Organization", field="organizationId"
        )
        engagement, organization = await in_transaction(
            ctx,
            lambda: writes.add_participant(
                ctx.session, ctx.scope, engagement_id=engagement_id, organization_id=organization_id
            ),
        )
        return payloads.AddParticipantPayload(
            engagement=Engagement.from_row(engagement),
            organization=Organization.from_row(organization),
        )

    @mutation(SIGNED_IN, description="Add a member to an engagement (engagement lead).")
    async def add_member(
        self,
        info: Info,
        input: Annotated[inputs.AddMemberInput, strawberry.argument(description=INPUT)],
    ) -> payloads.AddMemberPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        user_id = decode_global_id(input.user_id, expected="User", field="userId")
        membership = await in_transaction(
            ctx,
            lambda: writes.add_member(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                user_id=user_id,
                role=input.role,
            ),
        )
        engagement = await ctx.engagements.engagement_by_id.load(engagement_id)
        assert engagement is not None
        return payloads.AddMemberPayload(
            engagement=Engagement.from_row(engagement),
            member=EngagementMember.from_row(membership),
        )

    @mutation(
        SIGNED_IN, description="Invite people of a partner organization by email (engagement lead)."
    )
    async def invite_to_engagement(
        self,
        info: Info,
        input: Annotated[inputs.InviteToEngagementInput, strawberry.argument(description=INPUT)],
    ) -> payloads.InviteToEngagementPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        organization_id = decode_global_id(
            input.organization_id, expected="Organization", field="organizationId"
        )
        organization, invited = await in_transaction(
            ctx,
            lambda: invitations.invite(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                organization_id=organization_id,
                emails=input.emails,
                role=input.role,
            ),
        )
        engagement = await ctx.engagements.engagement_by_id.load(engagement_id)
        assert engagement is not None
        return payloads.InviteToEngagementPayload(
            engagement=Engagement.from_row(engagement),
            organization=Organization.from_row(organization),
            invitations=[
                payloads.Invitation(email=i.email, role=i.role, expires_at=i.expires_at)
                for i in invited
            ],
        )

    @mutation(SIGNED_IN, description="Create a task (engagement leads and contributors).")
    async def create_task(
        self,
        info: Info,
        input: Annotated[inputs.CreateTaskInput, strawberry.argument(description=INPUT)],
    ) -> payloads.TaskPayload | None:
        ctx = info.context
        data = content_writes.NewTask(
            engagement_id=decode_global_id(
                input.engagement_id, expected="Engagement", field="engagementId"
            ),
            title=input.title,
            zone=input.zone,
            description=input.description,
            status=input.status,
            assignee_id=decode_optional_global_id(
                input.assignee_id, expected="User", field="assigneeId"
            ),
            due_on=input.due_on,
            estimate_hours=input.estimate_hours,
            internal_notes=input.internal_notes,
            cost_cents=input.cost_cents,
        )
        row = await in_transaction(
            ctx, lambda: content_writes.create_task(ctx.session, ctx.scope, data)
        )
        return payloads.TaskPayload(task=Task.from_row(row))

    @mutation(SIGNED_IN, description="Change a task; omitted fields keep their value.")
    async def update_task(
        self,
        info: Info,
        input: Annotated[inputs.UpdateTaskInput, strawberry.argument(description=INPUT)],
    ) -> payloads.TaskPayload | None:
        ctx = info.context
        task_id = decode_global_id(input.id, expected="Task", field="id")
        given = {
            name
            for name in (
                "title",
                "description",
                "status",
                "assignee_id",
                "due_on",
                "estimate_hours",
                "internal_notes",
                "cost_cents",
            )
            if getattr(input, name) is not strawberry.UNSET
        }
        changes = content_writes.TaskChanges(
            given=frozenset(given),
            title=None if "title" not in given else input.title,
            description=None if "description" not in given else input.description,
            status=None if "status" not in given else input.status,
            assignee_id=(
                decode_optional_global_id(input.assignee_id, expected="User", field="assigneeId")
                if "assignee_id" in given
                else None
            ),
            due_on=None if "due_on" not in given else input.due_on,
            estimate_hours=None if "estimate_hours" not in given else input.estimate_hours,
            internal_notes=None if "internal_notes" not in given else input.internal_notes,
            cost_cents=None if "cost_cents" not in given else input.cost_cents,
        )
        row = await in_transaction(
            ctx, lambda: content_writes.update_task(ctx.session, ctx.scope, task_id, changes)
        )
        return payloads.TaskPayload(task=Task.from_row(row))

    @mutation(SIGNED_IN, description="Start a thread, optionally with a first message.")
    async def create_thread(
        self,
        info: Info,
        input: Annotated[inputs.CreateThreadInput, strawberry.argument(description=INPUT)],
    ) -> payloads.CreateThreadPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        row = await in_transaction(
            ctx,
            lambda: content_writes.create_thread(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                title=input.title,
                zone=input.zone,
                body=input.body,
            ),
        )
        return payloads.CreateThreadPayload(thread=Thread.from_row(row))

    @mutation(SIGNED_IN, description="Post a message in a thread.")
    async def post_message(
        self,
        info: Info,
        input: Annotated[inputs.PostMessageInput, strawberry.argument(description=INPUT)],
    ) -> payloads.PostMessagePayload | None:
        ctx = info.context
        thread_id = decode_global_id(input.thread_id, expected="Thread", field="threadId")
        row = await in_transaction(
            ctx,
            lambda: content_writes.post_message(
                ctx.session, ctx.scope, thread_id=thread_id, body=input.body
            ),
        )
        return payloads.PostMessagePayload(message=Message.from_row(row))

    @mutation(SIGNED_IN, description="Create a document with its first version.")
    async def create_document(
        self,
        info: Info,
        input: Annotated[inputs.CreateDocumentInput, strawberry.argument(description=INPUT)],
    ) -> payloads.DocumentPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )

        document, version = await in_transaction(
            ctx,
            lambda: content_writes.create_document(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                title=input.title,
                zone=input.zone,
                body=input.body,
            ),
        )
        return payloads.DocumentPayload(
            document=Document.from_row(document), version=DocumentVersion.from_row(version)
        )

    @mutation(SIGNED_IN, description="Save a new version of a document.")
    async def create_document_version(
        self,
        info: Info,
        input: Annotated[inputs.CreateDocumentVersionInput, strawberry.argument(description=INPUT)],
    ) -> payloads.DocumentPayload | None:
        ctx = info.context
        document_id = decode_global_id(input.document_id, expected="Document", field="documentId")
        document, version = await in_transaction(
            ctx,
            lambda: content_writes.create_document_version(
                ctx.session, ctx.scope, document_id=document_id, body=input.body
            ),
        )
        return payloads.DocumentPayload(
            document=Document.from_row(document), version=DocumentVersion.from_row(version)
        )

    @mutation(SIGNED_IN, description="Create a milestone.")
    async def create_milestone(
        self,
        info: Info,
        input: Annotated[inputs.CreateMilestoneInput, strawberry.argument(description=INPUT)],
    ) -> payloads.CreateMilestonePayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        row = await in_transaction(
            ctx,
            lambda: content_writes.create_milestone(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                title=input.title,
                zone=input.zone,
                due_on=input.due_on,
            ),
        )
        return payloads.CreateMilestonePayload(milestone=Milestone.from_row(row))

    @mutation(SIGNED_IN, description="Create an indicator (KPI).")
    async def create_indicator(
        self,
        info: Info,
        input: Annotated[inputs.CreateIndicatorInput, strawberry.argument(description=INPUT)],
    ) -> payloads.IndicatorPayload | None:
        ctx = info.context
        engagement_id = decode_global_id(
            input.engagement_id, expected="Engagement", field="engagementId"
        )
        row = await in_transaction(
            ctx,
            lambda: content_writes.create_indicator(
                ctx.session,
                ctx.scope,
                engagement_id=engagement_id,
                name=input.name,
                unit=input.unit,
                zone=input.zone,
                target=input.target,
            ),
        )
        return payloads.IndicatorPayload(indicator=Indicator.from_row(row))

    @mutation(SIGNED_IN, description="Record a new value of an indicator.")
    async def set_indicator_value(
        self,
        info: Info,
        input: Annotated[inputs.SetIndicatorValueInput, strawberry.argument(description=INPUT)],
    ) -> payloads.IndicatorPayload | None:
        ctx = info.context
        indicator_id = decode_global_id(
            input.indicator_id, expected="Indicator", field="indicatorId"
        )
        row = await in_transaction(
            ctx,
            lambda: content_writes.set_indicator_value(
                ctx.session, ctx.scope, indicator_id=indicator_id, value=input.value
            ),
        )
        return payloads.IndicatorPayload(indicator=Indicator.from_row(row))
