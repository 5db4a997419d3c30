"""Engines and sessions: plain `postgresql://` and `sqlite:///` URLs get their async drivers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_ASYNC_DRIVERS = {"postgresql": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}


class UnsupportedDatabaseError(ValueError):
    """The database URL names a backend Membrane does not support."""


def async_url(raw: str) -> URL:
    """Map `postgresql://…` and `sqlite:///…` (with or without a driver) to the async driver."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise UnsupportedDatabaseError(
            f"unsupported database {backend!r}: use a postgresql:// or sqlite:/// URL"
        )
    return url.set(drivername=_ASYNC_DRIVERS[backend])


def is_sqlite(url: URL | str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(foreign_keys: bool) -> Any:
    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin, so SAVEPOINTs work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return pragmas


def _sqlite_begin(connection: Any) -> None:
    # Reads in autocommit mode need no transaction. Writers take the write lock at once
    # (BEGIN IMMEDIATE): a transaction that starts as a reader and writes later fails with
    # "database is locked" in WAL mode instead of waiting for busy_timeout.
    # (The execution option, not `get_isolation_level()`: on SQLite that reports the
    # driver's level, SERIALIZABLE, whatever the connection was asked for.)
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# The role the API serves requests as on PostgreSQL: it owns no table, so the row-level
# security policies of migration 0003 bind it (owners bypass them). Migrations create it.
APP_ROLE = "membrane_app"


def _sqlite_attach(attachments: dict[str, str]) -> Any:
    def attach(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for alias, path in attachments.items():
            cursor.execute(f'ATTACH DATABASE ? AS "{alias}"', (path,))
        cursor.close()

    return attach


def create_engine(
    raw_url: str,
    *,
    pool_size: int = 20,
    echo: bool = False,
    role: str | None = None,
    connect_timeout: float = 10,
    attach: dict[str, str] | None = None,
    sqlite_foreign_keys: bool = True,
) -> AsyncEngine:
    """An engine for `raw_url`.

    `role`: on PostgreSQL, every connection acts as this role (the API's engines take
    `APP_ROLE` unless configured otherwise; the CLI's administrative commands and migrations
    connect as the owner). `attach` (SQLite):
    database files attached to every connection under the given aliases (bridge tenants).
    `sqlite_foreign_keys=False` is for migrations, which rebuild tables on SQLite: with
    enforcement on, dropping a referenced table would cascade to its referrers' rows.
    """
    url = async_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": connect_timeout})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(sqlite_foreign_keys))
        if attach:
            for alias in attach:
                if not alias.isidentifier():
                    raise ValueError(f"not an attachable alias: {alias!r}")
            event.listen(engine.sync_engine, "connect", _sqlite_attach(dict(attach)))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    server_settings = {"application_name": "membrane"}
    if role:
        # A startup parameter: the role is taken as the connection opens, at no extra trip.
        server_settings["role"] = role
    return create_async_engine(
        url,
        echo=echo,
        # A fixed pool: connections opened past it would be closed again at once, and
        # opening one costs far more than waiting a moment for a free one.
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        connect_args={"server_settings": server_settings, "timeout": connect_timeout},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
