"""The audit events of changes to a tenant itself: `membrane tenants create`, `suspend`,
`resume` and `move`.

The catalog row lives in the default database, the tenant's chain in its own store. For a
pooled tenant the two are one database, and the event is appended in the transaction that
changes the catalog. For a bridge or silo tenant it is appended in the store, and the
commands order the two so that no change stands without its event: a new tenant becomes
ACTIVE only once its creation is recorded, a status change is undone when its event
cannot be written, and a move's event is part of the copy the catalog switches to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit.chain import Actor, Draft
from membrane.audit.models import AuditEvent
from membrane.audit.recorder import jsonable
from membrane.tenancy.catalog import CatalogEntry

TARGET_TYPE = "tenants"


def tenant_draft(
    action: str,
    actor: Actor,
    entry: CatalogEntry,
    operation: str,
    fields: dict[str, Any],
    **facts: Any,
) -> Draft:
    """An event naming the tenant, with its catalog row's changes as mutations list them
    (never its database URL, which is a secret)."""
    change = {"type": TARGET_TYPE, "id": str(entry.id), "op": operation, "fields": fields}
    return Draft(
        action=action,
        actor=actor,
        target_type=TARGET_TYPE,
        target_id=str(entry.id),
        details=jsonable({"changes": [change], **facts}),
    )


async def recorded(session: AsyncSession, entry: CatalogEntry, action: str) -> bool:
    """Whether the tenant's chain holds an event of `action`."""
    found = await session.scalar(
        select(AuditEvent.seq)
        .where(AuditEvent.tenant_id == entry.id, AuditEvent.action == action)
        .limit(1)
    )
    return found is not None
