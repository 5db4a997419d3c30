"""Plain rows for the hottest reads.

On PostgreSQL, in autocommit mode (query operations), a statement shape without list
parameters is compiled once by SQLAlchemy and then run straight on the pooled asyncpg
connection, under the adapter's own lock: the SQL is SQLAlchemy's, only the per-execution
bookkeeping is skipped (and with it SQLAlchemy's statement events and echo). Bind
conversions are applied as SQLAlchemy would; result processors are not (enum columns come
back as `str`, which the `StrEnum`s compare equal to). Shapes are compiled once per schema
for bridge tenants, whose connections translate the default schema to their own. The
direct path skips the session's tenant criteria; the shapes name their tenant themselves
and row-level security holds underneath. Elsewhere (SQLite, transactions, or shapes that
expand a list) the statement runs through the session as usual. Either way
the rows answer attribute access by column name (`row.title`) and item access by label
(`row["assignee__id"]`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.bound import Bound


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: Executable
    sql: str | None  # None: run it through SQLAlchemy
    names: tuple[str, ...] = ()
    constants: dict[str, Any] = field(default_factory=dict)  # literals the shape carries
    processors: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = []
        for name in self.names:
            if name in self.constants:
                values.append(self.constants[name])
                continue
            value = params[name]
            processor = self.processors.get(name)
            values.append(value if processor is None else processor(value))
        return values


# Bounded: bridge tenants multiply the shapes by their schemas.
_compiled: LRUCache[tuple[int, str | None], _Compiled] = LRUCache(maxsize=4096)


def _compile(statement: Executable, dialect: Dialect, schema: str | None) -> _Compiled:
    """SQL text, parameter order and bind conversions of a shape (once per shape and
    schema: bridge tenants' connections translate the default schema to their own)."""
    key = (id(statement), schema)
    found = _compiled.get(key)
    if found is not None and found.statement is statement:
        return found
    if schema is None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    else:
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, schema_translate_map={None: schema}, render_schema_translate=True
        )
    direct = _Compiled(statement, None)
    binds = compiled.binds
    if compiled.positiontup and not any(
        bind.expanding or bind.literal_execute for bind in binds.values()
    ):
        constants: dict[str, Any] = {}
        processors: dict[str, Callable[[Any], Any]] = {}
        for name in compiled.positiontup:
            bind = binds[name]
            processor = bind.type._cached_bind_processor(dialect)
            if bind.value is not None and not bind.required:
                constants[name] = bind.value if processor is None else processor(bind.value)
            elif processor is not None:
                processors[name] = processor
        direct = _Compiled(
            statement, compiled.string, tuple(compiled.positiontup), constants, processors
        )
    _compiled[key] = direct
    return direct


class PlainRow:
    """An asyncpg record with attribute access."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        try:
            return self._record[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._record[name]


async def fetch_rows(session: AsyncSession, query: Bound) -> Sequence[Any]:
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        translate = connection.sync_connection.get_execution_options().get("schema_translate_map")  # type: ignore[union-attr]
        schema = None if not translate else translate.get(None)
        if translate and set(translate) != {None}:
            return (await session.execute(query.statement, query.params)).all()
        compiled = _compile(query.statement, connection.dialect, schema)
        raw = await connection.get_raw_connection()
        adapter: Any = raw.dbapi_connection
        # Only outside transactions (the autocommit reads of query operations): inside one,
        # SQLAlchemy's adapter must see every statement to begin the transaction first.
        if compiled.sql is not None and getattr(adapter, "autocommit", False):
            # Root fields resolve concurrently on one connection: take the adapter's own
            # lock, as SQLAlchemy does for its statements, so only one runs at a time.
            async with adapter._execute_mutex:
                records = await raw.driver_connection.fetch(  # type: ignore[union-attr]
                    compiled.sql, *compiled.arguments(query.params)
                )
            return [PlainRow(record) for record in records]
    # Through the session, so its tenant criteria apply (`membrane.tenancy.isolation`).
    return (await session.execute(query.statement, query.params)).all()
