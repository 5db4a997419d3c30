"""Suspending a user or an organization (`membrane orgs suspend-user|suspend`) refuses
their access tokens from the very next request, on tenants of every strategy."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from membrane.cli.main import main
from tests.fixtures.tenants import Served, TenantWorld

VIEWER = "{ viewer { user { displayName } } }"


async def _cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.mark.parametrize("slug", ["pool-b", "bridge-c", "silo-d"])
async def test_suspended_users_and_organizations_are_refused_at_once(
    tenant_world: TenantWorld,
    served_world: Served,
    monkeypatch: pytest.MonkeyPatch,
    slug: str,
    tmp_path: Path,
) -> None:
    settings = tenant_world.settings
    monkeypatch.setenv("MEMBRANE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEMBRANE_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", ",".join(settings.secret_keys))
    tenant = tenant_world.tenants[slug]
    erin, farid, alice = (served_world.token(tenant, key) for key in ("erin", "farid", "alice"))
    for token in (erin, farid, alice):
        assert (await served_world.graphql(token, VIEWER)).status_code == 200

    # a user
    assert await _cli("orgs", "suspend-user", "--tenant", slug, "erin@acme.example") == 0
    refused = await served_world.until(erin, VIEWER, 401)
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await served_world.graphql(farid, VIEWER)).status_code == 200
    assert await _cli("orgs", "resume-user", "--tenant", slug, "erin@acme.example") == 0
    assert (await served_world.until(erin, VIEWER)).status_code == 200

    # a whole organization
    assert await _cli("orgs", "suspend", "--tenant", slug, "--org", "acme") == 0
    for token in (erin, farid):
        assert (await served_world.until(token, VIEWER, 401)).status_code == 401
    assert (await served_world.graphql(alice, VIEWER)).status_code == 200
    assert await _cli("orgs", "resume", "--tenant", slug, "--org", "acme") == 0
    assert (await served_world.until(farid, VIEWER)).status_code == 200

    # the host organization cannot be suspended; unknown people are reported
    assert await _cli("orgs", "suspend", "--tenant", slug, "--org", "northwind") == 1
    assert await _cli("orgs", "suspend-user", "--tenant", slug, "nobody@acme.example") == 1

    # each change made from the command line is in the tenant's audit chain
    exported = tmp_path / "audit.jsonl"
    assert await _cli("audit", "export", "--tenant", slug, "-o", str(exported)) == 0
    events = [json.loads(line) for line in exported.read_text().splitlines()]
    statuses = [
        change["fields"]["status"]
        for event in events
        if event.get("action") in {"orgs.set-user-status", "orgs.set-status"}
        for change in event["details"]["changes"]
        if "status" in change["fields"]
    ]
    assert statuses[-4:] == [
        ["ACTIVE", "SUSPENDED"],
        ["SUSPENDED", "ACTIVE"],
        ["ACTIVE", "SUSPENDED"],
        ["SUSPENDED", "ACTIVE"],
    ]
    assert all(
        e["actor"]["client"] == "cli" for e in events if e.get("action", "").startswith("orgs.")
    )
