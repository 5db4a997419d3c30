"""The tenant catalog: every tenant's slug, status, strategy and store location.

It lives in the `tenants` table of the default database. Reads go through a session bound
to no tenant. `CatalogCache` remembers entries only while this process hears PostgreSQL's
change notifications (the `tenant:<id>` announcements of migration 0002), like the
principal cache: a suspension or a move takes effect on the next request.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.errors import InvalidInputError
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.models import Tenant

# A DNS label (lowercase): a tenant's slug becomes its host name, `{slug}.example.com`.
DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def check_slug(slug: str) -> str:
    if not DNS_LABEL.fullmatch(slug):
        raise InvalidInputError(
            f"{slug!r} is not a tenant slug: a slug is a DNS label of 1 to 63 lowercase "
            "letters, digits and hyphens, not starting or ending with a hyphen",
            field="slug",
        )
    return slug


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: uuid.UUID
    slug: str
    name: str
    status: TenantStatus
    strategy: TenantStrategy
    location: str | None
    database_url_secret: str | None

    @classmethod
    def of(cls, tenant: Tenant) -> CatalogEntry:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            status=TenantStatus(tenant.status),
            strategy=TenantStrategy(tenant.strategy),
            location=tenant.location,
            database_url_secret=tenant.database_url_secret,
        )

    def __repr__(self) -> str:  # never print the (encrypted) database URL
        return (
            f"CatalogEntry(slug={self.slug!r}, status={self.status.value}, "
            f"strategy={self.strategy.value}, location={self.location!r})"
        )


async def _entry(session: AsyncSession, criterion: ColumnElement[bool]) -> CatalogEntry | None:
    tenant = (await session.execute(select(Tenant).where(criterion))).scalar()
    return None if tenant is None else CatalogEntry.of(tenant)


async def entry_by_id(session: AsyncSession, tenant_id: uuid.UUID) -> CatalogEntry | None:
    return await _entry(session, Tenant.id == tenant_id)


async def entry_by_slug(session: AsyncSession, slug: str) -> CatalogEntry | None:
    return await _entry(session, Tenant.slug == slug)


async def all_entries(session: AsyncSession) -> list[CatalogEntry]:
    tenants = (await session.execute(select(Tenant).order_by(Tenant.slug))).scalars()
    return [CatalogEntry.of(tenant) for tenant in tenants]


class CatalogCache:
    """Entries by id and by slug, kept only while change notifications are heard."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._by_id: dict[uuid.UUID, CatalogEntry] = {}
        self._by_slug: dict[str, CatalogEntry] = {}
        self._max = max_entries
        self._listening = False
        self.generation = 0

    def listening(self, active: bool) -> None:
        self._listening = active
        self.clear()

    def by_id(self, tenant_id: uuid.UUID) -> CatalogEntry | None:
        return self._by_id.get(tenant_id) if self._listening else None

    def by_slug(self, slug: str) -> CatalogEntry | None:
        return self._by_slug.get(slug) if self._listening else None

    def put(self, entry: CatalogEntry, generation: int) -> None:
        if not self._listening or generation != self.generation:
            return
        if len(self._by_id) >= self._max:
            self.clear()
        self._by_id[entry.id] = entry
        self._by_slug[entry.slug] = entry

    def changed(self, payload: str) -> None:
        if payload.startswith("tenant:"):
            self.clear()

    def clear(self) -> None:
        self.generation += 1
        self._by_id.clear()
        self._by_slug.clear()
