"""Changes to a tenant itself are recorded in its own chain, as made by whoever ran the
command: `tenants create`, `suspend`, `resume` and `move`; a change whose event cannot be
written does not stand."""

from __future__ import annotations

import asyncio
import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from membrane.audit.models import AuditCheckpoint, AuditEvent
from membrane.audit.setup import audit_log
from membrane.cli.main import main
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.enums import TenantStatus
from membrane.tenancy.provisioning import list_tenants, store_session, store_target
from tests.fixtures.tenants import TenantWorld
from tests.support.audit import refuse_audit_events


def entry_of(world: TenantWorld, slug: str) -> CatalogEntry:
    entries = asyncio.run(list_tenants(world.settings))
    return next(entry for entry in entries if entry.slug == slug)


def events_of(world: TenantWorld, slug: str) -> list[AuditEvent]:
    entry = entry_of(world, slug)

    async def read() -> list[AuditEvent]:
        target = store_target(world.settings, entry, world.secrets)
        async with store_session(target, entry) as session:
            found = await session.scalars(
                select(AuditEvent).where(AuditEvent.tenant_id == entry.id).order_by(AuditEvent.seq)
            )
            return list(found)

    return asyncio.run(read())


def signed_through(world: TenantWorld, slug: str) -> int:
    """The seq of the chain's newest signed checkpoint."""
    entry = entry_of(world, slug)

    async def read() -> int:
        target = store_target(world.settings, entry, world.secrets)
        async with store_session(target, entry) as session:
            found = await session.scalar(
                select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.tenant_id == entry.id)
            )
            return int(found or 0)

    return asyncio.run(read())


def assert_verifies(
    world: TenantWorld, slug: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole chain, exported, verifies offline."""
    export, jwks = folder / f"{slug}.jsonl", folder / "jwks.json"
    jwks.write_text(json.dumps(audit_log(world.settings).keys.jwks()))
    assert main(["audit", "export", "--tenant", slug, "-o", str(export)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(export), "--keys", str(jwks)]) == 0
    assert "verified" in capsys.readouterr().out


def assert_by_cli(event: AuditEvent, entry: CatalogEntry) -> None:
    assert (event.actor_client, event.actor_user_agent) == (
        "cli",
        f"membrane cli ({getpass.getuser()})",
    )
    assert (event.target_type, event.target_id) == ("tenants", str(entry.id))
    assert event.outcome.value == "SUCCESS"


@pytest.mark.parametrize("strategy", ["pool", "bridge", "silo"])
def test_a_new_tenant_s_chain_starts_with_its_creation(
    environment: TenantWorld, strategy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slug = f"new-{strategy}"
    command = ["tenants", "create", slug, "--name", "New", "--strategy", strategy]
    url = environment.databases.url_for(slug) if strategy == "silo" else None
    assert main(command + (["--database-url", url] if url else [])) == 0
    entry = entry_of(environment, slug)
    [created] = events_of(environment, slug)
    assert created.action == "tenants.create" and created.seq == 1
    assert_by_cli(created, entry)
    [change] = created.details["changes"]
    assert change["op"] == "create"
    assert {k: change["fields"][k] for k in ("slug", "name", "strategy")} == {
        "slug": slug,
        "name": "New",
        "strategy": strategy,
    }
    if url:  # the silo's database URL is a secret: not even its database name is told
        database = make_url(url).database or ""
        assert database and database not in json.dumps(created.details)
    # no process of the command stays to sign later: the event is signed at once
    assert signed_through(environment, slug) == created.seq
    assert_verifies(environment, slug, tmp_path, capsys)


@pytest.mark.parametrize("slug", ["pool-b", "silo-d"])
def test_suspending_and_resuming_are_recorded(
    environment: TenantWorld, slug: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(events_of(environment, slug))
    assert main(["tenants", "suspend", slug]) == 0
    assert main(["tenants", "suspend", slug]) == 0  # already suspended: nothing changes
    assert main(["tenants", "resume", slug]) == 0
    entry = entry_of(environment, slug)
    suspended, resumed = events_of(environment, slug)[before:]
    assert (suspended.action, resumed.action) == ("tenants.suspend", "tenants.resume")
    for event in (suspended, resumed):
        assert_by_cli(event, entry)
    assert suspended.details["changes"][0]["fields"] == {"status": ["ACTIVE", "SUSPENDED"]}
    assert resumed.details["changes"][0]["fields"] == {"status": ["SUSPENDED", "ACTIVE"]}
    assert signed_through(environment, slug) == resumed.seq
    assert_verifies(environment, slug, tmp_path, capsys)


def test_a_suspension_that_cannot_be_recorded_does_not_stand(
    environment: TenantWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a silo tenant whose store refuses the event of a suspension
    world = environment
    entry = entry_of(world, "silo-d")
    target = store_target(world.settings, entry, world.secrets)
    drop = "DROP TRIGGER refuse_audit" + ("" if world.backend == "sqlite" else " ON audit_events")

    async def store_sql(*statements: str) -> None:
        async with store_session(target, entry) as session:
            for statement in statements:
                await session.execute(text(statement))
            await session.commit()

    async def refuse() -> None:
        async with store_session(target, entry) as session:
            await refuse_audit_events(session, world.backend, "tenants.suspend")
            await session.commit()

    asyncio.run(refuse())
    before = len(events_of(world, "silo-d"))
    capsys.readouterr()
    try:
        # when it is suspended
        status = main(["tenants", "suspend", "silo-d"])
    finally:
        cleanup = [drop] if world.backend == "sqlite" else [drop, "DROP FUNCTION refuse_audit()"]
        asyncio.run(store_sql(*cleanup))
    # then the command fails, the tenant stays ACTIVE, and the log has nothing new
    assert status == 1
    assert "keeps its status" in capsys.readouterr().err
    assert entry_of(world, "silo-d").status is TenantStatus.ACTIVE
    assert len(events_of(world, "silo-d")) == before


def test_a_move_is_recorded_in_the_chain_where_the_tenant_now_lives(
    environment: TenantWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = events_of(environment, "pool-a")
    assert main(["tenants", "move", "pool-a", "--to", "bridge", "--drain-seconds", "0"]) == 0
    entry = entry_of(environment, "pool-a")
    after = events_of(environment, "pool-a")
    # the events from before the move came along, and the move follows them
    assert [e.hash for e in after[: len(before)]] == [e.hash for e in before]
    [moved] = after[len(before) :]
    assert moved.action == "tenants.move"
    assert_by_cli(moved, entry)
    assert moved.details["changes"][0]["fields"]["strategy"] == ["pool", "bridge"]
    tables = moved.details["tables"]
    assert tables["tasks"]["rows"] > 0 and len(tables["tasks"]["sha256"]) == 64
    assert moved.details["rows"] == sum(t["rows"] for t in tables.values())
    assert_verifies(environment, "pool-a", tmp_path, capsys)
