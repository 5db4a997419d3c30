"""Row-level security on its own: with no ORM filter at all, raw SQL run as the API's
database role sees and changes only the rows of the tenant its transaction names."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from membrane.api.app import create_app
from membrane.config import ConfigurationError, Environment
from membrane.db.engine import APP_ROLE, create_engine, session_factory
from membrane.engagements.models import Task
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.move import tenant_tables
from membrane.tenancy.provisioning import list_tenants, store_target, target_connection
from membrane.tenancy.stores import store_of
from tests.fixtures.tenants import TenantWorld

pytestmark = pytest.mark.postgres_only
SET_TENANT = text("SELECT set_config('membrane.tenant_id', :tenant, true)")


@pytest_asyncio.fixture
async def app_engine(tenant_world: TenantWorld) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(tenant_world.settings.database_url, role=APP_ROLE)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def owner(tenant_world: TenantWorld) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(tenant_world.settings.database_url)
    yield engine
    await engine.dispose()


async def _task_counts(owner: AsyncEngine) -> dict[uuid.UUID, int]:
    async with owner.connect() as connection:
        rows = await connection.execute(text("SELECT tenant_id, count(*) FROM tasks GROUP BY 1"))
        return {row[0]: row[1] for row in rows}


def _tenant(world: TenantWorld, slug: str) -> uuid.UUID:
    return uuid.UUID(world.tenants[slug].tenant_id)


async def test_every_tenant_table_has_a_policy_the_api_role_cannot_bypass(
    owner: AsyncEngine,
) -> None:
    async with owner.connect() as connection:
        role = (
            await connection.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                {"r": APP_ROLE},
            )
        ).one()
        tables = {
            row.relname: row
            for row in await connection.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, pg_get_userbyid(c.relowner) AS owner, "
                    "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname "
                    " AND p.schemaname = current_schema()) AS policies "
                    "FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
                    "AND c.relkind = 'r'"
                )
            )
        }
    assert role == (False, False)
    for table in tenant_tables():
        found = tables[table.name]
        assert found.relrowsecurity, table.name
        assert found.policies == 1, table.name
        assert found.owner != APP_ROLE, table.name


async def test_raw_sql_as_the_api_role_sees_only_the_named_tenant(
    tenant_world: TenantWorld, app_engine: AsyncEngine, owner: AsyncEngine
) -> None:
    counts = await _task_counts(owner)
    a, b = _tenant(tenant_world, "pool-a"), _tenant(tenant_world, "pool-b")
    assert counts[a] > 0 and counts[b] > 0
    async with app_engine.connect() as connection:
        # no tenant named: nothing at all
        assert await connection.scalar(text("SELECT count(*) FROM tasks")) == 0
        await connection.rollback()
        # tenant A named: exactly A's rows, even when asking for B's explicitly
        await connection.execute(SET_TENANT, {"tenant": str(a)})
        assert await connection.scalar(text("SELECT count(*) FROM tasks")) == counts[a]
        assert (
            await connection.scalar(
                text("SELECT count(*) FROM tasks WHERE tenant_id = :b"), {"b": b}
            )
            == 0
        )
        # an UPDATE without any WHERE touches A's rows only
        updated = await connection.execute(text("UPDATE tasks SET title = 'overwritten'"))
        assert updated.rowcount == counts[a]
        await connection.rollback()
    async with owner.connect() as connection:
        overwritten = await connection.scalar(
            text("SELECT count(*) FROM tasks WHERE title = 'overwritten'")
        )
    assert overwritten == 0  # rolled back, and B's rows were never reachable


async def test_the_api_role_cannot_write_rows_of_another_tenant(
    tenant_world: TenantWorld, app_engine: AsyncEngine
) -> None:
    a, b = _tenant(tenant_world, "pool-a"), _tenant(tenant_world, "pool-b")
    async with app_engine.connect() as connection:
        await connection.execute(SET_TENANT, {"tenant": str(a)})
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(
                text(
                    "INSERT INTO organizations (id, tenant_id, slug, name, kind, status, "
                    "created_at) VALUES (:id, :b, 'intruder', 'Intruder', 'PARTNER', 'ACTIVE', "
                    "now())"
                ),
                {"id": uuid.uuid4(), "b": b},
            )
        await connection.rollback()
        # nor move one of its own rows into another tenant
        await connection.execute(SET_TENANT, {"tenant": str(a)})
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(text("UPDATE organizations SET tenant_id = :b"), {"b": b})
        await connection.rollback()
        # and the catalog is read-only to it
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("UPDATE tenants SET status = 'ACTIVE'"))
        await connection.rollback()


async def test_an_orm_session_without_tenant_filter_is_still_confined(
    tenant_world: TenantWorld, app_engine: AsyncEngine, owner: AsyncEngine
) -> None:
    counts = await _task_counts(owner)
    b = _tenant(tenant_world, "pool-b")
    # A session with no tenant bound adds no criteria of its own: only the setting limits it.
    async with session_factory(app_engine)() as session, session.begin():
        await session.execute(SET_TENANT, {"tenant": str(b)})
        tasks = (await session.scalars(select(Task))).all()
    assert len(tasks) == counts[b]
    assert {task.tenant_id for task in tasks} == {b}


async def test_production_refuses_a_role_that_bypasses_row_security(
    tenant_world: TenantWorld,
) -> None:
    production = dataclasses.replace(
        tenant_world.settings, env=Environment.PRODUCTION, dev_mode=False
    )
    # as the owner (no role taken): refused
    app = create_app(dataclasses.replace(production, database_role=None))
    with pytest.raises(ConfigurationError, match="row-level security would not confine"):
        async with app.router.lifespan_context(app):
            pass
    # as membrane_app: served
    app = create_app(production)
    async with app.router.lifespan_context(app):
        pass


async def test_autocommit_connections_switch_and_clear_the_tenant(
    tenant_world: TenantWorld, owner: AsyncEngine
) -> None:
    # one pooled connection, reused by sessions of different tenants and of none, as the
    # API's query operations do
    engine = create_engine(tenant_world.settings.database_url, role=APP_ROLE, pool_size=1)
    try:
        store = store_of(engine)
        counts = await _task_counts(owner)
        for slug in ("pool-a", "pool-b", "pool-a"):
            tenant = _tenant(tenant_world, slug)
            async with store.read_sessions() as session:
                bind_tenant(session, tenant)
                seen = await session.scalar(text("SELECT count(*) FROM tasks"))
            assert seen == counts[tenant], slug
        for bound in (True, False):
            async with store.read_sessions() as session:
                if bound:
                    bind_tenant(session, None)
                assert await session.scalar(text("SELECT count(*) FROM tasks")) == 0
    finally:
        await engine.dispose()


async def test_bridge_and_silo_stores_have_the_policies_too(tenant_world: TenantWorld) -> None:
    entries = {e.slug: e for e in await list_tenants(tenant_world.settings)}
    for slug in ("bridge-c", "silo-d"):
        target = store_target(tenant_world.settings, entries[slug], tenant_world.secrets)
        schema = target.schema or "public"
        async with target_connection(target) as connection:
            secured = {
                row.relname
                for row in await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_policies p "
                        "ON p.tablename = c.relname AND p.schemaname = :schema "
                        "WHERE c.relnamespace = CAST(:schema AS regnamespace) "
                        "AND c.relrowsecurity"
                    ),
                    {"schema": schema},
                )
            }
        assert secured == {table.name for table in tenant_tables()}, slug
