"""A session bound to a tenant filters every ORM statement by it and stamps it on new rows,
whatever the statement itself says (the second layer, under the repositories' own
predicates and over PostgreSQL's row-level security)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from membrane.db.base import utcnow
from membrane.engagements.models import Task
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus
from membrane.tenancy.isolation import TenantMismatchError, bind_tenant
from membrane.tenancy.models import Organization
from tests.fixtures.demo import DemoData


async def _count_all(sessions: async_sessionmaker[AsyncSession], tenant: str) -> int:
    async with sessions() as session:
        value = await session.scalar(
            select(func.count()).select_from(Task).where(Task.tenant_id == uuid.UUID(tenant))
        )
        return int(value or 0)


async def test_orm_statements_see_only_the_bound_tenant(
    sessions: async_sessionmaker[AsyncSession], demo_data: DemoData
) -> None:
    demo, other = demo_data.demo.tenant_id, demo_data.other.tenant_id
    demo_tasks = await _count_all(sessions, demo)
    async with sessions() as session:
        bind_tenant(session, uuid.UUID(demo))
        # a statement with no tenant predicate at all
        tasks = (await session.scalars(select(Task))).all()
        assert len(tasks) == demo_tasks and {str(t.tenant_id) for t in tasks} == {demo}
        # one that asks for another tenant's rows outright
        theirs = await session.scalars(select(Task).where(Task.tenant_id == uuid.UUID(other)))
        assert theirs.all() == []
        # and an UPDATE without WHERE
        result = await session.execute(
            update(Task).values(title="renamed"), execution_options={"synchronize_session": False}
        )
        assert result.rowcount == demo_tasks  # type: ignore[attr-defined]
        await session.rollback()


async def test_new_rows_take_the_sessions_tenant_and_refuse_another(
    sessions: async_sessionmaker[AsyncSession], demo_data: DemoData
) -> None:
    demo, other = uuid.UUID(demo_data.demo.tenant_id), uuid.UUID(demo_data.other.tenant_id)
    async with sessions() as session:
        bind_tenant(session, demo)
        stamped = Organization(slug="stamped", name="Stamped", kind=OrganizationKind.PARTNER)
        session.add(stamped)
        await session.flush()
        assert stamped.tenant_id == demo
        session.add(
            Organization(
                tenant_id=other, slug="intruder", name="Intruder", kind=OrganizationKind.PARTNER
            )
        )
        with pytest.raises(TenantMismatchError):
            await session.flush()
        await session.rollback()
    async with sessions() as session:
        bind_tenant(session, None)  # catalog work: no tenant rows may be written
        session.add(Organization(slug="x", name="X", kind=OrganizationKind.PARTNER))
        with pytest.raises(TenantMismatchError):
            await session.flush()


async def test_rows_and_statements_cannot_be_moved_to_another_tenant(
    sessions: async_sessionmaker[AsyncSession], demo_data: DemoData
) -> None:
    demo, other = uuid.UUID(demo_data.demo.tenant_id), uuid.UUID(demo_data.other.tenant_id)
    async with sessions() as session:
        bind_tenant(session, demo)
        task = (await session.scalars(select(Task).limit(1))).one()
        task.tenant_id = other
        with pytest.raises(TenantMismatchError):
            await session.flush()
        await session.rollback()
    async with sessions() as session:
        bind_tenant(session, demo)
        with pytest.raises(TenantMismatchError):
            await session.execute(
                update(Task).values(tenant_id=other),
                execution_options={"synchronize_session": False},
            )
        await session.rollback()


@pytest.mark.parametrize(
    "form", ["values", "column-keys", "multi-values", "positional", "parameters"]
)
async def test_insert_statements_cannot_name_another_tenant(
    sessions: async_sessionmaker[AsyncSession], demo_data: DemoData, form: str
) -> None:
    demo, other = uuid.UUID(demo_data.demo.tenant_id), uuid.UUID(demo_data.other.tenant_id)

    def row(tenant: uuid.UUID, slug: str) -> dict[str, object]:
        return {
            "id": uuid.uuid4(),
            "tenant_id": tenant,
            "slug": slug,
            "name": slug,
            "kind": OrganizationKind.PARTNER,
            "status": OrganizationStatus.ACTIVE,
            "created_at": utcnow(),
        }

    def write(rows: list[dict[str, object]]) -> tuple[object, object]:
        if form == "values":
            return insert(Organization).values(**rows[-1]), None
        if form == "column-keys":  # keyed by the mapped attributes, not their names
            keyed = {getattr(Organization, name): value for name, value in rows[-1].items()}
            return insert(Organization).values(keyed), None
        if form == "multi-values":
            return insert(Organization).values(rows), None
        if form == "positional":  # rows as tuples, in the table's column order
            columns = [column.key for column in Organization.__table__.columns]
            return insert(Organization).values([tuple(r[c] for c in columns) for r in rows]), None
        return insert(Organization), rows

    async with sessions() as session:
        bind_tenant(session, demo)
        statement, parameters = write([row(demo, "own-a"), row(demo, "own-b")])
        await session.execute(statement, parameters)  # type: ignore[arg-type]
        statement, parameters = write([row(demo, "own-c"), row(other, "intruder")])
        with pytest.raises(TenantMismatchError):
            await session.execute(statement, parameters)  # type: ignore[arg-type]
        await session.rollback()
