"""Rules found missing in review: money writes, document versions as nodes,
concurrent writers on the embedded database, and key rotation order."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from membrane.api.app import create_app
from membrane.api.runtime import Runtime
from membrane.auth import keys
from membrane.config import Settings
from tests.fixtures.demo import DemoData
from tests.support.ids import gid
from tests.support.sql import sql

UPDATE_COST = """mutation($input: UpdateTaskInput!) {
  updateTask(input: $input) { task { costCents } } }"""
CREATE_TASK = """mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"""


async def _host_task(as_user: Any, engagement: str) -> str:
    body = await as_user("alice")(
        CREATE_TASK, {"input": {"engagementId": engagement, "title": "Priced", "zone": "SHARED"}}
    )
    task_id: str = body["data"]["createTask"]["task"]["id"]
    return task_id


async def test_cost_is_written_by_finance_or_the_lead_only(
    as_user: Any, demo_data: DemoData
) -> None:
    erp = gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])
    task = await _host_task(as_user, erp)
    # a host contributor may edit the task, but not its cost
    contributor = await as_user("chloe")(UPDATE_COST, {"input": {"id": task, "costCents": 5}})
    assert contributor["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # the engagement's lead may
    lead = await as_user("alice")(UPDATE_COST, {"input": {"id": task, "costCents": 5}})
    assert lead["data"]["updateTask"]["task"]["costCents"] == 5


async def test_document_versions_are_nodes_for_those_who_see_the_document(
    as_user: Any, demo_data: DemoData
) -> None:
    erp = gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])
    created = await as_user("farid")(
        """mutation($i: CreateDocumentInput!) { createDocument(input: $i) {
          version { id number } } }""",
        {"i": {"engagementId": erp, "title": "Acme only", "zone": "INTERNAL", "body": "x"}},
    )
    version = created["data"]["createDocument"]["version"]
    query = "query($id: ID!) { node(id: $id) { ... on DocumentVersion { number } } }"
    own = await as_user("erin")(query, {"id": version["id"]})
    host = await as_user("alice")(query, {"id": version["id"]})
    assert own["data"]["node"] == {"number": 1}
    assert host == {"data": {"node": None}}


async def test_concurrent_writers_all_succeed(
    database_url: str, engine: AsyncEngine, demo_data: DemoData, keys_dir: Path
) -> None:
    # given the real app (its own connections, not the test's transaction)
    app = create_app(Settings(database_url=database_url, keys_dir=keys_dir, dev_mode=True))
    runtime: Runtime = app.state.runtime
    alice = demo_data.demo.user("alice")
    token = runtime.tokens.mint(
        subject=uuid.UUID(alice["id"]),
        tenant_id=uuid.UUID(demo_data.demo.tenant_id),
        organization_id=uuid.UUID(demo_data.demo.organization("northwind")["id"]),
        ttl_seconds=600,
    )
    erp = gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])
    created: list[str] = []
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as client:
            # when eight tasks are created at once
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/graphql",
                        json={
                            "query": CREATE_TASK,
                            "variables": {
                                "input": {"engagementId": erp, "title": f"T{i}", "zone": "SHARED"}
                            },
                        },
                        headers={"authorization": f"Bearer {token}"},
                    )
                    for i in range(8)
                )
            )
        bodies = [response.json() for response in responses]
        created = [
            base64.b64decode(b["data"]["createTask"]["task"]["id"]).decode().split(":", 1)[1]
            for b in bodies
            if b.get("data")
        ]
        # then every one of them was written
        assert all("errors" not in body for body in bodies), bodies
        assert len(created) == 8
    finally:
        async with engine.begin() as connection:
            for task_id in created:
                await connection.execute(*sql("DELETE FROM tasks WHERE id = :id", id=task_id))
        await runtime.engine.dispose()


def test_a_new_key_signs_even_after_an_old_one_was_removed(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = keys.generate_key(folder)
    keys.generate_key(folder)
    next(folder.glob(f"*-{first.kid}.jwk.json")).unlink()  # retire the oldest
    newest = keys.generate_key(folder)
    assert keys.load_or_create(folder).signing_key.kid == newest.kid


async def test_money_beyond_32_bits_round_trips(as_user: Any) -> None:
    # given a budget larger than GraphQL's Int can carry (50 million in major units)
    budget = 5_000_000_000
    body = await as_user("alice")(
        """mutation($input: CreateEngagementInput!) {
          createEngagement(input: $input) { engagement { id budgetCents } } }""",
        {"input": {"name": "Big programme", "budgetCents": budget}},
    )
    # then it is stored and read back exactly
    engagement = body["data"]["createEngagement"]["engagement"]
    assert engagement["budgetCents"] == budget
    again = await as_user("bruno")(
        "query($id: ID!) { engagement(id: $id) { budgetCents } }", {"id": engagement["id"]}
    )
    assert again == {"data": {"engagement": None}}  # bruno is no member of it: invisible
