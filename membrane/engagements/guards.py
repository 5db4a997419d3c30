"""Checks every change to an engagement goes through: what the viewer may see, and which
role it holds there. Services call them before they write anything."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.engagements import repository
from membrane.engagements.enums import WRITER_ROLES, EngagementRole
from membrane.engagements.models import Engagement, ZonedContent
from membrane.engagements.scope import VisibilityScope
from membrane.errors import ForbiddenError, InvalidInputError, NotFoundError
from membrane.tenancy.enums import TenantRole

ContentT = TypeVar("ContentT", bound=ZonedContent)


async def visible_engagement(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID, field: str
) -> Engagement:
    query = repository.engagements_by_ids(scope, [engagement_id])
    engagement: Engagement | None = (
        await session.scalars(query.statement, query.params)
    ).one_or_none()
    if engagement is None:
        raise NotFoundError("engagement not found", field=field)
    return engagement


async def role_in(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID
) -> EngagementRole | None:
    member = (
        await session.scalars(repository.membership(scope, engagement_id, scope.user_id))
    ).one_or_none()
    return None if member is None else EngagementRole(member.role)


async def require_writer(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID
) -> EngagementRole:
    role = await role_in(session, scope, engagement_id)
    if role not in WRITER_ROLES:
        raise ForbiddenError("only engagement leads and contributors may change its content")
    assert role is not None
    return role


async def require_lead(
    session: AsyncSession, scope: VisibilityScope, engagement: Engagement
) -> None:
    role = await role_in(session, scope, engagement.id)
    host_admin = scope.is_host and scope.principal.has_role(TenantRole.ADMIN)
    if role is not EngagementRole.LEAD and not host_admin:
        raise ForbiddenError("only an engagement lead may do this")


async def visible_content(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    content_id: uuid.UUID,
    field: str,
    *,
    for_update: bool = False,
) -> ContentT:
    """The row if the scope may see it, else NOT_FOUND. `for_update` locks it until the
    transaction ends (PostgreSQL), for writes that copy its zone or change it: a message
    posted while its thread is withdrawn then waits, and takes the zone the thread ends in."""
    query = repository.content_by_ids(scope, model, [content_id])
    statement = query.statement
    if for_update:
        assert isinstance(statement, Select)
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row: ContentT | None = (await session.scalars(statement, query.params)).one_or_none()
    if row is None:
        raise NotFoundError(f"{model.__name__.lower()} not found", field=field)
    return row


def check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInputError("endsOn must not be before startsOn", field="endsOn")


async def require_finance_or_lead(
    session: AsyncSession, scope: VisibilityScope, engagement_id: uuid.UUID, field: str
) -> None:
    """Money fields: the host's FINANCE role, or the engagement's host LEAD (as for reads)."""
    require_host_field(scope, field)
    if scope.principal.has_role(TenantRole.FINANCE):
        return
    if await role_in(session, scope, engagement_id) is not EngagementRole.LEAD:
        raise ForbiddenError(
            f"{field} may only be written by host finance or the engagement's lead", field=field
        )


def require_host_field(scope: VisibilityScope, field: str) -> None:
    if not scope.is_host:
        raise ForbiddenError(f"{field} may only be written by the host organization", field=field)
