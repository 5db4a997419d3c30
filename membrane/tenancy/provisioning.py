"""Creating, migrating and suspending tenant stores (the `membrane tenants` and
`membrane db upgrade` commands).

These run as the database owner (no `membrane_app` role): they create schemas and
databases, and migrate them. Every step of `create_tenant` can be run again: a tenant
whose provisioning failed stays PROVISIONING (refused by the API) and the same command
resumes it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from membrane.audit.chain import SYSTEM, Actor
from membrane.audit.setup import append_from_command
from membrane.config import Settings
from membrane.db.base import utcnow
from membrane.db.engine import (
    UnsupportedDatabaseError,
    async_url,
    create_engine,
    is_sqlite,
    session_factory,
)
from membrane.errors import ConflictError, InvalidInputError, NotFoundError
from membrane.migrations.runner import upgrade
from membrane.secrets import SecretBox, secret_box
from membrane.tenancy import catalog, tenant_events
from membrane.tenancy.catalog import CatalogEntry, check_slug
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.models import Tenant
from membrane.tenancy.stores import StoreUnavailableError, bridge_schema


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """Where a tenant's tables are, seen from an administrative connection."""

    url: str = field(repr=False)  # the database (never printed: it may hold a password)
    schema: str | None  # PostgreSQL bridge: the schema inside it
    default: bool  # the default database's own tables (pooled tenants)

    @property
    def translate(self) -> dict[str | None, str] | None:
        return None if self.schema is None else {None: self.schema}


def sqlite_bridge_file(database_url: str, slug: str) -> str:
    """Where a SQLite bridge tenant's database file lives: next to the default database."""
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise InvalidInputError(
            "bridge tenants on SQLite need a database file, not an in-memory database",
            field="strategy",
        )
    main = Path(database).resolve()
    return str(main.with_name(f"{main.stem}.tenants") / f"{slug}.db")


def check_store_url(strategy: TenantStrategy, database_url: str | None) -> None:
    """A silo needs its database URL, and only a silo takes one."""
    if strategy is TenantStrategy.SILO:
        if not database_url:
            raise InvalidInputError("a silo tenant needs --database-url", field="database_url")
        check_database_url(database_url)
    elif database_url:
        raise InvalidInputError("--database-url is for silo tenants only", field="database_url")


def bridge_location(settings: Settings, tenant_id: uuid.UUID, slug: str) -> str:
    """A bridge tenant's schema (PostgreSQL) or attached database file (SQLite)."""
    if is_sqlite(settings.database_url):
        return sqlite_bridge_file(settings.database_url, slug)
    return bridge_schema(tenant_id)


def store_target(settings: Settings, entry: CatalogEntry, secrets: SecretBox) -> StoreTarget:
    if entry.strategy is TenantStrategy.POOL:
        return StoreTarget(settings.database_url, None, default=True)
    if entry.strategy is TenantStrategy.BRIDGE:
        if is_sqlite(settings.database_url):
            assert entry.location is not None
            return StoreTarget(f"sqlite:///{entry.location}", None, default=False)
        return StoreTarget(settings.database_url, bridge_schema(entry.id), default=False)
    assert entry.database_url_secret is not None
    return StoreTarget(secrets.decrypt(entry.database_url_secret), None, default=False)


@asynccontextmanager
async def owner_engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


@asynccontextmanager
async def target_connection(
    target: StoreTarget, *, snapshot: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A connection (in a transaction, committed at the end) to a store's tables;
    `snapshot`: every statement sees the same snapshot (REPEATABLE READ on PostgreSQL;
    SQLite transactions always do)."""
    async with owner_engine(target.url) as engine:
        if snapshot and not is_sqlite(target.url):
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        async with engine.begin() as connection:
            if target.translate is not None:
                await connection.execution_options(schema_translate_map=target.translate)
            yield connection


async def _create_postgres_database(url: str) -> None:
    """Create the database `url` names when it does not exist (on the same server)."""
    name = make_url(url).database
    server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    async with owner_engine(server) as engine:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
        if exists:
            return
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote_identifier(name or "")
            await connection.execute(text(f"CREATE DATABASE {quoted}"))


async def prepare_store(target: StoreTarget) -> None:
    """Make the empty store: a schema, a database or a directory for SQLite files."""
    if target.default:
        return
    if is_sqlite(target.url):
        database = make_url(target.url).database
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return
    if target.schema is not None:
        async with owner_engine(target.url) as engine, engine.begin() as connection:
            quoted = connection.dialect.identifier_preparer.quote_identifier(target.schema)
            await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
        return
    await _create_postgres_database(target.url)


async def migrate_store(target: StoreTarget, revision: str = "head") -> None:
    if is_sqlite(target.url):
        database = make_url(target.url).database
        if database and not Path(database).parent.is_dir():
            # Checked here: the SQLite driver would create the file, or fail obscurely.
            raise StoreUnavailableError("the folder of the tenant's database file is missing")
    await asyncio.to_thread(upgrade, target.url, revision, schema=target.schema)


async def write_mirror(target: StoreTarget, entry: CatalogEntry) -> None:
    """A bridge or silo store keeps a copy of its tenant's row, which its tables refer to."""
    if target.default:
        return
    async with target_connection(target) as connection:
        found = await connection.scalar(select(Tenant.id).where(Tenant.id == entry.id))
        values = {"slug": entry.slug, "name": entry.name, "status": TenantStatus.ACTIVE}
        if found is None:
            await connection.execute(
                insert(Tenant).values(
                    id=entry.id, strategy=entry.strategy, created_at=utcnow(), **values
                )
            )
        else:
            await connection.execute(update(Tenant).where(Tenant.id == entry.id).values(values))


@asynccontextmanager
async def tenant_session(
    settings: Settings, secrets: SecretBox, slug: str
) -> AsyncIterator[tuple[CatalogEntry, AsyncSession]]:
    """For a command naming its tenant: the catalog entry, and an owner's session on the
    tenant's store, bound to the tenant (the caller commits)."""
    async with owner_engine(settings.database_url) as engine, session_factory(engine)() as s:
        entry = await catalog.entry_by_slug(s, slug)
    if entry is None:
        raise NotFoundError(f"no tenant {slug!r}", field="tenant")
    async with store_session(store_target(settings, entry, secrets), entry) as session:
        yield entry, session


@asynccontextmanager
async def store_session(target: StoreTarget, entry: CatalogEntry) -> AsyncIterator[AsyncSession]:
    """An owner's session on a tenant's store, bound to the tenant (the caller commits)."""
    async with owner_engine(target.url) as store:
        bound = store.execution_options(schema_translate_map=target.translate)
        async with session_factory(bound)() as session:
            bind_tenant(session, entry.id)
            yield session


async def create_tenant(
    settings: Settings,
    secrets: SecretBox,
    *,
    slug: str,
    name: str | None,
    strategy: TenantStrategy,
    database_url: str | None = None,
    actor: Actor = SYSTEM,
) -> CatalogEntry:
    """Create (or resume creating) a tenant and its store; it is ACTIVE when this returns,
    and its chain starts with the `tenants.create` event."""
    check_slug(slug)
    check_store_url(strategy, database_url)
    async with owner_engine(settings.database_url) as engine:
        async with session_factory(engine)() as session, session.begin():
            tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar()
            if tenant is None:
                tenant = Tenant(
                    slug=slug,
                    name=name or slug,
                    status=TenantStatus.PROVISIONING,
                    strategy=strategy,
                )
                session.add(tenant)
                await session.flush()
            elif tenant.status is not TenantStatus.PROVISIONING:
                raise ConflictError(f"tenant {slug!r} already exists", field="slug")
            elif tenant.strategy is not strategy:
                raise ConflictError(
                    f"tenant {slug!r} is being provisioned as {tenant.strategy.value}; "
                    f"resume it with --strategy {tenant.strategy.value}",
                    field="strategy",
                )
            if strategy is TenantStrategy.BRIDGE:
                tenant.location = bridge_location(settings, tenant.id, slug)
            if database_url:
                tenant.database_url_secret = secrets.encrypt(database_url)
            if name:
                tenant.name = name
            entry = CatalogEntry.of(tenant)
        target = store_target(settings, entry, secrets)
        await prepare_store(target)
        await migrate_store(target)
        await write_mirror(target, entry)
        fields = {"slug": entry.slug, "name": entry.name, "strategy": entry.strategy}
        if entry.location:
            fields["location"] = entry.location
        event = tenant_events.tenant_draft("tenants.create", actor, entry, "create", fields)
        if not target.default:
            async with store_session(target, entry) as store:
                # A resumed creation whose event is already in the store records it once.
                if not await tenant_events.recorded(store, entry, "tenants.create"):
                    await append_from_command(settings, store, entry.id, [event])
                    await store.commit()
        async with session_factory(engine)() as session, session.begin():
            if target.default:
                await append_from_command(settings, session, entry.id, [event])
            await session.execute(
                update(Tenant).where(Tenant.id == entry.id).values(status=TenantStatus.ACTIVE)
            )
    return replace(entry, status=TenantStatus.ACTIVE)


def check_database_url(database_url: str) -> None:
    try:
        async_url(database_url)
    except (UnsupportedDatabaseError, ValueError) as error:
        message = str(error) if isinstance(error, UnsupportedDatabaseError) else "not a URL"
        raise InvalidInputError(
            f"--database-url is not usable: {message}", field="database_url"
        ) from None


async def list_tenants(settings: Settings) -> list[CatalogEntry]:
    async with owner_engine(settings.database_url) as engine, session_factory(engine)() as session:
        return await catalog.all_entries(session)


_STATUS_ACTIONS = {TenantStatus.SUSPENDED: "tenants.suspend", TenantStatus.ACTIVE: "tenants.resume"}


async def set_status(
    settings: Settings,
    slug: str,
    status: TenantStatus,
    *,
    secrets: SecretBox | None = None,
    actor: Actor = SYSTEM,
) -> CatalogEntry:
    """Suspend or resume a tenant; the API refuses a suspended tenant's next request. The
    change is recorded in the tenant's chain, and not made when it cannot be."""
    async with (
        owner_engine(settings.database_url) as engine,
        session_factory(engine)() as session,
        session.begin(),
    ):
        found = await session.execute(select(Tenant).where(Tenant.slug == slug).with_for_update())
        tenant = found.scalar()
        if tenant is None:
            raise NotFoundError(f"no tenant {slug!r}", field="slug")
        # MOVING may be left by an interrupted move; the catalog then still points at
        # the intact old store, so resuming (or suspending) abandons the move.
        if tenant.status is TenantStatus.PROVISIONING:
            raise ConflictError(
                f"tenant {slug!r} is still being provisioned: run tenants create again",
                field="slug",
            )
        previous = tenant.status
        if previous is status:
            return CatalogEntry.of(tenant)
        tenant.status = status
        entry = CatalogEntry.of(tenant)
        target = store_target(settings, entry, secrets or secret_box(settings))
        event = tenant_events.tenant_draft(
            _STATUS_ACTIONS[status], actor, entry, "update", {"status": [previous, status]}
        )
        if target.default:
            await append_from_command(settings, session, entry.id, [event])
        else:
            # The event commits first, the catalog row (locked meanwhile) after it: a
            # failure between the two leaves an event of a change that did not happen,
            # never a change without its event.
            async with store_session(target, entry) as store:
                await append_from_command(settings, store, entry.id, [event])
                await store.commit()
    return entry


@dataclass(frozen=True, slots=True)
class StoreUpgrade:
    slug: str
    strategy: TenantStrategy
    ok: bool
    detail: str


def describe_failure(error: BaseException) -> str:
    """A failure in one line, without the SQL or URLs a driver message may carry."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:300]


async def upgrade_all(
    settings: Settings,
    secrets: SecretBox,
    revision: str = "head",
    only: Collection[str] | None = None,
) -> list[StoreUpgrade]:
    """Migrate the default database (catalog and pooled tenants), then every bridge and silo
    store, each on its own: one failing store is reported and leaves the others alone.
    On PostgreSQL an advisory lock keeps processes starting together from migrating at once."""
    async with (
        owner_engine(settings.database_url) as engine,
        engine.execution_options(isolation_level="AUTOCOMMIT").connect() as lock,
    ):
        if not is_sqlite(settings.database_url):
            await lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            return await _upgrade_stores(settings, secrets, revision, only)
        finally:
            if not is_sqlite(settings.database_url):
                await lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


MIGRATION_LOCK = 0x6D656D62  # "memb"


async def _upgrade_stores(
    settings: Settings, secrets: SecretBox, revision: str, only: Collection[str] | None
) -> list[StoreUpgrade]:
    await migrate_store(StoreTarget(settings.database_url, None, default=True), revision)
    results: list[StoreUpgrade] = []
    entries = await list_tenants(settings)
    if only is not None:
        unknown = set(only) - {entry.slug for entry in entries}
        if unknown:
            raise NotFoundError(f"no tenant {sorted(unknown)[0]!r}", field="slug")
        entries = [entry for entry in entries if entry.slug in only]
    for entry in entries:
        if entry.strategy is TenantStrategy.POOL:
            results.append(StoreUpgrade(entry.slug, entry.strategy, True, "default database"))
            continue
        if entry.status is TenantStatus.PROVISIONING:
            results.append(
                StoreUpgrade(
                    entry.slug, entry.strategy, False, "still provisioning: run tenants create"
                )
            )
            continue
        try:
            target = store_target(settings, entry, secrets)
            await migrate_store(target, revision)
        except Exception as error:  # one store's failure must not stop the others
            results.append(StoreUpgrade(entry.slug, entry.strategy, False, describe_failure(error)))
        else:
            results.append(StoreUpgrade(entry.slug, entry.strategy, True, f"at {revision}"))
    return results


async def rotate_secrets(settings: Settings, secrets: SecretBox) -> int:
    """Re-encrypt every stored secret with the first key (silo URLs in the catalog, and
    the client secrets of identity providers in every tenant's store); returns how many
    there were."""
    from membrane.auth.federation.models import IdentityProvider

    async with (
        owner_engine(settings.database_url) as engine,
        session_factory(engine)() as session,
        session.begin(),
    ):
        tenants = (
            await session.scalars(select(Tenant).where(Tenant.database_url_secret.is_not(None)))
        ).all()
        for tenant in tenants:
            assert tenant.database_url_secret is not None
            tenant.database_url_secret = secrets.rotate(tenant.database_url_secret)
        count = len(tenants)
    for entry in await list_tenants(settings):
        if entry.status is TenantStatus.PROVISIONING:
            continue
        async with tenant_session(settings, secrets, entry.slug) as (_, store):
            providers = (
                await store.scalars(
                    select(IdentityProvider).where(
                        IdentityProvider.client_secret_secret.is_not(None)
                    )
                )
            ).all()
            for provider in providers:
                assert provider.client_secret_secret is not None
                provider.client_secret_secret = secrets.rotate(provider.client_secret_secret)
            await store.commit()
            count += len(providers)
    return count
