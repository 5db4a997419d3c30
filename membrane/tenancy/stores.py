"""Tenant stores: where a tenant's rows live, and the sessions that reach them.

`StoreRegistry.store_for(entry)` answers "the store of this tenant" for each strategy:

- `pool`: the default database; sessions bound to the tenant (see `isolation`).
- `bridge`: the tenant's own schema. On PostgreSQL the default engine runs with a
  schema translation map (`None` → the tenant's schema), so statements stay SQLAlchemy's;
  on SQLite, an engine on the default database with the tenant's file attached under the
  alias that the translation map names.
- `silo`: the tenant's own database, with an engine and a small pool of its own.

Engines made for tenants (silo, and SQLite bridges) are created on first use and kept in a
bounded LRU (`MEMBRANE_SILO_ENGINES_MAX`): the least recently used is disposed when another
is needed, so thousands of tenants never mean thousands of open pools.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import membrane.tenancy.isolation  # noqa: F401  (installs the tenant session hooks)
from membrane.config import Settings
from membrane.db.engine import create_engine, is_sqlite, session_factory
from membrane.secrets import SecretBox
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.enums import TenantStrategy


class StoreUnavailableError(RuntimeError):
    """A tenant's store cannot be reached (its database is down or misconfigured)."""


@dataclass(frozen=True, slots=True)
class Store:
    """Sessions for one tenant store: `sessions` for transactions, `read_sessions` in
    autocommit mode (query operations)."""

    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    # Whether principal changes in this store reach the process's change listener (the
    # default database on PostgreSQL); only then may principals be cached.
    announces_changes: bool = False


def bridge_schema(tenant_id: uuid.UUID) -> str:
    """The schema (PostgreSQL) or attachment alias (SQLite) of a bridge tenant."""
    return f"tenant_{tenant_id.hex}"


def store_of(engine: AsyncEngine, *, announces_changes: bool = False) -> Store:
    return Store(
        sessions=session_factory(engine),
        read_sessions=session_factory(engine.execution_options(isolation_level="AUTOCOMMIT")),
        announces_changes=announces_changes,
    )


class _DisposingLRU(LRUCache[Any, Any]):
    """An LRU of objects holding engines: the evicted one is disposed in the background."""

    def __init__(self, maxsize: int, pending: set[asyncio.Task[None]]) -> None:
        super().__init__(maxsize)
        self._pending = pending

    def popitem(self) -> tuple[Any, Any]:
        key, value = super().popitem()
        engine: AsyncEngine | None = value[1]
        if engine is not None:
            _dispose_in_background(engine, self._pending)
        return key, value


def _dispose_in_background(engine: AsyncEngine, pending: set[asyncio.Task[None]]) -> None:
    task = asyncio.get_running_loop().create_task(engine.dispose())
    pending.add(task)
    task.add_done_callback(pending.discard)


class StoreRegistry:
    def __init__(self, settings: Settings, engine: AsyncEngine, secrets: SecretBox) -> None:
        self.settings = settings
        self.engine = engine
        self.secrets = secrets
        self.sqlite = is_sqlite(settings.database_url)
        self.default = store_of(engine, announces_changes=not self.sqlite)
        self._pending: set[asyncio.Task[None]] = set()
        # tenant id → (store, engine of its own or None)
        self._stores: _DisposingLRU = _DisposingLRU(settings.silo_engines_max, self._pending)

    def store_for(self, entry: CatalogEntry) -> Store:
        if entry.strategy is TenantStrategy.POOL:
            return self.default
        # A move changes where the tenant lives: the cached store must be the catalog's.
        where = (entry.strategy, entry.location, entry.database_url_secret)
        found = self._stores.get(entry.id)
        if found is not None and found[2] == where:
            store: Store = found[0]
            return store
        store, own_engine = self._open(entry)
        if found is not None and found[1] is not None:
            # the store the tenant moved away from
            _dispose_in_background(found[1], self._pending)
        self._stores[entry.id] = (store, own_engine, where)
        return store

    def _open(self, entry: CatalogEntry) -> tuple[Store, AsyncEngine | None]:
        if entry.strategy is TenantStrategy.BRIDGE:
            schema = bridge_schema(entry.id)
            if self.sqlite:
                if entry.location is None:
                    raise StoreUnavailableError(f"tenant {entry.slug!r} has no bridge file")
                engine = create_engine(
                    self.settings.database_url,
                    attach={schema: entry.location},
                    connect_timeout=self.settings.store_connect_timeout_seconds,
                )
                translated = engine.execution_options(schema_translate_map={None: schema})
                return store_of(translated), engine
            translated = self.engine.execution_options(schema_translate_map={None: schema})
            return store_of(translated, announces_changes=True), None
        if entry.database_url_secret is None:
            raise StoreUnavailableError(f"tenant {entry.slug!r} has no database URL")
        engine = create_engine(
            self.secrets.decrypt(entry.database_url_secret),
            pool_size=self.settings.silo_pool_size,
            role=self.settings.database_role,
            connect_timeout=self.settings.store_connect_timeout_seconds,
        )
        return store_of(engine), engine

    @property
    def open_engines(self) -> int:
        return sum(1 for _, engine, _ in self._stores.values() if engine is not None)

    async def close(self) -> None:
        for _, engine, _ in list(self._stores.values()):
            if engine is not None:
                await engine.dispose()
        self._stores = _DisposingLRU(self.settings.silo_engines_max, self._pending)
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.engine.dispose()
