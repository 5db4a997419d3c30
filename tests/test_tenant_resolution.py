"""Which tenant a request is for: header or host name, checked against the token, and the
clear errors for unknown, foreign, suspended, half-created and unreachable tenants."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import update

from membrane.config import TenantSource
from membrane.db.engine import create_engine
from membrane.errors import InvalidInputError
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.models import Tenant
from membrane.tenancy.provisioning import create_tenant, set_status
from tests.fixtures.tenants import Served, TenantWorld, serve

VIEWER = "{ viewer { user { displayName } } }"


def _error(response: Any) -> tuple[int, str, str]:
    error = response.json()["errors"][0]
    return response.status_code, error["extensions"]["code"], error["message"]


async def test_the_header_names_the_tenant_and_must_match_the_token(
    tenant_world: TenantWorld, served_world: Served
) -> None:
    token = served_world.token(tenant_world.tenants["bridge-c"], "alice")
    # without a header the token's tenant is meant; with it, slug or id may be given
    for headers in ({}, {"X-Membrane-Tenant": "bridge-c"}):
        ok = await served_world.graphql(token, VIEWER, **headers)
        assert ok.json() == {"data": {"viewer": {"user": {"displayName": "Alice Martin"}}}}
    by_id = await served_world.graphql(
        token, VIEWER, **{"X-Membrane-Tenant": tenant_world.tenants["bridge-c"].tenant_id}
    )
    assert by_id.status_code == 200
    # another tenant that exists: forbidden; one that does not: not found
    other = await served_world.graphql(token, VIEWER, **{"X-Membrane-Tenant": "silo-d"})
    assert _error(other) == (403, "FORBIDDEN", "the token belongs to another tenant")
    unknown = await served_world.graphql(token, VIEWER, **{"X-Membrane-Tenant": "nobody"})
    assert _error(unknown) == (404, "NOT_FOUND", "unknown tenant 'nobody'")


async def test_the_host_name_names_the_tenant(tenant_world: TenantWorld) -> None:
    settings = dataclasses.replace(
        tenant_world.settings, tenant_source=TenantSource.HOST, tenant_domain="example.com"
    )
    async with serve(settings) as served:
        token = served.token(tenant_world.tenants["silo-d"], "erin")

        async def at(host: str) -> Any:
            return await served.client.post(
                f"http://{host}/graphql",
                json={"query": VIEWER},
                headers={"authorization": f"Bearer {token}"},
            )

        ok = await at("silo-d.example.com:8443")
        assert ok.json() == {"data": {"viewer": {"user": {"displayName": "Erin Walsh"}}}}
        assert _error(await at("pool-a.example.com"))[:2] == (403, "FORBIDDEN")
        assert _error(await at("ghost.example.com")) == (404, "NOT_FOUND", "unknown tenant 'ghost'")
        for host in ("example.com", "silo-d.example.org", "a.silo-d.example.com"):
            assert _error(await at(host))[:2] == (404, "NOT_FOUND"), host


async def test_a_suspended_tenant_is_refused_and_others_are_served(
    tenant_world: TenantWorld, served_world: Served
) -> None:
    token_a = served_world.token(tenant_world.tenants["pool-a"], "alice")
    token_b = served_world.token(tenant_world.tenants["pool-b"], "alice")
    assert (await served_world.graphql(token_a, VIEWER)).status_code == 200
    await set_status(tenant_world.settings, "pool-a", TenantStatus.SUSPENDED)
    try:
        refused = await served_world.until(token_a, VIEWER, 403)
        assert _error(refused) == (403, "FORBIDDEN", "tenant 'pool-a' is suspended")
        assert (await served_world.graphql(token_b, VIEWER)).status_code == 200
    finally:
        await set_status(tenant_world.settings, "pool-a", TenantStatus.ACTIVE)
    assert (await served_world.until(token_a, VIEWER)).status_code == 200


async def test_an_unreachable_silo_fails_alone(
    tenant_world: TenantWorld, served_world: Served, caplog: pytest.LogCaptureFixture
) -> None:
    world = tenant_world
    unreachable = (
        f"sqlite:///{world.databases.folder / 'missing-dir' / 'gone.db'}"
        if world.backend == "sqlite"
        else "postgresql://membrane:s3cret@127.0.0.1:1/gone"
    )
    entry = await create_tenant(
        world.settings,
        world.secrets,
        slug="fragile",
        name="Fragile",
        strategy=TenantStrategy.SILO,
        database_url=world.databases.url_for("fragile"),
    )
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Tenant)
                .where(Tenant.id == entry.id)
                .values(database_url_secret=world.secrets.encrypt(unreachable))
            )
        token = served_world.stranger_token(entry.id)
        down = await served_world.graphql(token, VIEWER)
        assert _error(down) == (
            503,
            "UNAVAILABLE",
            "the database of tenant 'fragile' is unavailable",
        )
        assert down.headers["retry-after"] == "5"
        assert "s3cret" not in down.text and "gone" not in down.text
        assert "tenant fragile is unreachable" in caplog.text or "fragile" in caplog.text
        assert "s3cret" not in caplog.text
        # the other tenants keep working
        for slug in ("pool-a", "bridge-c", "silo-d"):
            token = served_world.token(world.tenants[slug], "alice")
            assert (await served_world.graphql(token, VIEWER)).status_code == 200, slug
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                update(Tenant).where(Tenant.id == entry.id).values(status=TenantStatus.SUSPENDED)
            )
        await engine.dispose()


async def test_a_half_created_tenant_is_refused_until_creation_resumes(
    tenant_world: TenantWorld, served_world: Served
) -> None:
    world = tenant_world
    bad = (
        f"sqlite:///{world.databases.folder / 'no-such-dir' / 'x' / 'late.db'}"
        if world.backend == "sqlite"
        else "postgresql://root@127.0.0.1:1/late"
    )
    if world.backend == "sqlite":
        # a file where the directory should be: the store cannot be made
        (world.databases.folder / "no-such-dir").write_text("in the way")
    with pytest.raises(Exception):  # noqa: B017, PT011  (any failure of the store)
        await create_tenant(
            world.settings,
            world.secrets,
            slug="late",
            name=None,
            strategy=TenantStrategy.SILO,
            database_url=bad,
        )
    entries = {e.slug: e for e in await _entries(world)}
    assert entries["late"].status is TenantStatus.PROVISIONING
    token = served_world.stranger_token(entries["late"].id)
    refused = await served_world.graphql(token, VIEWER)
    assert _error(refused) == (503, "UNAVAILABLE", "tenant 'late' is still being provisioned")
    # running the command again, with the database fixed, finishes the job
    resumed = await create_tenant(
        world.settings,
        world.secrets,
        slug="late",
        name="Late",
        strategy=TenantStrategy.SILO,
        database_url=world.databases.url_for("late"),
    )
    assert resumed.id == entries["late"].id and resumed.status is TenantStatus.ACTIVE
    with pytest.raises(Exception, match="already exists"):
        await create_tenant(
            world.settings, world.secrets, slug="late", name=None, strategy=TenantStrategy.POOL
        )


async def _entries(world: TenantWorld) -> list[Any]:
    from membrane.tenancy.provisioning import list_tenants

    return await list_tenants(world.settings)


@pytest.mark.parametrize("slug", ["Acme", "acme_corp", "-acme", "acme-", "", "a" * 64, "ac.me"])
async def test_slugs_must_be_dns_labels(tenant_world: TenantWorld, slug: str) -> None:
    with pytest.raises(InvalidInputError, match="DNS label") as raised:
        await create_tenant(
            tenant_world.settings,
            tenant_world.secrets,
            slug=slug,
            name=None,
            strategy=TenantStrategy.POOL,
        )
    assert raised.value.field == "slug"
    assert slug == "" or slug not in {e.slug for e in await _entries(tenant_world)}
