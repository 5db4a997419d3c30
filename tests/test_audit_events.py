"""What the audit log records, and that its chain holds: mutations with their changes, refusals,
zone moves, reads across the membrane, a failed audit write, concurrent writers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from membrane.audit import keys
from membrane.audit.chain import Actor, AuditLog, CheckpointPolicy, Draft
from membrane.audit.encoding import GENESIS, document_hash, event_document
from membrane.audit.models import AuditCheckpoint, AuditEvent
from membrane.audit.recorder import REDACTED, Recorder
from membrane.db.engine import session_factory
from membrane.engagements.models import Task
from membrane.tenancy.isolation import bind_tenant
from tests.fixtures.demo import DemoData
from tests.support.audit import refuse_audit_events
from tests.support.ids import gid, raw_id
from tests.support.sql import sql

CREATE_TASK = """mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"""
UPDATE_TASK = """mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { id } } }"""
PUBLISH = """mutation($input: PublishToSharedInput!) { publishToShared(input: $input) { moved } }"""
REGISTER = """mutation($input: RegisterIdentityProviderInput!) {
  registerIdentityProvider(input: $input) { identityProvider { id } } }"""
TASKS = """query Tasks($id: ID!) { engagement(id: $id) { budgetCents
  tasks(first: 100) { edges { node { id costCents ownerOrganization { id } } } } } }"""


async def events_after(session: AsyncSession, tenant_id: str, seq: int) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tenant_id == uuid.UUID(tenant_id), AuditEvent.seq > seq)
        .order_by(AuditEvent.seq)
    )
    return list(rows)


async def head(session: AsyncSession, tenant_id: str) -> int:
    found = await session.execute(
        *sql("SELECT coalesce(max(seq), 0) FROM audit_events WHERE tenant_id = :t", t=tenant_id)
    )
    return int(found.scalar_one())


async def chain_since(
    sessions: async_sessionmaker[AsyncSession], tenant: uuid.UUID, before: int
) -> tuple[list[AuditEvent], str]:
    """The tenant's events after seq `before`, and the hash the first must link to."""
    async with sessions() as session:
        bind_tenant(session, tenant)
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
            )
        )
        previous = await session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == before))
    return events, previous or GENESIS


def assert_chain(events: list[AuditEvent], start_hash: str | None = None) -> None:
    """Every hash recomputes from its event, and links to the one before."""
    previous = start_hash
    for number, event in enumerate(events):
        if number:
            assert event.seq == events[number - 1].seq + 1
        if previous is not None:
            assert event.prev_hash == previous, event.seq
        assert document_hash(event_document(event)) == event.hash, event.seq
        previous = event.hash


async def test_a_mutation_records_its_changes_before_and_after(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    chloe = as_user("chloe")
    created = await chloe(
        CREATE_TASK, {"input": {"engagementId": erp, "title": "Before", "zone": "INTERNAL"}}
    )
    task = created["data"]["createTask"]["task"]["id"]
    start = await head(session, demo.tenant_id)
    # when chloe renames the task
    body = await chloe(UPDATE_TASK, {"input": {"id": task, "title": "After"}})
    assert "errors" not in body
    # then one event names the mutation, who did it, the task and the change
    [event] = await events_after(session, demo.tenant_id, start)
    assert (event.action, event.outcome.value) == ("updateTask", "SUCCESS")
    assert event.actor_user_id == uuid.UUID(demo.user("chloe")["id"])
    assert (event.target_type, event.target_id) == ("tasks", raw_id(task))
    assert event.engagement_id == uuid.UUID(raw_id(erp))
    assert event.zone == "INTERNAL"
    [change] = event.details["changes"]
    assert change["op"] == "update"
    assert change["fields"]["title"] == ["Before", "After"]
    assert_chain([event])


async def test_secrets_are_never_recorded(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    start = await head(session, demo.tenant_id)
    secret = "an-audited-client-secret"
    body = await as_user("alice")(
        REGISTER,
        {
            "input": {
                "organizationId": gid("Organization", demo.organization("globex")["id"]),
                "issuer": f"https://login-{uuid.uuid4().hex[:8]}.globex.example/",
                "clientId": "membrane",
                "clientSecret": secret,
            }
        },
    )
    assert "errors" not in body, body
    [event] = await events_after(session, demo.tenant_id, start)
    assert event.action == "registerIdentityProvider"
    assert secret not in str(event.details)
    fields = event.details["changes"][0]["fields"]
    assert fields["client_secret_secret"] == REDACTED
    assert fields["client_id"] == "membrane"


async def test_configured_sensitive_columns_are_redacted(
    session: AsyncSession, demo_data: DemoData
) -> None:
    # given a recorder told that tasks' internal notes are sensitive, tracking a real flush
    demo = demo_data.demo
    recorder = Recorder(Actor(client="test"), redacted=("tasks.internal_notes",))
    recorder.begin("updateTask")
    task = await session.scalar(
        select(Task).where(Task.tenant_id == uuid.UUID(demo.tenant_id)).limit(1)
    )
    assert task is not None
    with recorder.tracking(session):
        task.internal_notes = "margin 31 %"
        task.title = task.title + " (renamed)"
        await session.flush()
    [draft] = recorder.mutation_drafts()
    fields = draft.details["changes"][0]["fields"]
    # then the change is there, its values are not
    assert fields["internal_notes"][1] == REDACTED
    assert fields["title"][1].endswith("(renamed)")
    await session.rollback()


async def test_refusals_are_recorded_and_change_nothing(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    host_internal = (
        await session.execute(
            *sql(
                "SELECT id FROM tasks WHERE tenant_id = :t AND zone = 'INTERNAL' "
                "AND owner_organization_id = :o LIMIT 1",
                t=demo.tenant_id,
                o=demo.organization("northwind")["id"],
            )
        )
    ).scalar_one()
    start = await head(session, demo.tenant_id)
    # when farid of Acme tries to rename a host-internal task
    body = await as_user("farid")(
        UPDATE_TASK, {"input": {"id": gid("Task", str(host_internal)), "title": "Mine now"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # then a DENIED event says so, and names no change
    [event] = await events_after(session, demo.tenant_id, start)
    assert (event.action, event.outcome.value) == ("updateTask", "DENIED")
    assert event.details["code"] == "NOT_FOUND"
    assert "changes" not in event.details
    assert event.actor_organization_id == uuid.UUID(demo.organization("acme")["id"])


async def test_a_zone_move_is_recorded(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    chloe = as_user("chloe")
    created = await chloe(
        CREATE_TASK, {"input": {"engagementId": erp, "title": "To share", "zone": "INTERNAL"}}
    )
    task = created["data"]["createTask"]["task"]["id"]
    start = await head(session, demo.tenant_id)
    assert (await chloe(PUBLISH, {"input": {"id": task}}))["data"]["publishToShared"]["moved"]
    # a no-op move records nothing
    assert not (await chloe(PUBLISH, {"input": {"id": task}}))["data"]["publishToShared"]["moved"]
    [event] = await events_after(session, demo.tenant_id, start)
    assert event.action == "publishToShared"
    assert (event.target_type, event.target_id, event.zone) == ("tasks", raw_id(task), "SHARED")
    assert event.details["zone"] == ["INTERNAL", "SHARED"]


async def test_reads_across_the_membrane_are_recorded_once_per_operation(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    acme = demo.organization("acme")["id"]
    # erin (Acme) lists the ERP tasks: she reads the host's shared tasks
    start = await head(session, demo.tenant_id)
    erin = await as_user("erin")(
        "query Tasks($id: ID!) { engagement(id: $id) { tasks(first: 100) "
        "{ edges { node { id ownerOrganization { id } } } } } }",
        {"id": erp},
    )
    foreign = {
        raw_id(edge["node"]["id"])
        for edge in erin["data"]["engagement"]["tasks"]["edges"]
        if raw_id(edge["node"]["ownerOrganization"]["id"]) != acme
    }
    assert foreign
    [read] = await events_after(session, demo.tenant_id, start)
    assert (read.action, read.outcome.value) == ("read", "SUCCESS")
    assert read.details["operation"] == "Tasks"
    assert read.details["crossed"]["tasks"]["count"] == len(foreign)
    assert set(read.details["crossed"]["tasks"]["ids"]) == foreign
    # chloe (host contributor) may not read the budget: the refusal is in the event
    start = await head(session, demo.tenant_id)
    chloe = await as_user("chloe")(TASKS, {"id": erp})
    assert chloe["data"]["engagement"]["budgetCents"] is None
    [read] = await events_after(session, demo.tenant_id, start)
    assert read.outcome.value == "DENIED"
    assert "engagement.budgetCents" in read.details["denied"]
    # bruno (host finance) reads costs: the restricted fields are counted
    start = await head(session, demo.tenant_id)
    bruno = await as_user("bruno")(TASKS, {"id": erp})
    costs = len(bruno["data"]["engagement"]["tasks"]["edges"])
    [read] = await events_after(session, demo.tenant_id, start)
    assert read.details["restricted"]["Task.costCents"] == costs
    assert read.details["restricted"]["Engagement.budgetCents"] == 1


async def test_a_failed_audit_write_rolls_the_mutation_back(
    as_user: Any, demo_data: DemoData, session: AsyncSession, backend: str
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    chloe = as_user("chloe")
    created = await chloe(
        CREATE_TASK, {"input": {"engagementId": erp, "title": "Kept", "zone": "INTERNAL"}}
    )
    task = created["data"]["createTask"]["task"]["id"]
    # given a database that refuses to store the audit event of updateTask
    await refuse_audit_events(session, backend, "updateTask")
    start = await head(session, demo.tenant_id)
    # when the task is renamed
    body = await chloe(UPDATE_TASK, {"input": {"id": task, "title": "Lost"}})
    # then the mutation fails as an internal error, and neither change nor event remains
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    title = await session.execute(*sql("SELECT title FROM tasks WHERE id = :id", id=raw_id(task)))
    assert title.scalar_one() == "Kept"
    assert [e.action for e in await events_after(session, demo.tenant_id, start)] == []


async def test_concurrent_writers_never_fork_the_chain(
    engine: AsyncEngine, demo_data: DemoData, tmp_path: Path
) -> None:
    # given one tenant and eight writers, each appending in its own transactions
    tenant = uuid.UUID(demo_data.other.tenant_id)
    log = AuditLog(keys.load_or_create(tmp_path / "audit"), CheckpointPolicy(every_events=25))
    sessions = session_factory(engine)

    async def writer(number: int) -> None:
        for batch in range(6):
            async with sessions() as session:
                bind_tenant(session, tenant)
                drafts = [
                    Draft(action="test.append", actor=Actor(client=f"writer-{number}"))
                    for _ in range(1 + batch % 3)
                ]
                await log.append(session, tenant, drafts)
                await session.commit()

    async with sessions() as session:
        bind_tenant(session, tenant)
        before = int(
            await session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
            or 0
        )
    await asyncio.gather(*(writer(number) for number in range(8)))
    # then every event has its own seq, in one unbroken chain, with signed checkpoints
    events, previous = await chain_since(sessions, tenant, before)
    async with sessions() as session:
        bind_tenant(session, tenant)
        checkpoints = list(
            await session.scalars(select(AuditCheckpoint).where(AuditCheckpoint.seq > before))
        )
    assert len(events) == 8 * (1 + 2 + 3 + 1 + 2 + 3)
    assert [e.seq for e in events] == list(range(before + 1, before + 1 + len(events)))
    assert_chain(events, previous)
    assert checkpoints
    for checkpoint in checkpoints:
        covered = next(e for e in events if e.seq == checkpoint.seq)
        assert checkpoint.hash == covered.hash
        payload = keys.verify(checkpoint.jws, log.keys.jwks())
        assert covered.hash.encode() in payload


async def test_reads_whose_event_cannot_be_written_are_not_answered(
    as_user: Any, demo_data: DemoData, session: AsyncSession, backend: str
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    bruno = as_user("bruno")
    # given a database that refuses to store read events
    await refuse_audit_events(session, backend, "read")
    # when bruno (host finance) reads costs, twice
    responses = [await bruno.post(TASKS, {"id": erp}) for _ in range(2)]
    # then no answer is delivered: each says the audit log cannot be written
    for response in responses:
        assert response.status_code == 503
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        assert "audit full" not in response.text
    # and once the database takes them again, reads are answered and recorded
    await session.execute(
        text("DROP TRIGGER refuse_audit" + (" ON audit_events" if backend == "postgresql" else ""))
    )
    start = await head(session, demo.tenant_id)
    answered = await bruno(TASKS, {"id": erp})
    assert answered["data"]["engagement"]["tasks"]["edges"]
    assert [e.action for e in await events_after(session, demo.tenant_id, start)] == ["read"]


async def test_concurrent_reads_share_the_transaction_of_their_events(
    engine: AsyncEngine, demo_data: DemoData, tmp_path: Path
) -> None:
    # given one tenant's audit log, and a count of the transactions committed
    tenant = uuid.UUID(demo_data.other.tenant_id)
    log = AuditLog(keys.load_or_create(tmp_path / "audit"))
    sessions = session_factory(engine)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    sqlalchemy_event.listen(engine.sync_engine, "commit", committed)
    async with sessions() as session:
        bind_tenant(session, tenant)
        before = int(await session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)
    # when thirty callers each commit one event of their own at once
    drafts = [Draft(action="read", actor=Actor(client=f"reader-{n}")) for n in range(30)]
    await asyncio.gather(*(log.append_committed(sessions, tenant, [d]) for d in drafts))
    sqlalchemy_event.remove(engine.sync_engine, "commit", committed)
    # then every event is in the chain once, written in far fewer transactions than callers
    events, previous = await chain_since(sessions, tenant, before)
    assert sorted(e.actor_client or "" for e in events) == sorted(
        d.actor.client or "" for d in drafts
    )
    assert [e.seq for e in events] == list(range(before + 1, before + 31))
    assert_chain(events, previous)
    assert 1 <= len(commits) <= 3


async def test_a_created_row_is_named_and_each_row_listed_once(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    start = await head(session, demo.tenant_id)
    created = await as_user("chloe")(
        CREATE_TASK, {"input": {"engagementId": erp, "title": "Named", "zone": "INTERNAL"}}
    )
    task = raw_id(created["data"]["createTask"]["task"]["id"])
    [event] = await events_after(session, demo.tenant_id, start)
    assert (event.target_type, event.target_id) == ("tasks", task)
    rows = [(change["type"], change["id"]) for change in event.details["changes"]]
    assert rows.count(("tasks", task)) == 1
    assert event.details["changes"][0]["fields"]["title"] == "Named"
