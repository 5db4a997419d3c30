"""`membrane audit`: the JSONL export of a tenant's chain, its offline verification naming the
first problem (modified, missing, inserted, reordered events; forged or misplaced
checkpoints), checkpoints on demand, archiving and pruning, and the commands themselves."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import KeySet, OKPKey
from sqlalchemy import Table, delete, event, insert, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncResult, AsyncSession
from starlette.applications import Starlette

from membrane.audit import keys
from membrane.audit.chain import SYSTEM, AuditLog, Draft
from membrane.audit.encoding import ENCODING, canonical, document_hash, event_document
from membrane.audit.export import dump_line, export_lines, write_lines
from membrane.audit.models import AuditCheckpoint, AuditEvent
from membrane.audit.retention import PRUNE_ACTION, archive, checkpoint_now, prune
from membrane.audit.setup import audit_log
from membrane.audit.verify import ChainError, read_jsonl, verify_lines
from membrane.cli.main import main
from membrane.config import Settings
from membrane.db.base import uuid7
from membrane.db.engine import create_engine, session_factory
from membrane.demo.seed import seed_demo
from membrane.errors import ConflictError
from membrane.secrets import secret_box
from membrane.tenancy.provisioning import tenant_session
from tests.fixtures.demo import DemoData
from tests.support.ids import gid

CREATE_TASK = """mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"""
UPDATE_TASK = """mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { id } } }"""

EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
Line = dict[str, Any]


def runtime_log(app: Starlette) -> AuditLog:
    log: AuditLog = app.state.runtime.audit
    return log


async def mutate(as_user: Any, demo_data: DemoData, count: int) -> None:
    """`count` audit events, from real mutations: chloe creates tasks and renames them."""
    erp = gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])
    chloe = as_user("chloe")
    task = None
    for number in range(count):
        if task is None or number % 2 == 0:
            body = await chloe(
                CREATE_TASK,
                {"input": {"engagementId": erp, "title": f"Audit {number}", "zone": "INTERNAL"}},
            )
            task = body["data"]["createTask"]["task"]["id"]
        else:
            body = await chloe(UPDATE_TASK, {"input": {"id": task, "title": f"Renamed {number}"}})
            assert "errors" not in body, body


async def exported(session: AsyncSession, tenant_id: uuid.UUID, **options: Any) -> list[Line]:
    return [line async for line in export_lines(session, tenant_id, **options)]


@pytest.fixture
def tenant(demo_data: DemoData) -> uuid.UUID:
    return uuid.UUID(demo_data.demo.tenant_id)


@pytest.fixture
def jwks(app: Starlette) -> dict[str, Any]:
    return runtime_log(app).keys.jwks()


async def chain_with_checkpoints(
    as_user: Any, demo_data: DemoData, app: Starlette, session: AsyncSession
) -> None:
    """Six new events, with a checkpoint signed after the third and after the sixth."""
    tenant_id = uuid.UUID(demo_data.demo.tenant_id)
    await mutate(as_user, demo_data, 3)
    assert await checkpoint_now(session, runtime_log(app), tenant_id) is not None
    await session.commit()
    await mutate(as_user, demo_data, 3)
    assert await checkpoint_now(session, runtime_log(app), tenant_id) is not None
    await session.commit()


def events_of(lines: list[Line]) -> list[Line]:
    return [line for line in lines if "checkpoint" not in line]


def position(lines: list[Line], seq: int) -> int:
    return next(
        i for i, line in enumerate(lines) if "checkpoint" not in line and line["seq"] == seq
    )


def problem(lines: list[Line], jwks: dict[str, Any], **options: Any) -> str:
    with pytest.raises(ChainError) as raised:
        verify_lines(iter(lines), jwks, **options)
    return str(raised.value)


def rehashed(line: Line) -> Line:
    body = {key: value for key, value in line.items() if key != "hash"}
    return {**body, "hash": document_hash(body)}


# -- an intact chain ---------------------------------------------------------------------


async def test_an_export_of_real_mutations_verifies(
    as_user: Any,
    demo_data: DemoData,
    app: Starlette,
    session: AsyncSession,
    tenant: uuid.UUID,
    jwks: dict[str, Any],
) -> None:
    await chain_with_checkpoints(as_user, demo_data, app, session)
    lines = await exported(session, tenant)
    events = events_of(lines)
    # each event line is the hashed document plus the stored hash, in seq order
    stored = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == tenant).order_by(AuditEvent.seq)
        )
    ).all()
    assert events == [{**event_document(e), "hash": e.hash} for e in stored]
    assert [e["action"] for e in events[-6:]] == ["createTask", "updateTask", "createTask"] * 2
    # a checkpoint line follows the event it covers
    for index, line in enumerate(lines):
        if "checkpoint" in line:
            assert lines[index - 1]["seq"] == line["checkpoint"]["seq"]
            assert lines[index - 1]["hash"] == line["checkpoint"]["hash"]
            assert line["keyId"] == runtime_log(app).keys.signing_key.kid
    assert lines[-1]["checkpoint"]["seq"] == events[-1]["seq"]
    # when it is written and read back as JSONL, it verifies
    report = verify_lines(read_jsonl(dump_line(line) for line in lines), jwks)
    assert (report.events, report.first_seq, report.last_seq) == (
        len(events),
        events[0]["seq"],
        events[-1]["seq"],
    )
    assert report.checkpoints == len(lines) - len(events) >= 2
    assert report.summary().startswith(
        f"{len(events)} events, {report.checkpoints} checkpoints verified, "
        f"from seq {events[0]['seq']} to {events[-1]['seq']}"
    )
    assert report.ends_at_checkpoint


async def test_an_export_from_a_point_starts_at_the_checkpoint_before_it(
    as_user: Any,
    demo_data: DemoData,
    app: Starlette,
    session: AsyncSession,
    tenant: uuid.UUID,
    jwks: dict[str, Any],
) -> None:
    await chain_with_checkpoints(as_user, demo_data, app, session)
    everything = await exported(session, tenant)
    events = events_of(everything)
    middle = events[-3]["seq"]  # the checkpoint after the third mutation covers seq middle - 1
    # when the export starts at the fifth event (seq middle + 1)
    lines = await exported(session, tenant, since_seq=middle + 1)
    # then it starts with the signed checkpoint before it, and verifies on its own
    assert lines[0]["checkpoint"]["seq"] == middle - 1
    assert lines[1]["seq"] == middle
    report = verify_lines(lines, jwks)
    assert (report.first_seq, report.anchor_seq, report.anchored_by) == (
        middle,
        middle - 1,
        "checkpoint",
    )
    assert "vouches for it" in report.summary()
    # by time: from the first event at or after it
    occurred = datetime.fromisoformat(events[-3]["occurredAt"])
    assert await exported(session, tenant, since=occurred) == lines
    assert await exported(session, tenant, since=datetime.now(UTC) + timedelta(days=1)) == []


# -- tampering in the database -------------------------------------------------------------


async def _modify(session: AsyncSession, tenant: uuid.UUID, events: list[Line]) -> str:
    target = events[-4]
    await session.execute(
        update(EVENTS)
        .where(EVENTS.c.tenant_id == tenant, EVENTS.c.seq == target["seq"])
        .values(details={**target["details"], "changes": []})
    )
    return f"event seq {target['seq']} (id {target['id']}) was modified"


async def _delete(session: AsyncSession, tenant: uuid.UUID, events: list[Line]) -> str:
    target = events[-4]
    await session.execute(
        delete(EVENTS).where(EVENTS.c.tenant_id == tenant, EVENTS.c.seq == target["seq"])
    )
    return f"event seq {target['seq']} is missing (deleted)"


async def _insert(session: AsyncSession, tenant: uuid.UUID, events: list[Line]) -> str:
    # a forged event at seq N, chained to N - 1, the real events from N on moved one up
    before, at = events[-5], events[-4]["seq"]
    later = EVENTS.c.seq >= at
    mine = EVENTS.c.tenant_id == tenant
    await session.execute(update(EVENTS).where(mine, later).values(seq=-EVENTS.c.seq))
    await session.execute(update(EVENTS).where(mine, EVENTS.c.seq < 0).values(seq=1 - EVENTS.c.seq))
    forged = AuditEvent(
        id=uuid7(),
        tenant_id=tenant,
        seq=at,
        occurred_at=datetime.fromisoformat(before["occurredAt"]),
        encoding=ENCODING,
        action="updateTask",
        outcome="SUCCESS",
        details={"changes": []},
        prev_hash=before["hash"],
    )
    forged.hash = document_hash(event_document(forged))
    row = {column.key: getattr(forged, column.key) for column in EVENTS.columns}
    await session.execute(insert(EVENTS), [row])
    return f"event seq {at} (id {forged.id}) was inserted"


async def _swap(session: AsyncSession, tenant: uuid.UUID, events: list[Line]) -> str:
    first, second = events[-5], events[-3]
    mine = EVENTS.c.tenant_id == tenant

    async def move(seq: int, to: int) -> None:
        await session.execute(update(EVENTS).where(mine, EVENTS.c.seq == seq).values(seq=to))

    await move(first["seq"], -1)
    await move(second["seq"], first["seq"])
    await move(-1, second["seq"])
    return f"event seq {first['seq']} (id {second['id']}) is out of order (reordered)"


@pytest.mark.parametrize("tamper", [_modify, _delete, _insert, _swap])
async def test_tampering_in_the_database_is_named(
    tamper: Any,
    as_user: Any,
    demo_data: DemoData,
    app: Starlette,
    session: AsyncSession,
    tenant: uuid.UUID,
    jwks: dict[str, Any],
) -> None:
    # given a chain of real mutations, verified
    await chain_with_checkpoints(as_user, demo_data, app, session)
    events = events_of(await exported(session, tenant))
    # when the database owner edits it
    expected = await tamper(session, tenant, events)
    # then an export no longer verifies, and the verifier names what was done
    assert expected in problem(await exported(session, tenant), jwks)


# -- tampering in an export file -----------------------------------------------------------


async def test_tampering_in_a_file_is_named(
    as_user: Any,
    demo_data: DemoData,
    app: Starlette,
    session: AsyncSession,
    tenant: uuid.UUID,
    jwks: dict[str, Any],
) -> None:
    await chain_with_checkpoints(as_user, demo_data, app, session)
    lines = await exported(session, tenant)
    verify_lines(lines, jwks)
    events = events_of(lines)
    seq = events[-3]["seq"]  # the first event after the middle checkpoint
    at = position(lines, seq)
    target = lines[at]

    def edited(change: Any) -> list[Line]:
        copied = copy.deepcopy(lines)
        change(copied)
        return copied

    def modify(copied: list[Line]) -> None:
        copied[at]["details"]["changes"][0]["fields"]["title"] = "Edited afterwards"

    def modify_and_rehash(copied: list[Line]) -> None:
        modify(copied)
        copied[at] = rehashed(copied[at])

    def rewrite_the_rest(copied: list[Line]) -> None:
        # whoever edits an event and recomputes every later hash still meets the checkpoint
        modify(copied)
        previous = None
        for index in range(at, len(copied)):
            if "checkpoint" in copied[index]:
                continue
            if previous is not None:
                copied[index]["prevHash"] = previous
            copied[index] = rehashed(copied[index])
            previous = copied[index]["hash"]

    forged = rehashed({**target, "id": str(uuid7()), "details": {"forged": True}})

    def insert_forged(copied: list[Line]) -> None:
        copied.insert(at, forged)

    def insert_unlinked(copied: list[Line]) -> None:
        copied.insert(at, rehashed({**forged, "prevHash": "1" * 64}))

    def insert_copy(copied: list[Line]) -> None:
        copied.insert(at, copy.deepcopy(lines[position(lines, events[0]["seq"])]))

    def insert_before_checkpoint(copied: list[Line]) -> None:
        copied.insert(at - 1, forged)  # between the covered event and its checkpoint

    def reorder(copied: list[Line]) -> None:
        copied[at], copied[at + 1] = copied[at + 1], copied[at]

    def move_later(copied: list[Line]) -> None:
        copied.insert(at + 3, copied.pop(at))

    def drop(copied: list[Line]) -> None:
        del copied[at]

    def drop_covered(copied: list[Line]) -> None:
        # the event the middle checkpoint covers
        del copied[at - 2]

    def forge_signature(copied: list[Line]) -> None:
        checkpoint = copied[at - 1]
        head, payload, signature = checkpoint["jws"].split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        checkpoint["jws"] = f"{head}.{payload}.{flipped}"

    def edit_checkpoint(copied: list[Line]) -> None:
        copied[at - 1]["checkpoint"]["hash"] = target["hash"]

    def sign_with_another_key(copied: list[Line]) -> None:
        intruder = keys.AuditKeys(OKPKey.generate_key("Ed25519"), KeySet([]))
        intruder.signing_key.ensure_kid()
        copied[at - 1]["jws"] = intruder.sign(canonical(copied[at - 1]["checkpoint"]))

    def move_checkpoint(copied: list[Line]) -> None:
        copied.insert(at + 1, copied.pop(at - 1))

    covered, following = events[-4], events[-2]
    cases: list[tuple[Any, str]] = [
        (modify, f"event seq {seq} (id {target['id']}) was modified"),
        (modify_and_rehash, f"event seq {seq} (id {target['id']}) was modified: seq {seq + 1}"),
        (rewrite_the_rest, f"checkpoint at seq {events[-1]['seq']}: hash does not match"),
        (insert_forged, f"event seq {seq} (id {forged['id']}) was inserted"),
        (insert_before_checkpoint, f"event seq {seq} (id {forged['id']}) was inserted"),
        (insert_unlinked, f"event seq {seq} (id {forged['id']}) was inserted before seq {seq}"),
        (insert_copy, f"event seq {events[0]['seq']} (id {events[0]['id']}) was inserted"),
        (reorder, f"event seq {seq + 1} (id {following['id']}) is out of order (reordered)"),
        (move_later, f"event seq {seq + 1} (id {following['id']}) is out of order (reordered)"),
        (drop, f"event seq {seq} is missing (deleted)"),
        (drop_covered, f"event seq {covered['seq']} is missing (deleted)"),
        (forge_signature, f"checkpoint at seq {seq - 1}: signature does not verify"),
        (edit_checkpoint, f"checkpoint at seq {seq - 1}: the line does not match its signed"),
        (sign_with_another_key, f"checkpoint at seq {seq - 1}: signature does not verify"),
        (move_checkpoint, f"checkpoint at seq {seq - 1} is out of order (reordered)"),
    ]
    for change, expected in cases:
        assert expected in problem(edited(change), jwks), change.__name__
    # a file whose first event (and the checkpoint covering it) is cut off misses it
    first = events[0]
    headless = [
        line
        for line in lines
        if line is not first and line.get("checkpoint", {}).get("seq") != first["seq"]
    ]
    assert f"event seq {first['seq']} is missing (deleted)" in problem(headless, jwks)
    # and a key set that does not hold the signing key verifies no checkpoint
    other = {"keys": [OKPKey.generate_key("Ed25519").as_dict(private=False)]}
    assert "signature does not verify" in problem(lines, other)


def test_the_verifier_reads_lines_as_they_come() -> None:
    # a generator of lines, which the verifier reads once
    def lines() -> Iterator[str]:
        previous = "0" * 64
        for seq in range(1, 4):
            document = {
                "v": ENCODING,
                "id": str(uuid7()),
                "tenantId": "t",
                "seq": seq,
                "details": {"n": seq},
                "prevHash": previous,
            }
            previous = document_hash(document)
            yield dump_line({**document, "hash": previous})
        yield "\n"

    report = verify_lines(read_jsonl(lines()), {"keys": []})
    assert (report.events, report.checkpoints, report.last_seq) == (3, 0, 3)
    assert "the last 3 event(s) are chained but not yet covered" in report.summary()
    with pytest.raises(ChainError, match="line 2 is not JSON"):
        list(read_jsonl(iter(["{}", "{not json"])))


async def test_the_export_streams(
    as_user: Any,
    demo_data: DemoData,
    session: AsyncSession,
    tenant: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await mutate(as_user, demo_data, 3)
    options: list[dict[str, Any]] = []
    event.listen(
        session.sync_session, "do_orm_execute", lambda s: options.append(dict(s.execution_options))
    )

    def refuse(*_: Any) -> None:
        raise AssertionError("the export loaded every row at once")

    for result_class in (Result, AsyncResult):
        monkeypatch.setattr(result_class, "all", refuse)
        monkeypatch.setattr(result_class, "fetchall", refuse)
    # the lines come from a server-side cursor, a batch at a time, as they are asked for
    lines = export_lines(session, tenant, batch=2)
    first = await anext(lines)
    assert "seq" in first or "checkpoint" in first
    await lines.aclose()
    assert any(o.get("yield_per") == 2 and o.get("stream_results") for o in options)

    # and they are written as they come
    class Sink:
        def __init__(self) -> None:
            self.written: list[str] = []

        def write(self, text: str) -> int:
            self.written.append(text)
            return len(text)

    async def some() -> AsyncIterator[Line]:
        async for line in export_lines(session, tenant, batch=2):
            yield line

    sink = Sink()
    events, checkpoints = await write_lines(some(), sink)  # type: ignore[arg-type]
    assert events >= 3 and len(sink.written) == events + checkpoints


# -- retention -----------------------------------------------------------------------------


async def test_archive_then_prune_keeps_the_chain_verifiable(
    as_user: Any,
    demo_data: DemoData,
    app: Starlette,
    session: AsyncSession,
    tenant: uuid.UUID,
    jwks: dict[str, Any],
) -> None:
    log = runtime_log(app)
    await chain_with_checkpoints(as_user, demo_data, app, session)
    events = events_of(await exported(session, tenant))
    # when the events before the fifth new one are archived (the fourth has no checkpoint)
    cut = events[-2]
    archived: list[Line] = []
    report = await archive(
        session, log, tenant, datetime.fromisoformat(cut["occurredAt"]), archived.append
    )
    # then the archive runs from the oldest event to the one before the cut-off, and ends at
    # a checkpoint signed for it
    assert (report.first_seq, report.last_seq) == (events[0]["seq"], cut["seq"] - 1)
    assert archived[-1]["checkpoint"]["seq"] == cut["seq"] - 1
    assert report == verify_lines(archived, jwks)
    signed = await session.get(AuditCheckpoint, (tenant, cut["seq"] - 1))
    assert signed is not None
    # a changed archive is refused, and so is an archive the database no longer matches
    tampered = copy.deepcopy(archived)
    tampered[position(tampered, events[1]["seq"])]["details"] = {}
    with pytest.raises(ChainError, match="was modified"):
        await prune(session, log, tenant, tampered)
    second = events[1]
    where = (EVENTS.c.tenant_id == tenant, EVENTS.c.seq == second["seq"])
    await session.execute(update(EVENTS).where(*where).values(details={}))
    with pytest.raises(ConflictError, match=f"event seq {second['seq']} .* differs from the"):
        await prune(session, log, tenant, archived)
    await session.execute(update(EVENTS).where(*where).values(details=second["details"]))
    with pytest.raises(Exception, match="does not end at a signed checkpoint"):
        await prune(session, log, tenant, archived[:-1])
    # when it is pruned
    pruned = await prune(session, log, tenant, iter(archived), archive_sha256="ab" * 32)
    assert pruned.events == report.events
    remaining = (
        await session.scalars(select(AuditEvent.seq).where(AuditEvent.tenant_id == tenant))
    ).all()
    assert min(remaining) == cut["seq"]
    # then the export starts at the archive's last checkpoint and verifies on its own, and
    # after the archive; the pruning is itself an event of the chain
    rest = await exported(session, tenant)
    assert rest[0] == archived[-1]
    alone = verify_lines(rest, jwks)
    assert alone.first_seq == cut["seq"] and alone.anchored_by == "checkpoint"
    across = verify_lines(rest, jwks, after=verify_lines(archived, jwks))
    assert across.anchored_by == "archive" and across.tenant_id == str(tenant)
    assert "verified in the archive" in across.summary()
    last = events_of(rest)[-1]
    assert last["action"] == PRUNE_ACTION
    assert last["details"]["throughSeq"] == report.last_seq
    # a file that does not continue the archive is refused
    assert "overlaps the archive" in problem(archived[1:], jwks, after=verify_lines(archived, jwks))
    assert f"event seq {cut['seq']} is missing (deleted)" in problem(
        rest[2:], jwks, after=verify_lines(archived, jwks)
    )
    # and the same archive cannot be pruned twice
    with pytest.raises(ConflictError, match="pruned already"):
        await prune(session, log, tenant, archived)


# -- the commands ----------------------------------------------------------------------------


async def _cli_tenant(settings: Settings, slug: str, events: int) -> None:
    """A tenant of its own, committed, with `events` events (backdated a day apart)."""
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await seed_demo(session, slug=slug)
    finally:
        await engine.dispose()
    log = audit_log(settings)
    now = datetime.now(UTC)
    async with tenant_session(settings, secret_box(settings), slug) as (entry, session):
        for number in range(events):
            draft = Draft(
                action="test",
                actor=SYSTEM,
                details={"n": number},
                occurred_at=now - timedelta(days=events - number),
            )
            await log.append(session, entry.id, [draft])
        await session.commit()


async def _drop_tenant(settings: Settings, slug: str) -> None:
    from sqlalchemy import text

    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM tenants WHERE slug = :s"), {"s": slug})
    finally:
        await engine.dispose()


def test_the_commands(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("MEMBRANE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MEMBRANE_DATABASE_URL", database_url)
    monkeypatch.setenv("MEMBRANE_KEYS_DIR", str(tmp_path / "keys"))
    settings = Settings.from_env()
    slug = f"audit-cli-{uuid.uuid4().hex[:6]}"
    asyncio.run(_cli_tenant(settings, slug, 6))
    try:
        _run_the_commands(settings, slug, tmp_path, capsys)
    finally:
        asyncio.run(_drop_tenant(settings, slug))


def _run_the_commands(
    settings: Settings, slug: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        status = main(["audit", *args])
        out, err = capsys.readouterr()
        return status, out, err

    jwks = folder / "audit-keys.json"
    jwks.write_text(json.dumps(audit_log(settings).keys.jwks()))
    # keys list: the one key, signing
    status, out, _ = run("keys", "list", "--json")
    [key] = json.loads(out)
    assert (status, key["state"]) == (0, "signing")
    # checkpoint: signs the head, once
    status, out, _ = run("checkpoint", "--tenant", slug)
    assert status == 0 and "checkpoint of seq 6 signed" in out
    assert "already has a checkpoint" in run("checkpoint", "--tenant", slug)[1]
    # export to stdout and to a file; verify
    status, out, err = run("export", "--tenant", slug)
    assert status == 0 and "6 events and 2 checkpoints" in err
    export = folder / "export.jsonl"
    assert run("export", "--tenant", slug, "-o", str(export))[0] == 0
    assert export.read_text() == out
    status, out, _ = run("verify", str(export), "--keys", str(jwks))
    assert status == 0
    assert "6 events, 2 checkpoints verified, from seq 1 to 6" in out
    # a modified file: exit 1, the problem named
    lines = export.read_text().splitlines()
    third = json.loads(lines[3])
    third["details"]["n"] = 99
    lines[3] = json.dumps(third)
    tampered = folder / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    status, _, err = run("verify", str(tampered), "--keys", str(jwks))
    assert status == 1 and f"event seq 3 (id {third['id']}) was modified" in err
    # archive the events older than three days (seq 1 to 3), then prune them
    before = (datetime.now(UTC) - timedelta(days=3, hours=1)).isoformat()
    archived = folder / "archive.jsonl"
    status, out, _ = run("archive", "--tenant", slug, "--before", before, "-o", str(archived))
    assert status == 0 and "3 events (seq 1 to 3)" in out
    assert run("archive", "--tenant", slug, "--before", before, "-o", str(archived))[0] == 1
    status, out, _ = run("prune", "--tenant", slug, "--archive", str(archived))
    assert status == 0 and "3 events (seq 1 to 3)" in out
    status, _, err = run("prune", "--tenant", slug, "--archive", str(archived))
    assert status == 1 and "nothing pruned" in err
    # what remains verifies after the archive
    rest = folder / "rest.jsonl"
    assert run("export", "--tenant", slug, "-o", str(rest))[0] == 0
    status, out, _ = run("verify", str(rest), "--keys", str(jwks), "--after", str(archived))
    assert status == 0
    assert "rest.jsonl: 4 events, 2 checkpoints verified, from seq 4 to 7" in out
    # keys add: a second key, which signs from now on
    assert run("keys", "add")[0] == 0
    status, out, _ = run("keys", "list")
    assert status == 0 and [line.split()[1] for line in out.splitlines()] == [
        "verifying",
        "signing",
    ]
