"""Principals are cached only while PostgreSQL tells this process of every change to them,
and a suspension takes effect on the very next request."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from membrane.api.app import create_app
from membrane.api.runtime import Runtime
from membrane.auth.principal import Principal
from membrane.auth.principal_cache import PrincipalCache
from membrane.config import Settings
from membrane.db.notifications import Listener
from membrane.tenancy.enums import OrganizationKind, TenantRole
from membrane.tenancy.ids import TenantId
from tests.fixtures.demo import DemoData
from tests.support.sql import sql

VIEWER = "{ viewer { user { displayName } } }"


def _principal(**changes: object) -> Principal:
    values: dict[str, object] = {
        "tenant_id": TenantId(uuid.uuid4()),
        "tenant_slug": "t",
        "user_id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "organization_kind": OrganizationKind.PARTNER,
        "tenant_roles": frozenset({TenantRole.ADMIN}),
    }
    values.update(changes)
    return Principal(**values)  # type: ignore[arg-type]


def test_cache_is_off_unless_listening() -> None:
    cache = PrincipalCache()
    principal = _principal()
    cache.put(principal, cache.generation)
    assert cache.get(principal.tenant_id, principal.user_id) is None
    cache.listening(True)
    cache.put(principal, cache.generation)
    assert cache.get(principal.tenant_id, principal.user_id) == principal
    cache.listening(False)  # losing the feed forgets everything
    assert cache.get(principal.tenant_id, principal.user_id) is None


def test_a_change_during_the_load_is_not_cached() -> None:
    cache = PrincipalCache()
    cache.listening(True)
    principal = _principal()
    generation = cache.generation
    cache.changed(f"user:{principal.user_id}")  # arrives while the principal was loading
    cache.put(principal, generation)
    assert cache.get(principal.tenant_id, principal.user_id) is None


def test_changes_drop_the_principals_they_touch() -> None:
    cache = PrincipalCache()
    cache.listening(True)
    a, b = _principal(), _principal()
    for principal in (a, b):
        cache.put(principal, cache.generation)
    # a user's change drops that user only
    cache.changed(f"user:{a.user_id}")
    assert cache.get(a.tenant_id, a.user_id) is None
    assert cache.get(b.tenant_id, b.user_id) == b
    # an organization's or tenant's change (rare) drops everyone
    cache.put(a, cache.generation)
    cache.changed(f"organization:{a.organization_id}")
    assert cache.get(a.tenant_id, a.user_id) is None
    assert cache.get(b.tenant_id, b.user_id) is None
    cache.put(b, cache.generation)
    cache.changed(f"tenant:{uuid.uuid4()}")
    assert cache.get(b.tenant_id, b.user_id) is None


def test_entries_expire() -> None:
    cache = PrincipalCache(ttl_seconds=0)
    cache.listening(True)
    principal = _principal()
    cache.put(principal, cache.generation)
    assert cache.get(principal.tenant_id, principal.user_id) is None


async def test_suspension_takes_effect_on_the_next_request(
    database_url: str, backend: str, engine: AsyncEngine, demo_data: DemoData, keys_dir: Path
) -> None:
    # given a running app (with its lifespan) and a partner user's token
    app = create_app(Settings(database_url=database_url, keys_dir=keys_dir, dev_mode=True))
    runtime: Runtime = app.state.runtime
    hiro = demo_data.demo.user("hiro")
    organization = demo_data.demo.organization("globex")
    token = runtime.tokens.mint(
        subject=uuid.UUID(hiro["id"]),
        tenant_id=uuid.UUID(demo_data.demo.tenant_id),
        organization_id=uuid.UUID(organization["id"]),
        ttl_seconds=600,
    )
    headers = {"authorization": f"Bearer {token}"}
    key = (uuid.UUID(demo_data.demo.tenant_id), uuid.UUID(hiro["id"]))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as client:
            first = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
            assert first.status_code == 200
            # then PostgreSQL processes cache the principal; SQLite ones never do
            assert (runtime.principals.get(*key) is not None) == (backend == "postgresql")
            # and with the principal cached, root fields reading at once share the session
            pilot = demo_data.demo.engagement("Joint supply-chain pilot")["id"]
            pilot_id = base64.b64encode(f"Engagement:{pilot}".encode()).decode()
            both = await client.post(
                "/graphql",
                json={
                    "query": "query($id: ID!) { a: engagement(id: $id) { name } "
                    "b: node(id: $id) { id } viewer { user { displayName } } }",
                    "variables": {"id": pilot_id},
                },
                headers=headers,
            )
            assert both.json() == {
                "data": {
                    "a": {"name": "Joint supply-chain pilot"},
                    "b": {"id": pilot_id},
                    "viewer": {"user": {"displayName": "Hiro Tanaka"}},
                }
            }
            # and single-row reads of several root fields at once do not collide
            listing = await client.post(
                "/graphql",
                json={
                    "query": "{ engagements { edges { node { tasks { edges { node { id } } } } } } }"
                },
                headers=headers,
            )
            task_ids = [
                task["node"]["id"]
                for engagement in listing.json()["data"]["engagements"]["edges"]
                for task in engagement["node"]["tasks"]["edges"]
            ][:3]
            many = await client.post(
                "/graphql",
                json={
                    "query": "query($a: ID!, $b: ID!, $c: ID!) { a: node(id: $a) { id } "
                    "b: node(id: $b) { id } c: node(id: $c) { id } "
                    "engagements(first: 2) { edges { node { name } } } }",
                    "variables": dict(zip("abc", task_ids, strict=True)),
                },
                headers=headers,
            )
            body = many.json()
            assert "errors" not in body, body
            assert [body["data"][k]["id"] for k in "abc"] == task_ids
            try:
                # when the user is suspended in the database (committed)
                async with engine.begin() as connection:
                    await connection.execute(
                        *sql("UPDATE users SET status = 'SUSPENDED' WHERE id = :id", id=hiro["id"])
                    )
                for _ in range(100):
                    if runtime.principals.get(*key) is None:
                        break
                    await asyncio.sleep(0.02)
                # then the very next request is refused
                second = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
                assert second.status_code == 401
                assert second.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            finally:
                async with engine.begin() as connection:
                    await connection.execute(
                        *sql("UPDATE users SET status = 'ACTIVE' WHERE id = :id", id=hiro["id"])
                    )


@pytest.mark.postgres_only
async def test_listener_reconnects_after_losing_its_connection(engine: AsyncEngine) -> None:
    states: list[bool] = []
    messages: list[str] = []
    listener = Listener(
        engine, "membrane_test_channel", messages.append, states.append, probe_seconds=0.2
    )
    await listener.start()
    try:
        assert states == [True]
        # when the server drops the listening connection
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'membrane-listen-membrane_test_channel'"
                )
            )
        for _ in range(50):
            if states[-1] is True and False in states:
                break
            await asyncio.sleep(0.1)
        # then the listener said so, came back, and hears notifications again
        assert states[0] is True and False in states and states[-1] is True
        async with engine.begin() as connection:
            await connection.execute(text("SELECT pg_notify('membrane_test_channel', 'user:x')"))
        for _ in range(50):
            if messages:
                break
            await asyncio.sleep(0.05)
        assert messages == ["user:x"]
    finally:
        await listener.stop()
