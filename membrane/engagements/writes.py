"""Changes to engagements themselves: creating them, their participants and members.
Services validate and flush; the caller commits (content: `content_writes`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.engagements import repository
from membrane.engagements.enums import EngagementRole, EngagementStatus
from membrane.engagements.guards import check_dates, require_lead, visible_engagement
from membrane.engagements.models import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    Engagement,
    Membership,
    Participant,
)
from membrane.engagements.scope import VisibilityScope
from membrane.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    check_not_negative,
    check_text,
)
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus, UserStatus
from membrane.tenancy.models import Organization


@dataclass(frozen=True, slots=True)
class NewEngagement:
    name: str
    description: str = ""
    status: EngagementStatus = EngagementStatus.PLANNED
    starts_on: date | None = None
    ends_on: date | None = None
    budget_cents: int | None = None


async def create_engagement(
    session: AsyncSession, scope: VisibilityScope, data: NewEngagement
) -> Engagement:
    """Host members create engagements; the creator becomes its first lead."""
    if not scope.is_host:
        raise ForbiddenError("only members of the host organization may create engagements")
    check_not_negative(data.budget_cents, field="budgetCents")
    check_dates(data.starts_on, data.ends_on)
    engagement = Engagement(
        tenant_id=scope.tenant_id,
        host_organization_id=scope.organization_id,
        name=check_text(data.name, field="name", max_length=TITLE_MAX),
        description=check_text(
            data.description, field="description", max_length=DESCRIPTION_MAX, required=False
        ),
        status=data.status,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        budget_cents=data.budget_cents,
    )
    session.add(engagement)
    await session.flush()
    session.add(
        Participant(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            organization_id=scope.organization_id,
        )
    )
    session.add(
        Membership(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            user_id=scope.user_id,
            organization_id=scope.organization_id,
            role=EngagementRole.LEAD,
        )
    )
    await session.flush()
    return engagement


async def add_participant(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    organization_id: uuid.UUID,
) -> tuple[Engagement, Organization]:
    engagement = await visible_engagement(session, scope, engagement_id, "engagementId")
    if not scope.is_host:
        raise ForbiddenError("only the host organization may add participants")
    await require_lead(session, scope, engagement)
    organization = (
        await session.scalars(repository.organization_in_tenant(scope, organization_id))
    ).one_or_none()
    if organization is None:
        raise NotFoundError("organization not found", field="organizationId")
    if organization.kind is not OrganizationKind.PARTNER:
        raise InvalidInputError("only partner organizations can be added", field="organizationId")
    if organization.status is not OrganizationStatus.ACTIVE:
        raise InvalidInputError("the organization is suspended", field="organizationId")
    existing = await session.scalars(repository.participant(scope, engagement.id, organization.id))
    if existing.one_or_none() is not None:
        raise ConflictError("the organization already takes part", field="organizationId")
    session.add(
        Participant(
            tenant_id=scope.tenant_id,
            engagement_id=engagement.id,
            organization_id=organization.id,
        )
    )
    await session.flush()
    return engagement, organization


async def add_member(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    user_id: uuid.UUID,
    role: EngagementRole,
) -> Membership:
    """Leads add members; a partner's lead may add only people of its own organization."""
    engagement = await visible_engagement(session, scope, engagement_id, "engagementId")
    await require_lead(session, scope, engagement)
    user = (await session.scalars(repository.user_in_tenant(scope, user_id))).one_or_none()
    if user is None:
        raise NotFoundError("user not found", field="userId")
    if not scope.is_host and user.organization_id != scope.organization_id:
        raise ForbiddenError("a partner lead may only add people of its own organization")
    if user.status is not UserStatus.ACTIVE:
        raise InvalidInputError("the user is not active", field="userId")
    participant = await session.scalars(
        repository.participant(scope, engagement.id, user.organization_id)
    )
    if participant.one_or_none() is None:
        raise InvalidInputError(
            "the user's organization does not take part in the engagement", field="userId"
        )
    existing = await session.scalars(repository.membership(scope, engagement.id, user.id))
    if existing.one_or_none() is not None:
        raise ConflictError("the user is already a member", field="userId")
    membership = Membership(
        tenant_id=scope.tenant_id,
        engagement_id=engagement.id,
        user_id=user.id,
        organization_id=user.organization_id,
        role=role,
    )
    session.add(membership)
    await session.flush()
    return membership
