"""Zone moves: `publishToShared` and `withdrawToInternal`, seen from both organizations.

Every test makes its own content in the demo's "Acme ERP rollout" engagement (northwind is
its host; alice LEAD, chloe CONTRIBUTOR, bruno VIEWER; acme's erin LEAD, farid CONTRIBUTOR)
inside the test's transaction, so the shared demo data is left as it was. Ground truth on
what was written comes from plain SQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.demo import DemoData
from tests.support.ids import gid, raw_id
from tests.support.sql import sql

CONTENT_FIELDS = """
  __typename
  ... on Task { id zone updatedAt }
  ... on Thread { id zone }
  ... on Document { id zone }
  ... on Milestone { id zone }
  ... on Indicator { id zone }
"""
PUBLISH = (
    "mutation($input: PublishToSharedInput!) { publishToShared(input: $input) "
    f"{{ moved content {{ {CONTENT_FIELDS} }} }} }}"
)
WITHDRAW = (
    "mutation($input: WithdrawToInternalInput!) { withdrawToInternal(input: $input) "
    f"{{ moved content {{ {CONTENT_FIELDS} }} }} }}"
)
MOVES = {"publishToShared": PUBLISH, "withdrawToInternal": WITHDRAW}
CREATE_TASK = """mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"""
CREATE_THREAD = """mutation($input: CreateThreadInput!) {
  createThread(input: $input) { thread { id } } }"""
POST_MESSAGE = """mutation($input: PostMessageInput!) {
  postMessage(input: $input) { message { id } } }"""
CREATE_DOCUMENT = """mutation($input: CreateDocumentInput!) {
  createDocument(input: $input) { document { id } } }"""
CREATE_VERSION = """mutation($input: CreateDocumentVersionInput!) {
  createDocumentVersion(input: $input) { version { id } } }"""
CREATE_MILESTONE = """mutation($input: CreateMilestoneInput!) {
  createMilestone(input: $input) { milestone { id } } }"""
CREATE_INDICATOR = """mutation($input: CreateIndicatorInput!) {
  createIndicator(input: $input) { indicator { id } } }"""
SET_VALUE = """mutation($input: SetIndicatorValueInput!) {
  setIndicatorValue(input: $input) { indicator { id } } }"""
TASK_IDS = (
    """query($id: ID!) { engagement(id: $id) { tasks(first: 100) { edges { node { id } } } } }"""
)
NODE = "query($id: ID!) { node(id: $id) { id } }"
THREAD_MESSAGES = """query($id: ID!) { node(id: $id) {
  ... on Thread { messages(first: 100) { edges { node { id body } } } } } }"""


def data(body: dict[str, Any], field: str) -> Any:
    assert "errors" not in body, body
    return body["data"][field]


@pytest.fixture
def erp(demo_data: DemoData) -> str:
    return gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])


async def create_task(caller: Any, engagement: str, zone: str, title: str) -> str:
    body = await caller(
        CREATE_TASK, {"input": {"engagementId": engagement, "title": title, "zone": zone}}
    )
    task_id: str = data(body, "createTask")["task"]["id"]
    return task_id


async def move(caller: Any, mutation: str, content_id: str) -> dict[str, Any]:
    return await caller(MOVES[mutation], {"input": {"id": content_id}})


async def moved(caller: Any, mutation: str, content_id: str) -> dict[str, Any]:
    """The payload of a move that must succeed."""
    payload: dict[str, Any] = data(await move(caller, mutation, content_id), mutation)
    return payload


async def refused(caller: Any, mutation: str, content_id: str) -> dict[str, Any]:
    """The one error of a move that must be refused (the payload is null)."""
    body = await move(caller, mutation, content_id)
    assert body["data"] == {mutation: None}, body
    assert len(body["errors"]) == 1, body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions


async def task_ids(caller: Any, engagement: str) -> set[str]:
    body = await caller(TASK_IDS, {"id": engagement})
    edges = data(body, "engagement")["tasks"]["edges"]
    return {edge["node"]["id"] for edge in edges}


async def node(caller: Any, global_id: str) -> Any:
    return data(await caller(NODE, {"id": global_id}), "node")


async def stored(session: AsyncSession, table: str, global_id: str) -> tuple[str, Any]:
    """(zone, updated_at or None) of one row, read with plain SQL."""
    updated = "updated_at" if table == "tasks" else "NULL"
    row = (
        await session.execute(
            *sql(f"SELECT zone, {updated} FROM {table} WHERE id = :id", id=raw_id(global_id))
        )
    ).one()
    return row[0], row[1]


async def child_zones(session: AsyncSession, table: str, column: str, parent: str) -> list[str]:
    rows = await session.execute(
        *sql(f"SELECT zone FROM {table} WHERE {column} = :parent", parent=raw_id(parent))
    )
    return [row[0] for row in rows]


async def test_a_published_task_is_shared_and_a_withdrawn_one_is_gone_at_once(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    chloe, erin = as_user("chloe"), as_user("erin")
    task = await create_task(chloe, erp, "INTERNAL", "Zone move: pricing review")
    # the partner does not see the host's internal task
    assert await node(erin, task) is None
    assert task not in await task_ids(erin, erp)
    # when the host contributor publishes it
    published = await moved(chloe, "publishToShared", task)
    assert published["moved"] is True
    content = published["content"]
    assert content["__typename"] == "Task" and content["id"] == task
    assert content["zone"] == "SHARED" and content["updatedAt"] is not None
    # then the partner sees it, in the list and by id
    assert await node(erin, task) == {"id": task}
    assert task in await task_ids(erin, erp)
    assert (await stored(session, "tasks", task))[0] == "SHARED"
    # and once withdrawn, the partner's very next request no longer finds it
    withdrawn = await moved(chloe, "withdrawToInternal", task)
    assert withdrawn["moved"] is True and withdrawn["content"]["zone"] == "INTERNAL"
    assert await node(erin, task) is None
    assert task not in await task_ids(erin, erp)
    # while the host still does
    assert await node(chloe, task) == {"id": task}
    assert (await stored(session, "tasks", task))[0] == "INTERNAL"


async def test_a_thread_moves_with_its_messages(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    chloe, erin = as_user("chloe"), as_user("erin")
    created = await chloe(
        CREATE_THREAD,
        {
            "input": {
                "engagementId": erp,
                "title": "Zone move thread",
                "zone": "INTERNAL",
                "body": "one",
            }
        },
    )
    thread = data(created, "createThread")["thread"]["id"]
    posted = await chloe(POST_MESSAGE, {"input": {"threadId": thread, "body": "two"}})
    message = data(posted, "postMessage")["message"]["id"]
    assert await node(erin, message) is None
    # published: the partner reads the thread, its messages, and each message by id
    assert (await moved(chloe, "publishToShared", thread))["moved"] is True
    seen = data(await erin(THREAD_MESSAGES, {"id": thread}), "node")
    assert [edge["node"]["body"] for edge in seen["messages"]["edges"]] == ["one", "two"]
    assert await node(erin, message) == {"id": message}
    assert await child_zones(session, "messages", "thread_id", thread) == ["SHARED", "SHARED"]
    # withdrawn: neither the thread nor any of its messages
    assert (await moved(chloe, "withdrawToInternal", thread))["moved"] is True
    assert await node(erin, thread) is None
    assert await node(erin, message) is None
    assert await child_zones(session, "messages", "thread_id", thread) == ["INTERNAL", "INTERNAL"]


async def test_documents_indicators_and_milestones_move_with_their_rows(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    chloe, erin = as_user("chloe"), as_user("erin")
    document = data(
        await chloe(
            CREATE_DOCUMENT,
            {"input": {"engagementId": erp, "title": "Zone doc", "zone": "INTERNAL", "body": "v1"}},
        ),
        "createDocument",
    )["document"]["id"]
    await chloe(CREATE_VERSION, {"input": {"documentId": document, "body": "v2"}})
    indicator = data(
        await chloe(
            CREATE_INDICATOR,
            {"input": {"engagementId": erp, "name": "Zone KPI", "unit": "%", "zone": "INTERNAL"}},
        ),
        "createIndicator",
    )["indicator"]["id"]
    await chloe(SET_VALUE, {"input": {"indicatorId": indicator, "value": 1.5}})
    await chloe(SET_VALUE, {"input": {"indicatorId": indicator, "value": 2.5}})
    milestone = data(
        await chloe(
            CREATE_MILESTONE,
            {"input": {"engagementId": erp, "title": "Zone M", "zone": "INTERNAL"}},
        ),
        "createMilestone",
    )["milestone"]["id"]
    for item, type_name in (
        (document, "Document"),
        (indicator, "Indicator"),
        (milestone, "Milestone"),
    ):
        payload = await moved(chloe, "publishToShared", item)
        assert payload["content"] == {"__typename": type_name, "id": item, "zone": "SHARED"}
        assert await node(erin, item) == {"id": item}
    assert await child_zones(session, "document_versions", "document_id", document) == [
        "SHARED",
        "SHARED",
    ]
    assert await child_zones(session, "indicator_values", "indicator_id", indicator) == [
        "SHARED",
        "SHARED",
    ]
    for item in (document, indicator, milestone):
        assert (await moved(chloe, "withdrawToInternal", item))["moved"] is True
        assert await node(erin, item) is None
    assert set(await child_zones(session, "document_versions", "document_id", document)) == {
        "INTERNAL"
    }
    assert set(await child_zones(session, "indicator_values", "indicator_id", indicator)) == {
        "INTERNAL"
    }


async def test_a_partner_cannot_move_host_content(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    chloe, erin = as_user("chloe"), as_user("erin")
    internal = await create_task(chloe, erp, "INTERNAL", "Zone: host internal")
    shared = await create_task(chloe, erp, "SHARED", "Zone: host shared")
    # the host's internal task does not exist for the partner's lead
    assert await refused(erin, "publishToShared", internal) == {
        "code": "NOT_FOUND",
        "field": "input.id",
    }
    # the shared one is visible, but not the partner's to move
    assert await refused(erin, "withdrawToInternal", shared) == {
        "code": "FORBIDDEN",
        "field": "input.id",
    }
    assert await stored(session, "tasks", internal) == ("INTERNAL", None)
    assert await stored(session, "tasks", shared) == ("SHARED", None)
    assert await node(erin, shared) == {"id": shared}


async def test_the_host_cannot_move_partner_content_but_the_partner_can(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    farid, alice = as_user("farid"), as_user("alice")
    internal = await create_task(farid, erp, "INTERNAL", "Zone: acme internal")
    shared = await create_task(farid, erp, "SHARED", "Zone: acme shared")
    # the host lead (a tenant admin, too) neither sees acme's internal task nor may move
    # acme's shared one
    assert (await refused(alice, "publishToShared", internal))["code"] == "NOT_FOUND"
    assert await refused(alice, "withdrawToInternal", shared) == {
        "code": "FORBIDDEN",
        "field": "input.id",
    }
    assert await stored(session, "tasks", internal) == ("INTERNAL", None)
    assert await stored(session, "tasks", shared) == ("SHARED", None)
    # acme's own contributor may: the host then sees it
    assert (await moved(farid, "publishToShared", internal))["moved"] is True
    assert await node(alice, internal) == {"id": internal}
    assert (await moved(farid, "withdrawToInternal", shared))["moved"] is True
    assert await node(alice, shared) is None


async def test_a_viewer_cannot_move_content_of_its_own_organization(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    task = await create_task(as_user("chloe"), erp, "INTERNAL", "Zone: viewer")
    bruno = as_user("bruno")
    # bruno (host VIEWER) sees the task, but may not move it
    assert await node(bruno, task) == {"id": task}
    extensions = await refused(bruno, "publishToShared", task)
    assert extensions["code"] == "FORBIDDEN"
    assert await stored(session, "tasks", task) == ("INTERNAL", None)
    assert await node(as_user("erin"), task) is None


async def test_a_move_to_the_current_zone_changes_nothing(
    as_user: Any, erp: str, session: AsyncSession
) -> None:
    chloe = as_user("chloe")
    shared = await create_task(chloe, erp, "SHARED", "Zone: already shared")
    internal = await create_task(chloe, erp, "INTERNAL", "Zone: already internal")
    again = await moved(chloe, "publishToShared", shared)
    assert again == {
        "moved": False,
        "content": {"__typename": "Task", "id": shared, "zone": "SHARED", "updatedAt": None},
    }
    kept = await moved(chloe, "withdrawToInternal", internal)
    assert kept["moved"] is False and kept["content"]["zone"] == "INTERNAL"
    # nothing was written: not even the time of a change
    assert await stored(session, "tasks", shared) == ("SHARED", None)
    assert await stored(session, "tasks", internal) == ("INTERNAL", None)


@pytest.mark.parametrize("mutation", sorted(MOVES))
async def test_an_id_of_another_type_is_bad_input(
    as_user: Any, demo_data: DemoData, erp: str, mutation: str
) -> None:
    chloe = as_user("chloe")
    created = await chloe(
        CREATE_THREAD,
        {"input": {"engagementId": erp, "title": "Zone: typed", "zone": "SHARED", "body": "m"}},
    )
    thread = data(created, "createThread")["thread"]["id"]
    messages = data(await chloe(THREAD_MESSAGES, {"id": thread}), "node")["messages"]
    message = messages["edges"][0]["node"]["id"]
    for wrong in (erp, message, gid("User", demo_data.demo.user("chloe")["id"]), "not-an-id"):
        assert await refused(chloe, mutation, wrong) == {
            "code": "BAD_USER_INPUT",
            "field": "input.id",
        }


async def test_a_task_assigned_across_organizations_is_reassigned_before_withdrawal(
    as_user: Any, erp: str, demo_data: DemoData, session: AsyncSession
) -> None:
    # given a shared host task assigned to farid of Acme
    chloe = as_user("chloe")
    farid = gid("User", demo_data.demo.user("farid")["id"])
    task = await create_task(chloe, erp, "SHARED", "Assigned across the membrane")
    assign = """mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { id } } }"""
    data(await chloe(assign, {"input": {"id": task, "assigneeId": farid}}), "updateTask")
    # when the host withdraws it
    error = await refused(chloe, "withdrawToInternal", task)
    # then it is a conflict on the id, and the task stays shared and assigned
    assert error == {"code": "CONFLICT", "field": "input.id"}
    assert (await stored(session, "tasks", task))[0] == "SHARED"
    # once reassigned within the host, it moves
    alice = gid("User", demo_data.demo.user("alice")["id"])
    data(await chloe(assign, {"input": {"id": task, "assigneeId": alice}}), "updateTask")
    assert (await moved(chloe, "withdrawToInternal", task))["moved"] is True
