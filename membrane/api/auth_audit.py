"""Audit events of sign-ins, token refreshes and exchanges, and sign-outs.

A success is recorded in the transaction that issues or revokes the tokens; a refusal,
once the tenant is known, in a short transaction of its own (nothing else is written).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from membrane.api.runtime import Runtime
from membrane.audit.chain import Draft
from membrane.audit.models import Outcome
from membrane.audit.requests import actor_of
from membrane.auth.federation.errors import SignInError
from membrane.tenancy.catalog import CatalogEntry

logger = logging.getLogger(__name__)
CLIENT = "auth"


def draft(
    request: Request,
    action: str,
    *,
    user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> Draft:
    return Draft(
        action=action,
        actor=actor_of(request, None, CLIENT, user_id=user_id, organization_id=organization_id),
        outcome=outcome,
        target_type=None if user_id is None else "users",
        target_id=None if user_id is None else str(user_id),
        target_organization_id=organization_id,
        details=details or {},
    )


async def record(
    runtime: Runtime, session: AsyncSession, tenant: CatalogEntry, event: Draft
) -> None:
    """In the caller's transaction."""
    await runtime.audit.append(session, tenant.id, [event])


async def record_refusal(
    runtime: Runtime,
    request: Request,
    tenant: CatalogEntry | None,
    action: str,
    error: SignInError,
    **details: Any,
) -> None:
    """A refused sign-in or token request, in a transaction of its own."""
    if tenant is None or error.status >= 500:
        return  # no tenant to record it in, or its store is unavailable
    event = draft(
        request,
        action,
        outcome=Outcome.DENIED,
        details={"reason": error.reason, **{k: str(v) for k, v in details.items() if v}},
    )
    try:
        store = runtime.stores.store_for(tenant)
        await runtime.audit.append_committed(store.sessions, tenant.id, [event])
    except Exception:
        logger.exception("the audit event of a refused %s could not be written", action)
