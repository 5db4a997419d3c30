"""What makes a session "the session of this tenant", whatever store it reaches.

A session opened through `bind_tenant` carries its tenant in `session.info`, and three
hooks on every such session keep it inside that tenant:

- every ORM statement (SELECT, UPDATE, DELETE) on a `TenantScoped` class gets the criterion
  `tenant_id = <tenant>` (`with_loader_criteria`), joins and aliases included;
- every new `TenantScoped` row gets its tenant from the session; a row naming another
  tenant, a row moved to another tenant, or an INSERT or UPDATE statement naming one is
  refused before anything is written;
- on PostgreSQL, the `membrane.tenant_id` setting is set as the session begins, which the
  row-level security policies of every tenant table compare against (migration 0003).
  Inside a transaction it is `SET LOCAL`. The autocommit sessions of query operations set
  it for the connection, unless the connection already holds that very tenant; a session
  bound to no tenant (or never bound) clears it. (Hence no transaction-pooling proxy, such
  as PgBouncer in transaction mode, between the API and PostgreSQL.)

Repositories still name the tenant in their own predicates: these hooks are the second and
third layer, not the first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.sql.elements import BindParameter

from membrane.db.base import TenantScoped

TENANT_KEY = "membrane.tenant_id"
_SET_TENANT = text("SELECT set_config('membrane.tenant_id', :tenant, :local)")


class TenantMismatchError(RuntimeError):
    """A row of one tenant was about to be written through another tenant's session."""


def bind_tenant(session: Session | Any, tenant_id: uuid.UUID | None) -> None:
    """Bind a session (sync or async) to a tenant, or to none (catalog work) with `None`."""
    target = getattr(session, "sync_session", session)
    target.info[TENANT_KEY] = tenant_id


@event.listens_for(Session, "after_begin")
def _set_database_tenant(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name != "postgresql":
        return
    # A session bound to no tenant (or never bound) clears the setting: it sees no rows.
    tenant = session.info.get(TENANT_KEY)
    value = "" if tenant is None else str(tenant)
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        connection.execute(_SET_TENANT, {"tenant": value, "local": True})
        return
    # Outside transactions the setting stays with the connection: remembered per database
    # connection (`info` is cleared when the connection is replaced), it is sent only when
    # this session needs another tenant than the connection's last one.
    known = connection.info.get(TENANT_KEY)
    if known != value:
        connection.execute(_SET_TENANT, {"tenant": value, "local": False})
        connection.info[TENANT_KEY] = value


def _check_written_tenant(state: ORMExecuteState, tenant: uuid.UUID) -> None:
    """ORM INSERT and UPDATE statements may not name another tenant, in their values or
    their parameters."""
    parameters = state.parameters
    rows = parameters if isinstance(parameters, list) else [parameters or {}]
    named = {row.get("tenant_id") for row in rows if isinstance(row, dict)}
    named |= _tenants_in_values(state.statement)
    named.discard(None)
    if named - {tenant}:
        raise TenantMismatchError("a statement names another tenant than its session's")


def _tenants_in_values(statement: Any) -> set[Any]:
    """The tenants named by a statement's `.values(...)`, read from the statement itself
    (compiling it to find them cost more than many a statement's execution)."""
    rows: list[Any] = [getattr(statement, "_values", None) or {}]
    for batch in getattr(statement, "_multi_values", None) or ():
        rows.extend(batch)
    columns = [column.key for column in statement.table.columns]
    # Positional rows (`.values([(…), …])`) follow the table's columns.
    rows = [
        row if isinstance(row, Mapping) else dict(zip(columns, row, strict=False)) for row in rows
    ]
    named = set()
    for row in rows:
        for column, value in row.items():
            if getattr(column, "key", column) == "tenant_id":
                named.add(value.value if isinstance(value, BindParameter) else value)
    return named


@event.listens_for(Session, "do_orm_execute")
def _filter_by_tenant(state: ORMExecuteState) -> None:
    tenant = state.session.info.get(TENANT_KEY)
    if tenant is None:
        return
    if state.is_insert or state.is_update:
        _check_written_tenant(state, tenant)
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, _context: Any, _instances: Any) -> None:
    if TENANT_KEY not in session.info:
        return
    tenant = session.info[TENANT_KEY]
    for instance in session.dirty:
        if isinstance(instance, TenantScoped):
            history = inspect(instance).attrs.tenant_id.history
            if history.has_changes() and set(history.added) != {tenant}:
                raise TenantMismatchError("a row cannot be moved to another tenant")
    for instance in session.new:
        if not isinstance(instance, TenantScoped):
            continue
        current = getattr(instance, "tenant_id", None)
        if tenant is None:
            raise TenantMismatchError("tenant rows cannot be written without a tenant")
        if current is None:
            instance.tenant_id = tenant
        elif current != tenant:
            raise TenantMismatchError("a row of another tenant cannot be written here")
