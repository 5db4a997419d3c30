"""Membrane's refresh tokens: opaque, stored as SHA-256, rotated on every use.

A token reads `<tenant slug>.<random>`: the slug says which tenant store holds it, the
random part (256 bits) is the secret. Presenting a token that was already used revokes its
whole family (the sign-in it descends from), since one of the two holders has a copy it
should not have (OAuth 2.0 Security BCP, section 4.14). Suspending a user or an
organization revokes their tokens (`revoke_user`, `revoke_organization`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.auth.federation.errors import SignInError
from membrane.auth.models import RefreshToken
from membrane.db.base import utcnow
from membrane.tenancy.catalog import DNS_LABEL
from membrane.tenancy.enums import OrganizationStatus, UserStatus
from membrane.tenancy.models import Organization, User

_MAX_LENGTH = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tenant_slug_of(token: str) -> str:
    """The tenant a refresh token belongs to, or `SignInError` for a malformed token."""
    slug, _, secret = token.partition(".")
    if len(token) > _MAX_LENGTH or not DNS_LABEL.fullmatch(slug) or len(secret) < 32:
        raise _invalid("malformed_refresh_token", "the refresh token is malformed")
    return slug


def _invalid(reason: str, message: str) -> SignInError:
    return SignInError(reason, message, status=400, error="invalid_grant")


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    token: str
    user_id: uuid.UUID
    organization_id: uuid.UUID
    expires_at: datetime


async def issue(
    session: AsyncSession,
    *,
    tenant_slug: str,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    organization_id: uuid.UUID,
    ttl_seconds: int,
    family_max_age_seconds: int,
    family: RefreshToken | None = None,
) -> IssuedRefreshToken:
    """A new token: of a new family (a sign-in), or the next of `family`'s."""
    now = utcnow()
    family_expires_at = (
        family.family_expires_at
        if family is not None
        else now + timedelta(seconds=family_max_age_seconds)
    )
    expires_at = min(now + timedelta(seconds=ttl_seconds), family_expires_at)
    token = f"{tenant_slug}.{secrets.token_urlsafe(32)}"
    session.add(
        RefreshToken(
            tenant_id=tenant_id,
            user_id=user_id,
            organization_id=organization_id,
            family_id=family.family_id if family is not None else uuid.uuid4(),
            token_hash=token_hash(token),
            expires_at=expires_at,
            family_expires_at=family_expires_at,
        )
    )
    await session.flush()
    return IssuedRefreshToken(token, user_id, organization_id, expires_at)


async def _revoke(session: AsyncSession, *conditions: object) -> int:
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.revoked_at.is_(None), *conditions)  # type: ignore[arg-type]
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_family_of(session: AsyncSession, token: str) -> RefreshToken | None:
    """Sign out: revoke the token's family; the token's row, or None when it is unknown."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(token))
    )
    if row is None:
        return None
    await _revoke(session, RefreshToken.family_id == row.family_id)
    return row


async def revoke_user(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await _revoke(session, RefreshToken.user_id == user_id)


async def revoke_organization(session: AsyncSession, organization_id: uuid.UUID) -> int:
    return await _revoke(session, RefreshToken.organization_id == organization_id)


@dataclass(frozen=True, slots=True)
class Rotation:
    """What presenting a refresh token led to: `next` on success; `refused` otherwise (the
    caller commits either way, so a detected reuse stays revoked)."""

    next: IssuedRefreshToken | None
    refused: SignInError | None


async def rotate(
    session: AsyncSession,
    token: str,
    *,
    tenant_slug: str,
    ttl_seconds: int,
    reuse_grace_seconds: int = 0,
) -> Rotation:
    """The next token of the family, or why not. A token used again within
    `reuse_grace_seconds` of its first use (two tabs refreshing at once) gets a successor
    too; later, the use is taken for a stolen copy and the family is revoked."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(token))
    )
    if row is None:
        return Rotation(None, _invalid("unknown_refresh_token", "the refresh token is unknown"))
    if row.revoked_at is not None:
        return Rotation(None, _invalid("refresh_token_revoked", "the refresh token was revoked"))
    now = utcnow()
    # Marking it used only if nobody did first: of two concurrent uses, one is a reuse.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    first_use = row.used_at or now  # None: another request used it in the meantime
    concurrent = 0 < reuse_grace_seconds >= (now - first_use).total_seconds()
    if claimed.rowcount != 1 and not concurrent:  # type: ignore[attr-defined]
        await _revoke(session, RefreshToken.family_id == row.family_id)
        return Rotation(
            None,
            _invalid(
                "refresh_token_reused",
                "the refresh token was already used; its sign-in has been revoked",
            ),
        )
    if min(row.expires_at, row.family_expires_at) <= now:
        return Rotation(None, _invalid("refresh_token_expired", "the refresh token has expired"))
    status = (
        await session.execute(
            select(User.status, Organization.status)
            .join(Organization, Organization.id == User.organization_id)
            .where(User.id == row.user_id)
        )
    ).one_or_none()
    if status is None or status[0] != UserStatus.ACTIVE:
        await _revoke(session, RefreshToken.family_id == row.family_id)
        return Rotation(None, _invalid("user_suspended", "the user may no longer sign in"))
    if status[1] != OrganizationStatus.ACTIVE:
        await _revoke(session, RefreshToken.family_id == row.family_id)
        return Rotation(None, _invalid("organization_suspended", "the organization is suspended"))
    issued = await issue(
        session,
        tenant_slug=tenant_slug,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        organization_id=row.organization_id,
        ttl_seconds=ttl_seconds,
        family_max_age_seconds=0,
        family=row,
    )
    return Rotation(issued, None)
