"""Moving content between the zones of its engagement (`publishToShared`,
`withdrawToInternal`).

A task, thread, document, milestone or indicator moves together with the rows that belong
to it (a thread's messages, a document's versions, an indicator's values), which carry
their parent's zone so every row stays checkable on its own (decision 0001). Only leads and
contributors of the organization that owns the item may move it; every rule is checked
before anything is written. The service flushes; the caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from membrane.db.base import utcnow
from membrane.engagements import repository
from membrane.engagements.enums import Zone
from membrane.engagements.guards import require_writer, visible_content
from membrane.engagements.models import (
    ITEMS,
    Document,
    DocumentVersion,
    Indicator,
    IndicatorValue,
    Message,
    Task,
    Thread,
    ZonedContent,
)
from membrane.engagements.scope import VisibilityScope
from membrane.errors import ConflictError, ForbiddenError

ContentT = TypeVar("ContentT", bound=ZonedContent)

# Where the input's id is reported (the API prefixes the argument: `input.id`).
FIELD = "id"

# The kinds of content that move, each with the rows that belong to it and move along.
_Children = tuple[type[ZonedContent], InstrumentedAttribute[uuid.UUID]]
_CHILDREN: dict[type[ZonedContent], _Children] = {
    Thread: (Message, Message.thread_id),
    Document: (DocumentVersion, DocumentVersion.document_id),
    Indicator: (IndicatorValue, IndicatorValue.indicator_id),
}
MOVABLE = ITEMS


@dataclass(frozen=True, slots=True)
class ZoneMove(Generic[ContentT]):
    """The item as it is after the call, and whether the call changed its zone (`False`
    when it already was in the target zone: nothing was written)."""

    row: ContentT
    moved: bool


async def move_to_zone(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ContentT],
    content_id: uuid.UUID,
    zone: Zone,
) -> ZoneMove[ContentT]:
    """Move one item, with the rows that belong to it, to `zone` of its engagement.

    An item the viewer cannot see answers NOT_FOUND, exactly like a missing one; an item of
    another organization, or a viewer who is not LEAD or CONTRIBUTOR of the engagement,
    answers FORBIDDEN. Moving an item to the zone it is in already changes nothing.
    """
    if model not in MOVABLE:
        raise ValueError(f"{model.__name__} does not move on its own")
    row = await visible_content(session, scope, model, content_id, FIELD, for_update=True)
    await _require_mover(session, scope, row)
    if row.zone == zone:
        return ZoneMove(row=row, moved=False)
    if zone is Zone.INTERNAL and isinstance(row, Task):
        await _require_assignee_of_owner(session, scope, row)
    await _set_zone(session, scope, model, row.id, zone)
    await _set_children_zone(session, scope, model, row.id, zone)
    await session.flush()
    return ZoneMove(row=row, moved=True)


async def _require_mover(session: AsyncSession, scope: VisibilityScope, row: ZonedContent) -> None:
    """The viewer's organization owns the item, and the viewer leads or contributes to its
    engagement."""
    if row.owner_organization_id != scope.organization_id:
        raise ForbiddenError(
            "only the organization that owns an item may move it between zones", field=FIELD
        )
    await require_writer(session, scope, row.engagement_id)


async def _require_assignee_of_owner(
    session: AsyncSession, scope: VisibilityScope, task: Task
) -> None:
    """An internal task is assigned within its organization only (as on create and update):
    a task assigned to someone of another organization is reassigned before it is withdrawn,
    or its assignee would lose sight of it."""
    if task.assignee_id is None:
        return
    member = (
        await session.scalars(repository.membership(scope, task.engagement_id, task.assignee_id))
    ).one_or_none()
    if member is not None and member.organization_id != task.owner_organization_id:
        raise ConflictError(
            "the task is assigned to someone of another organization; reassign it within "
            "the owning organization before withdrawing it",
            field=FIELD,
        )


async def _set_zone(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ZonedContent],
    content_id: uuid.UUID,
    zone: Zone,
) -> None:
    """The item's own row; a model that records changes (`updated_at`) records this one."""
    values: dict[str, Any] = {"zone": zone}
    if "updated_at" in inspect(model).columns:
        values["updated_at"] = utcnow()
    await session.execute(
        update(model)
        .where(model.tenant_id == scope.tenant_id, model.id == content_id)
        .values(**values)
    )


async def _set_children_zone(
    session: AsyncSession,
    scope: VisibilityScope,
    model: type[ZonedContent],
    content_id: uuid.UUID,
    zone: Zone,
) -> None:
    """The rows that belong to the item (none for tasks and milestones)."""
    children = _CHILDREN.get(model)
    if children is None:
        return
    child, parent_column = children
    await session.execute(
        update(child)
        .where(child.tenant_id == scope.tenant_id, parent_column == content_id)
        .values(zone=zone)
    )
