"""The actor of an HTTP request: who (from the principal or the token) and from where."""

from __future__ import annotations

import uuid

from starlette.requests import Request

from membrane.audit.chain import Actor
from membrane.auth.principal import Principal


def actor_of(
    request: Request,
    principal: Principal | None = None,
    client: str = "graphql",
    *,
    user_id: uuid.UUID | None = None,
    organization_id: uuid.UUID | None = None,
) -> Actor:
    return Actor(
        user_id=principal.user_id if principal else user_id,
        organization_id=principal.organization_id if principal else organization_id,
        client=client,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
