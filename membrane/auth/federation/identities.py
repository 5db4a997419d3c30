"""From a provider's verified claims to a Membrane user.

A person is identified by the provider's issuer and their subject there, never by email:
an email renamed at the provider changes the user's email, not who they are. Someone the
provider vouches for but Membrane does not know yet is provisioned just in time only when
an invitation to their email is pending in the provider's organization, or when the email's
domain is a verified domain of that organization; otherwise nothing is created. An email
counts only when the provider marks it verified (`email_verified: true`) or the provider is
registered with `trust_email`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation.errors import SignInError
from membrane.auth.federation.models import IdentityProvider, Invitation
from membrane.db.base import utcnow
from membrane.engagements.models import Membership
from membrane.tenancy.enums import OrganizationStatus, TenantRole, UserStatus
from membrane.tenancy.models import (
    EMAIL_MAX,
    NAME_MAX,
    Organization,
    OrganizationDomain,
    User,
    UserRole,
)


def _claim_text(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _email(claims: dict[str, Any], provider: IdentityProvider) -> str | None:
    email = _claim_text(claims, provider.email_claim, EMAIL_MAX + 1)
    if email is None:
        return None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > EMAIL_MAX:
        return None
    return email.lower()


def _roles(claims: dict[str, Any], provider: IdentityProvider) -> set[TenantRole] | None:
    """The tenant roles the groups claim maps to; None when the provider maps no groups."""
    if not provider.groups_claim or not provider.role_mapping:
        return None
    groups = claims.get(provider.groups_claim)
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return set()
    return {
        TenantRole(provider.role_mapping[group])
        for group in groups
        if isinstance(group, str) and group in provider.role_mapping
    }


async def _pending_invitations(
    session: AsyncSession, organization_id: uuid.UUID, email: str, now: datetime
) -> list[Invitation]:
    return list(
        (
            await session.scalars(
                select(Invitation).where(
                    Invitation.organization_id == organization_id,
                    Invitation.email == email,
                    Invitation.accepted_at.is_(None),
                    Invitation.expires_at > now,
                )
            )
        ).all()
    )


async def _accept(session: AsyncSession, user: User, invitations: list[Invitation]) -> None:
    now = utcnow()
    for invitation in invitations:
        invitation.accepted_at = now
        invitation.user_id = user.id
        member = await session.get(Membership, (invitation.engagement_id, user.id))
        if member is None:
            session.add(
                Membership(
                    tenant_id=user.tenant_id,
                    engagement_id=invitation.engagement_id,
                    user_id=user.id,
                    organization_id=user.organization_id,
                    role=invitation.role,
                )
            )
    await session.flush()


async def _set_roles(session: AsyncSession, user: User, roles: set[TenantRole]) -> None:
    await session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    for role in sorted(roles):
        session.add(UserRole(tenant_id=user.tenant_id, user_id=user.id, role=role))
    await session.flush()


async def user_for_identity(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    provider: IdentityProvider,
    organization: Organization,
    claims: dict[str, Any],
) -> User:
    """The user the claims speak for (updated from them), provisioned if allowed, or
    `SignInError`."""
    if organization.status is not OrganizationStatus.ACTIVE:
        raise SignInError("organization_suspended", "the organization is suspended", status=403)
    subject = str(claims["sub"])
    if not subject or len(subject) > 255:
        raise SignInError("missing_claim", "the subject claim is empty or too long")
    email = _email(claims, provider)
    name = _claim_text(claims, provider.name_claim, NAME_MAX)
    roles = _roles(claims, provider)
    # An email decides who may be provisioned and which invitations are accepted, so it
    # counts only when the provider vouches for it (or the admin trusts the provider).
    trusted = email is not None and (provider.trust_email or claims.get("email_verified") is True)
    now = utcnow()
    user = await session.scalar(
        select(User).where(
            User.tenant_id == tenant_id,
            User.issuer == provider.issuer,
            User.subject == subject,
        )
    )
    if user is not None:
        if user.organization_id != organization.id:
            raise SignInError(
                "identity_of_another_organization",
                "this identity belongs to another organization",
                status=403,
            )
        if user.status is not UserStatus.ACTIVE:
            raise SignInError("user_suspended", "the user may no longer sign in", status=403)
        if trusted and email is not None:
            user.email = email
        if name is not None:
            user.display_name = name
    else:
        if email is None:
            raise SignInError(
                "missing_email",
                "the identity provider sent no usable email; nobody was provisioned",
                status=403,
            )
        if not trusted:
            raise SignInError(
                "email_not_verified",
                "the identity provider has not verified this email; nobody was provisioned",
                status=403,
            )
        domain = email.rpartition("@")[2]
        verified = await session.scalar(
            select(OrganizationDomain.id).where(
                OrganizationDomain.organization_id == organization.id,
                OrganizationDomain.domain == domain,
                OrganizationDomain.verified_at.is_not(None),
            )
        )
        if verified is None and not await _pending_invitations(
            session, organization.id, email, now
        ):
            raise SignInError(
                "provisioning_not_allowed",
                f"{domain} is not a verified domain of {organization.slug} and no "
                "invitation is pending for this email; nobody was provisioned",
                status=403,
            )
        user = User(
            tenant_id=tenant_id,
            organization_id=organization.id,
            issuer=provider.issuer,
            subject=subject,
            email=email,
            display_name=name or email,
            status=UserStatus.ACTIVE,
        )
        session.add(user)
    await session.flush()
    if roles is not None:
        await _set_roles(session, user, roles)
    if trusted and email is not None:
        await _accept(
            session, user, await _pending_invitations(session, organization.id, email, now)
        )
    return user
