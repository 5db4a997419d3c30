"""Tenant stores: `membrane db upgrade` across mixed strategies (one store failing), the
`tenants` commands, moves that refuse a copy that does not verify, and bounded engines."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import text, update

from membrane.cli.main import main
from membrane.db.engine import create_engine
from membrane.migrations.runner import alembic_config
from membrane.secrets import SecretBox, SecretError
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.models import Tenant
from membrane.tenancy.move import MoveVerificationError, move_tenant
from membrane.tenancy.provisioning import (
    StoreTarget,
    create_tenant,
    list_tenants,
    migrate_store,
    prepare_store,
    set_status,
    store_target,
    target_connection,
)
from membrane.tenancy.stores import bridge_schema
from tests.fixtures.tenants import Databases, TenantWorld, serve, world_settings


async def _revision(target: StoreTarget) -> str | None:
    table = "alembic_version" if target.schema is None else f'"{target.schema}".alembic_version'
    async with target_connection(target) as connection:
        value = await connection.scalar(text(f"SELECT version_num FROM {table}"))
    return None if value is None else str(value)


def _targets(world: TenantWorld) -> dict[str, StoreTarget]:
    entries = asyncio.run(list_tenants(world.settings))
    return {e.slug: store_target(world.settings, e, world.secrets) for e in entries}


def test_db_upgrade_migrates_every_store_and_reports_a_failing_one(
    databases: Databases, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given tenants of every strategy, their stores one migration behind, and a silo whose
    # database has gone
    settings = world_settings(databases, asyncio.run(databases.new("mixed")))
    monkeypatch.setenv("MEMBRANE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEMBRANE_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", ",".join(settings.secret_keys))
    assert main(["db", "upgrade"]) == 0
    for slug, strategy, url in (
        ("shared", "pool", None),
        ("schema", "bridge", None),
        ("own", "silo", databases.url_for("own")),
        ("broken", "silo", databases.url_for("broken")),
    ):
        argv = ["tenants", "create", slug, "--strategy", strategy]
        assert main([*argv, *(["--database-url", url] if url else [])]) == 0
    world = TenantWorld(databases, settings, _secret_box(settings), {})
    targets = _targets(world)
    for slug in ("schema", "own"):
        command.downgrade(alembic_config(targets[slug].url, targets[slug].schema), "0002")
        assert asyncio.run(_revision(targets[slug])) == "0002"
    gone = (
        f"sqlite:///{databases.folder / 'vanished' / 'broken.db'}"
        if databases.backend == "sqlite"
        else "postgresql://root:s3cret@127.0.0.1:1/broken"
    )
    asyncio.run(_set_secret(world, "broken", gone))
    capsys.readouterr()

    # when every store is upgraded
    status = main(["db", "upgrade"])

    # then the failure is reported for its tenant alone, without secrets, and the others
    # are at the newest revision
    out, err = capsys.readouterr()
    assert status == 1
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["shared"].split()[1:3] == ["pool", "ok"]
    assert lines["schema"].split()[1:3] == ["bridge", "ok"]
    assert lines["own"].split()[1:3] == ["silo", "ok"]
    assert lines["broken"].split()[1:3] == ["silo", "FAILED"]
    assert "s3cret" not in out + err
    assert "broken" in err
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    for slug in ("schema", "own"):
        assert asyncio.run(_revision(targets[slug])) == head
    # and one tenant's store can be migrated by name, the failing one left out
    command.downgrade(alembic_config(targets["own"].url, targets["own"].schema), "0002")
    assert main(["tenants", "migrate", "own", "shared"]) == 0
    out = capsys.readouterr().out
    assert "own" in out and "broken" not in out and "schema" not in out
    assert asyncio.run(_revision(targets["own"])) == head
    assert main(["tenants", "migrate", "nobody"]) == 1


def _secret_box(settings: Any) -> Any:
    from membrane.secrets import secret_box

    return secret_box(settings)


async def _set_secret(world: TenantWorld, slug: str, url: str) -> None:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Tenant)
                .where(Tenant.slug == slug)
                .values(database_url_secret=world.secrets.encrypt(url))
            )
    finally:
        await engine.dispose()


def test_tenants_commands(environment: TenantWorld, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["tenants", "list", "--json"]) == 0
    listed = {t["slug"]: t for t in json.loads(capsys.readouterr().out)}
    assert {slug: listed[slug]["strategy"] for slug in environment.tenants} == {
        "pool-a": "pool",
        "pool-b": "pool",
        "bridge-c": "bridge",
        "silo-d": "silo",
    }
    # a silo's database URL is a secret: never listed, stored only encrypted
    assert "database_url" not in json.dumps(listed) and "sqlite:" not in json.dumps(listed)
    assert main(["tenants", "suspend", "pool-b"]) == 0
    assert main(["tenants", "resume", "pool-b"]) == 0
    assert "tenant 'pool-b' is ACTIVE" in capsys.readouterr().out
    assert main(["tenants", "suspend", "nobody"]) == 1
    assert main(["tenants", "create", "Not_A_Label"]) == 2
    assert main(["tenants", "create", "needs-url", "--strategy", "silo"]) == 2
    assert main(["tenants", "move", "pool-a", "--to", "pool"]) == 2
    err = capsys.readouterr().err
    assert "DNS label" in err and "needs --database-url" in err and "already uses pool" in err


@pytest.mark.postgres_only
async def test_a_move_whose_copy_differs_switches_nothing(tenant_world: TenantWorld) -> None:
    # given the bridge schema pool-b would move to, where a trigger alters copied tasks
    world = tenant_world
    entries = {e.slug: e for e in await list_tenants(world.settings)}
    source = entries["pool-b"]
    schema = bridge_schema(source.id)
    target = StoreTarget(world.settings.database_url, schema, default=False)
    await prepare_store(target)
    await migrate_store(target)
    async with target_connection(target) as connection:
        await connection.execute(
            text(
                f'CREATE FUNCTION "{schema}".garble() RETURNS trigger LANGUAGE plpgsql AS '
                "$$ BEGIN NEW.title := NEW.title || '!'; RETURN NEW; END $$"
            )
        )
        await connection.execute(
            text(
                f'CREATE TRIGGER garble BEFORE INSERT ON "{schema}".tasks FOR EACH ROW '
                f'EXECUTE FUNCTION "{schema}".garble()'
            )
        )
    before = await _pool_rows(world, source)

    # when it is moved
    with pytest.raises(MoveVerificationError, match="tasks"):
        await move_tenant(
            world.settings, world.secrets, slug="pool-b", to=TenantStrategy.BRIDGE, drain_seconds=0
        )

    # then the catalog still points at the pool, the tenant is active again, its rows are
    # all still there, and the copy was rolled back
    after = {e.slug: e for e in await list_tenants(world.settings)}["pool-b"]
    assert (after.strategy, after.status) == (TenantStrategy.POOL, TenantStatus.ACTIVE)
    assert await _pool_rows(world, source) == before
    async with target_connection(target) as connection:
        assert await connection.scalar(text(f'SELECT count(*) FROM "{schema}".tasks')) == 0
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


async def _pool_rows(world: TenantWorld, entry: CatalogEntry) -> int:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.connect() as connection:
            value = await connection.scalar(
                text("SELECT count(*) FROM tasks WHERE tenant_id = :t"), {"t": entry.id}
            )
            return int(value or 0)
    finally:
        await engine.dispose()


async def test_a_tenant_moves_and_back_with_its_data(tenant_world: TenantWorld) -> None:
    world = tenant_world
    async with serve(world.settings) as served:
        token = served.token(world.tenants["bridge-c"], "alice")
        query = "{ engagements { edges { node { name tasks { edges { node { title } } } } } } }"
        before = (await served.graphql(token, query)).json()
        await move_tenant(
            world.settings, world.secrets, slug="bridge-c", to=TenantStrategy.POOL, drain_seconds=0
        )

        assert (await served.until(token, query)).json() == before
        await move_tenant(
            world.settings,
            world.secrets,
            slug="bridge-c",
            to=TenantStrategy.BRIDGE,
            drain_seconds=0,
        )
        assert (await served.until(token, query)).json() == before
        assert "errors" not in before and before["data"]["engagements"]["edges"]


async def test_tenant_engines_are_bounded(tenant_world: TenantWorld) -> None:
    # given room for one tenant engine and two silo tenants (plus a bridge one on SQLite)
    world = tenant_world
    second = await create_tenant(
        world.settings,
        world.secrets,
        slug="silo-e",
        name=None,
        strategy=TenantStrategy.SILO,
        database_url=world.databases.url_for("silo-e"),
    )
    settings = dataclasses.replace(world.settings, silo_engines_max=1)
    async with serve(settings) as served:
        stores = served.runtime.stores
        silo_d = world.tenants["silo-d"]
        for _ in range(3):
            token = served.token(silo_d, "alice")
            assert (await served.graphql(token, "{ viewer { user { id } } }")).status_code == 200
            stores.store_for(second)
            assert stores.open_engines <= 1
        # the evicted engines are disposed in the background, and that finishes
        await asyncio.wait_for(asyncio.gather(*stores._pending), timeout=10)
        assert not stores._pending


def test_secrets_rotate_to_a_new_key(
    environment: TenantWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = environment.settings.secret_keys[0]
    new = Fernet.generate_key().decode()

    def stored() -> str:
        entries = asyncio.run(list_tenants(environment.settings))
        secret = next(e for e in entries if e.slug == "silo-d").database_url_secret
        assert secret is not None
        return secret

    # when a new key is put first and the secrets rotated
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", f"{new},{old}")
    assert main(["tenants", "rotate-secrets"]) == 0
    assert "re-encrypted" in capsys.readouterr().out
    # then the new key alone opens them, and the old one no longer does
    url = SecretBox([new.encode()]).decrypt(stored())
    assert url.startswith(("sqlite:", "postgresql:"))
    with pytest.raises(SecretError):
        SecretBox([old.encode()]).decrypt(stored())
    # (and back, for the rest of the module)
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", f"{old},{new}")
    assert main(["tenants", "rotate-secrets"]) == 0
    assert SecretBox([old.encode()]).decrypt(stored()) == url


async def test_a_silo_moves_to_another_silo_while_served(tenant_world: TenantWorld) -> None:
    world = tenant_world
    async with serve(world.settings) as served:
        token = served.token(world.tenants["silo-d"], "erin")
        query = "{ engagements { edges { node { name } } } }"
        before = (await served.graphql(token, query)).json()
        assert before["data"]["engagements"]["edges"]
        await move_tenant(
            world.settings,
            world.secrets,
            slug="silo-d",
            to=TenantStrategy.SILO,
            database_url=world.databases.url_for("silo-d2"),
            drain_seconds=0,
        )
        # the old silo was emptied: only the new one can answer this
        assert (await served.until(token, query)).json() == before


async def test_an_interrupted_move_is_resumed_or_abandoned(tenant_world: TenantWorld) -> None:
    # given a move that died after marking the tenant MOVING
    world = tenant_world
    await _set_status_directly(world, "pool-a", TenantStatus.MOVING)
    async with serve(world.settings) as served:
        token = served.token(world.tenants["pool-a"], "alice")
        refused = await served.graphql(token, "{ viewer { user { id } } }")
        assert refused.status_code == 503
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
        # when it is abandoned, the tenant is served from where it always was
        await set_status(world.settings, "pool-a", TenantStatus.ACTIVE)
        served_again = await served.until(token, "{ viewer { user { id } } }")
        assert served_again.status_code == 200
    # and a move run again over a MOVING tenant finishes
    await _set_status_directly(world, "pool-a", TenantStatus.MOVING)
    report = await move_tenant(
        world.settings, world.secrets, slug="pool-a", to=TenantStrategy.BRIDGE, drain_seconds=0
    )
    assert report.rows > 0
    entry = {e.slug: e for e in await list_tenants(world.settings)}["pool-a"]
    assert (entry.strategy, entry.status) == (TenantStrategy.BRIDGE, TenantStatus.ACTIVE)
    await move_tenant(
        world.settings, world.secrets, slug="pool-a", to=TenantStrategy.POOL, drain_seconds=0
    )


async def _set_status_directly(world: TenantWorld, slug: str, status: TenantStatus) -> None:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Tenant).where(Tenant.slug == slug).values(status=status)
            )
    finally:
        await engine.dispose()
