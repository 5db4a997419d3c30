"""Which tenant a request is for, and whether it may be served.

The tenant is named by the host name (`{slug}.MEMBRANE_TENANT_DOMAIN`) or by the
`MEMBRANE_TENANT_HEADER` header, as `MEMBRANE_TENANT_SOURCE` says; with the header source
and no header, the token's tenant is meant. The named tenant must be the token's tenant,
must exist and must be active.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request

from membrane.api.runtime import Runtime
from membrane.config import TenantSource
from membrane.errors import ErrorCode
from membrane.tenancy import catalog
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.enums import TenantStatus


class TenantRefusedError(Exception):
    def __init__(self, status: int, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def named_tenant(request: Request, runtime: Runtime) -> str | None:
    """The slug (or id) the request names, or None when it names none."""
    settings = runtime.settings
    if settings.tenant_source is TenantSource.HOST:
        host = request.headers.get("host", "").rsplit(":", 1)[0].strip().lower().rstrip(".")
        suffix = f".{settings.tenant_domain}"
        label = host[: -len(suffix)] if host.endswith(suffix) else ""
        if not label or "." in label:
            raise TenantRefusedError(
                404, ErrorCode.NOT_FOUND, f"no tenant is served at the host name {host!r}"
            )
        return label
    return request.headers.get(settings.tenant_header) or None


async def _lookup(runtime: Runtime, key: str | uuid.UUID) -> CatalogEntry | None:
    cache = runtime.catalog
    cached = cache.by_id(key) if isinstance(key, uuid.UUID) else cache.by_slug(key)
    if cached is not None:
        return cached
    generation = cache.generation
    # The catalog has no row-level policy: this session needs no tenant setting.
    async with runtime.stores.default.read_sessions() as session:
        if isinstance(key, uuid.UUID):
            entry = await catalog.entry_by_id(session, key)
        else:
            entry = await catalog.entry_by_slug(session, key)
    if entry is not None:
        cache.put(entry, generation)
    return entry


async def resolve_tenant(
    request: Request, runtime: Runtime, token_tenant: uuid.UUID
) -> CatalogEntry:
    named = named_tenant(request, runtime)
    if named is None:
        entry = await _lookup(runtime, token_tenant)
        if entry is None:
            raise TenantRefusedError(
                401, ErrorCode.UNAUTHENTICATED, "Not authenticated: the token's tenant is unknown"
            )
    else:
        try:
            key: str | uuid.UUID = uuid.UUID(named)
        except ValueError:
            key = named.lower()
        entry = await _lookup(runtime, key)
        if entry is None:
            raise TenantRefusedError(404, ErrorCode.NOT_FOUND, f"unknown tenant {named!r}")
        if entry.id != token_tenant:
            raise TenantRefusedError(
                403, ErrorCode.FORBIDDEN, "the token belongs to another tenant"
            )
    return check_status(entry)


def check_status(entry: CatalogEntry) -> CatalogEntry:
    """The entry, if its tenant may be served now."""
    if entry.status is TenantStatus.SUSPENDED:
        raise TenantRefusedError(403, ErrorCode.FORBIDDEN, f"tenant {entry.slug!r} is suspended")
    if entry.status is TenantStatus.PROVISIONING:
        raise TenantRefusedError(
            503, ErrorCode.UNAVAILABLE, f"tenant {entry.slug!r} is still being provisioned"
        )
    if entry.status is TenantStatus.MOVING:
        raise TenantRefusedError(
            503, ErrorCode.UNAVAILABLE, f"tenant {entry.slug!r} is moving to another store"
        )
    return entry


async def tenant_by_slug(runtime: Runtime, slug: str) -> CatalogEntry:
    """A tenant named without a token (sign-in, refresh): it must exist and be served."""
    entry = await _lookup(runtime, slug.lower())
    if entry is None:
        raise TenantRefusedError(404, ErrorCode.NOT_FOUND, f"unknown tenant {slug!r}")
    return check_status(entry)


async def named_tenant_entry(request: Request, runtime: Runtime) -> CatalogEntry:
    """The tenant a request without a token names: by host name or header, as configured;
    with the header source, a `tenant` query parameter also names it (a browser following
    a sign-in link cannot send headers)."""
    named = named_tenant(request, runtime)
    if named is None and runtime.settings.tenant_source is TenantSource.HEADER:
        named = request.query_params.get("tenant") or None
    if named is None:
        raise TenantRefusedError(
            400,
            ErrorCode.BAD_USER_INPUT,
            f"name the tenant with the {runtime.settings.tenant_header} header "
            "or the tenant query parameter",
        )
    return await tenant_by_slug(runtime, named)
