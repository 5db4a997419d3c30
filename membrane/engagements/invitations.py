"""Invitations: an engagement lead invites people of a participant organization by email.

A host lead may invite any active partner organization (it joins the engagement as a
participant); a partner lead only people of its own organization. Nobody is created here:
the first sign-in through the organization's identity provider with an invited email
provisions the person, binds them to the provider's issuer and subject, and makes them a
member with the invited role (`membrane.auth.federation.identities`).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation.models import Invitation
from membrane.db.base import utcnow
from membrane.engagements import repository
from membrane.engagements.enums import EngagementRole
from membrane.engagements.guards import require_lead, visible_engagement
from membrane.engagements.models import Participant
from membrane.engagements.scope import VisibilityScope
from membrane.errors import ForbiddenError, InvalidInputError, NotFoundError
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus
from membrane.tenancy.models import EMAIL_MAX, Organization

INVITATION_TTL = timedelta(days=14)
MAX_EMAILS = 50
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_emails(raw: list[str]) -> list[str]:
    if not raw or len(raw) > MAX_EMAILS:
        raise InvalidInputError(f"give 1 to {MAX_EMAILS} emails", field="emails")
    emails: list[str] = []
    for index, value in enumerate(raw):
        email = value.strip()
        if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
            raise InvalidInputError(f"{value!r} is not an email address", field=f"emails.{index}")
        email = email.lower()  # as users' emails are kept
        if email not in emails:
            emails.append(email)
    return emails


async def invite(
    session: AsyncSession,
    scope: VisibilityScope,
    *,
    engagement_id: uuid.UUID,
    organization_id: uuid.UUID,
    emails: list[str],
    role: EngagementRole,
) -> tuple[Organization, list[Invitation]]:
    engagement = await visible_engagement(session, scope, engagement_id, "engagementId")
    await require_lead(session, scope, engagement)
    checked = _check_emails(emails)
    organization = (
        await session.scalars(repository.organization_in_tenant(scope, organization_id))
    ).one_or_none()
    if organization is None:
        raise NotFoundError("organization not found", field="organizationId")
    if not scope.is_host and organization.id != scope.organization_id:
        raise ForbiddenError("a partner lead may only invite people of its own organization")
    if organization.status is not OrganizationStatus.ACTIVE:
        raise InvalidInputError("the organization is suspended", field="organizationId")
    taking_part = (
        await session.scalars(repository.participant(scope, engagement.id, organization.id))
    ).one_or_none()
    if taking_part is None:
        if organization.kind is not OrganizationKind.PARTNER:
            raise InvalidInputError(
                "the organization does not take part in the engagement", field="organizationId"
            )
        session.add(
            Participant(
                tenant_id=scope.tenant_id,
                engagement_id=engagement.id,
                organization_id=organization.id,
            )
        )
    now = utcnow()
    invitations: list[Invitation] = []
    for email in checked:
        pending = await session.scalar(
            select(Invitation).where(
                Invitation.engagement_id == engagement.id,
                Invitation.organization_id == organization.id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
            )
        )
        if pending is None:
            pending = Invitation(
                tenant_id=scope.tenant_id,
                organization_id=organization.id,
                engagement_id=engagement.id,
                email=email,
                invited_by_id=scope.user_id,
                role=role,
                expires_at=now + INVITATION_TTL,
            )
            session.add(pending)
        else:  # inviting again renews the invitation (and may change the role)
            pending.role = role
            pending.expires_at = now + INVITATION_TTL
        invitations.append(pending)
    await session.flush()
    return organization, invitations
