"""Moving a tenant between strategies (`membrane tenants move SLUG --to STRATEGY`).

The tenant is marked MOVING (the API answers 503 with Retry-After meanwhile) and, after a
drain period for requests already under way and for other processes to hear of it, its
rows are copied table by table from one snapshot of the old store (REPEATABLE READ on
PostgreSQL) into the new store in one transaction, and each table's row count and checksum
are compared on both sides. Only when every table matches does the catalog entry switch to
the new store; then the old copy is removed (a silo database is emptied and left for its
operator to drop). On any failure the copy is rolled back, the old store is untouched and
the tenant gets its previous status back.

MOVING always means "the catalog still points at the old, intact store": a move that was
interrupted (the process killed) is finished by running it again, or abandoned with
`tenants resume`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from membrane.audit.chain import SYSTEM, Actor, Draft
from membrane.audit.setup import append_from_command
from membrane.config import Settings
from membrane.db.engine import session_factory
from membrane.db.registry import Base
from membrane.errors import ConflictError, InvalidInputError, NotFoundError
from membrane.secrets import SecretBox
from membrane.tenancy import tenant_events
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.models import Tenant
from membrane.tenancy.provisioning import (
    StoreTarget,
    bridge_location,
    check_store_url,
    migrate_store,
    owner_engine,
    prepare_store,
    store_target,
    target_connection,
)

_BATCH = 1000


class MoveVerificationError(RuntimeError):
    """The copy differs from the original; nothing was switched."""


@dataclass(frozen=True, slots=True)
class TableDigest:
    rows: int
    checksum: str


@dataclass(slots=True)
class MoveReport:
    slug: str
    source: TenantStrategy
    destination: TenantStrategy
    tables: dict[str, TableDigest] = field(default_factory=dict)
    note: str = ""

    @property
    def rows(self) -> int:
        return sum(digest.rows for digest in self.tables.values())


def tenant_tables() -> list[Table]:
    """The tables holding a tenant's rows, parents before children."""
    return [table for table in Base.metadata.sorted_tables if "tenant_id" in table.c]


def _own_rows(table: Table, entry: CatalogEntry) -> Any:
    return table.c.tenant_id == entry.id


async def _digest(connection: AsyncConnection, table: Table, entry: CatalogEntry) -> TableDigest:
    """Row count and an order-independent checksum of the tenant's rows of one table."""
    rows = 0
    digests: list[bytes] = []
    result = await connection.stream(select(table).where(_own_rows(table, entry)))
    async for row in result:
        rows += 1
        digests.append(hashlib.sha256(repr(tuple(row)).encode()).digest())
    total = hashlib.sha256()
    for digest in sorted(digests):
        total.update(digest)
    return TableDigest(rows, total.hexdigest())


async def _copy(
    source: AsyncConnection, destination: AsyncConnection, table: Table, entry: CatalogEntry
) -> None:
    result = await source.stream(select(table).where(_own_rows(table, entry)))
    async for chunk in result.mappings().partitions(_BATCH):
        await destination.execute(insert(table), [dict(row) for row in chunk])


def _destination(
    settings: Settings, entry: CatalogEntry, to: TenantStrategy, url: str | None, box: SecretBox
) -> CatalogEntry:
    check_store_url(to, url)
    if url:
        return replace(entry, strategy=to, location=None, database_url_secret=box.encrypt(url))
    location = (
        bridge_location(settings, entry.id, entry.slug) if to is TenantStrategy.BRIDGE else None
    )
    return replace(entry, strategy=to, location=location, database_url_secret=None)


async def _set_catalog(settings: Settings, entry: CatalogEntry, status: TenantStatus) -> None:
    async with owner_engine(settings.database_url) as engine, engine.begin() as connection:
        await connection.execute(
            update(Tenant)
            .where(Tenant.id == entry.id)
            .values(
                status=status,
                strategy=entry.strategy,
                location=entry.location,
                database_url_secret=entry.database_url_secret,
            )
        )


async def _insert_mirror(destination: AsyncConnection, entry: CatalogEntry, created: Any) -> None:
    await destination.execute(
        insert(Tenant).values(
            id=entry.id,
            slug=entry.slug,
            name=entry.name,
            status=TenantStatus.ACTIVE,
            strategy=entry.strategy,
            created_at=created,
        )
    )


async def _remove_rows(connection: AsyncConnection, entry: CatalogEntry, mirror: bool) -> None:
    for table in reversed(tenant_tables()):
        await connection.execute(delete(table).where(_own_rows(table, entry)))
    if mirror:
        await connection.execute(delete(Tenant).where(Tenant.id == entry.id))


async def move_tenant(
    settings: Settings,
    box: SecretBox,
    *,
    slug: str,
    to: TenantStrategy,
    database_url: str | None = None,
    drain_seconds: float = 5.0,
    actor: Actor = SYSTEM,
) -> MoveReport:
    async with owner_engine(settings.database_url) as engine, session_factory(engine)() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFoundError(f"no tenant {slug!r}", field="slug")
    entry, created = CatalogEntry.of(tenant), tenant.created_at
    if entry.status is TenantStatus.PROVISIONING:
        raise ConflictError(f"tenant {slug!r} is still being provisioned; it cannot move now")
    # An interrupted move left MOVING behind: this run starts it over.
    settled = TenantStatus.ACTIVE if entry.status is TenantStatus.MOVING else entry.status
    if entry.strategy is to and to is not TenantStrategy.SILO:
        raise InvalidInputError(f"tenant {slug!r} already uses {to.value}", field="to")
    moved = _destination(settings, entry, to, database_url, box)
    source_target = store_target(settings, entry, box)
    destination_target = store_target(settings, moved, box)
    if source_target == destination_target:
        raise InvalidInputError(f"tenant {slug!r} is already stored there", field="to")
    await prepare_store(destination_target)
    await migrate_store(destination_target)
    report = MoveReport(slug, entry.strategy, to)
    await _set_catalog(settings, entry, TenantStatus.MOVING)
    try:
        await asyncio.sleep(drain_seconds)
        async with _copy_and_verify(
            entry, moved, source_target, destination_target, created, report
        ) as destination:
            event = _move_event(actor, entry, moved, report)
            async with AsyncSession(bind=destination) as recorder:
                bind_tenant(recorder, entry.id)
                await append_from_command(settings, recorder, entry.id, [event])
        await _set_catalog(settings, moved, settled)
    except BaseException:
        # The catalog still points at the old store, which nothing has touched.
        with contextlib.suppress(Exception):
            await _set_catalog(settings, entry, settled)
        raise
    try:
        report.note = await _remove_source(entry, source_target)
    except Exception as error:
        report.note = (
            f"moved; removing the old copy failed ({type(error).__name__}): remove it by hand"
        )
    return report


@asynccontextmanager
async def _copy_and_verify(
    entry: CatalogEntry,
    moved: CatalogEntry,
    source_target: StoreTarget,
    destination_target: StoreTarget,
    created: Any,
    report: MoveReport,
) -> AsyncIterator[AsyncConnection]:
    """Copy and compare; the block then writes to the copy's transaction, which commits
    when it ends (a failure anywhere rolls the copy back)."""
    async with (
        target_connection(source_target, snapshot=True) as source,
        target_connection(destination_target) as destination,
    ):
        # What an earlier, interrupted move may have left behind goes first.
        await _remove_rows(destination, entry, mirror=not destination_target.default)
        if not destination_target.default:
            await _insert_mirror(destination, moved, created)
        for table in tenant_tables():
            await _copy(source, destination, table, entry)
        for table in tenant_tables():
            original = await _digest(source, table, entry)
            copy = await _digest(destination, table, entry)
            if original != copy:
                raise MoveVerificationError(
                    f"table {table.name}: {original.rows} rows copied as {copy.rows}, "
                    "or their checksums differ; nothing was switched"
                )
            report.tables[table.name] = original
        yield destination


def _move_event(
    actor: Actor, entry: CatalogEntry, moved: CatalogEntry, report: MoveReport
) -> Draft:
    """`tenants.move`, appended to the chain in the new store as the copy's last row: the
    chain goes on where the tenant now lives, and names what was copied."""
    fields: dict[str, Any] = {"strategy": [entry.strategy, moved.strategy]}
    if entry.location != moved.location:
        fields["location"] = [entry.location, moved.location]
    tables = {
        name: {"rows": digest.rows, "sha256": digest.checksum}
        for name, digest in report.tables.items()
        if digest.rows
    }
    return tenant_events.tenant_draft(
        "tenants.move", actor, entry, "update", fields, rows=report.rows, tables=tables
    )


async def _remove_source(entry: CatalogEntry, source_target: StoreTarget) -> str:
    if source_target.default:
        async with target_connection(source_target) as connection:
            await _remove_rows(connection, entry, mirror=False)
        return "the rows in the shared tables were removed"
    if source_target.schema is not None:
        async with owner_engine(source_target.url) as engine, engine.begin() as connection:
            quoted = connection.dialect.identifier_preparer.quote_identifier(source_target.schema)
            await connection.execute(text(f"DROP SCHEMA {quoted} CASCADE"))
        return f"schema {source_target.schema} was dropped"
    async with target_connection(source_target) as connection:
        await _remove_rows(connection, entry, mirror=True)
    if entry.strategy is TenantStrategy.SILO:
        return "the old silo database was emptied; its operator may drop it"
    return "the old bridge database file was emptied"
