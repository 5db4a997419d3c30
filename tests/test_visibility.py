"""Row visibility: members see their engagements; content is SHARED or their own organization's.

Ground truth is computed with plain SQL, independently of the services under test.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.demo import DemoData
from tests.support.sql import as_uuid, sql

USERS = ["alice", "bruno", "chloe", "dmitri", "erin", "farid", "grace", "hiro"]
CONTENT = {
    "tasks": "tasks",
    "threads": "threads",
    "documents": "documents",
    "milestones": "milestones",
    "indicators": "indicators",
}

EVERYTHING = """
query Everything {
  engagements(first: 100) {
    totalCount
    edges { node { id
      tasks(first: 100) { totalCount edges { node { id zone } } }
      shared: tasks(zone: SHARED) { totalCount }
      threads(first: 100) { totalCount edges { node { id zone messages(first: 100) { edges { node { id } } } } } }
      documents(first: 100) { totalCount edges { node { id zone versions(first: 100) { edges { node { id } } } } } }
      milestones(first: 100) { totalCount edges { node { id zone } } }
      indicators(first: 100) { totalCount edges { node { id zone } } }
    } }
  }
}
"""


def _uuid(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


async def _ground_truth(session: AsyncSession, tenant_id: str, user_id: str) -> dict[str, set[str]]:
    params = {"tenant": tenant_id, "user": user_id}
    is_host_admin = (
        await session.execute(
            *sql(
                "SELECT count(*) FROM users u JOIN organizations o ON o.id = u.organization_id "
                "JOIN user_roles r ON r.user_id = u.id "
                "WHERE u.id = :user AND o.kind = 'HOST' AND r.role = 'ADMIN'",
                **params,
            )
        )
    ).scalar_one() > 0
    if is_host_admin:
        engagement_sql = "SELECT id FROM engagements WHERE tenant_id = :tenant"
    else:
        engagement_sql = "SELECT engagement_id FROM engagement_members WHERE tenant_id = :tenant AND user_id = :user"
    truth = {
        "engagements": {
            _canonical(row[0]) for row in await session.execute(*sql(engagement_sql, **params))
        }
    }
    org = (
        await session.execute(*sql("SELECT organization_id FROM users WHERE id = :user", **params))
    ).scalar_one()
    for key, table in [
        *CONTENT.items(),
        ("messages", "messages"),
        ("versions", "document_versions"),
    ]:
        rows = await session.execute(
            *sql(
                f"SELECT id, engagement_id, zone, owner_organization_id FROM {table} "
                "WHERE tenant_id = :tenant",
                tenant=tenant_id,
            )
        )
        truth[key] = {
            _canonical(row.id)
            for row in rows
            if _canonical(row.engagement_id) in truth["engagements"]
            and (row.zone == "SHARED" or as_uuid(row.owner_organization_id) == as_uuid(org))
        }
    return truth


def _seen(data: dict[str, Any]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {
        key: set() for key in ["engagements", *CONTENT, "messages", "versions"]
    }
    for edge in data["engagements"]["edges"]:
        node = edge["node"]
        seen["engagements"].add(_uuid(node["id"]))
        for key in CONTENT:
            for item in node[key]["edges"]:
                seen[key].add(_uuid(item["node"]["id"]))
                if key == "threads":
                    for message in item["node"]["messages"]["edges"]:
                        seen["messages"].add(_uuid(message["node"]["id"]))
                if key == "documents":
                    for version in item["node"]["versions"]["edges"]:
                        seen["versions"].add(_uuid(version["node"]["id"]))
    return seen


@pytest.mark.parametrize("user", USERS)
async def test_each_user_sees_exactly_their_rows(
    user: str, as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given a demo user and the ground truth computed from the tables
    seeded = demo_data.demo
    truth = await _ground_truth(session, seeded.tenant_id, seeded.user(user)["id"])
    # when they ask for every engagement and all its content
    body = await as_user(user)(EVERYTHING)
    # then they see exactly the visible rows, nothing more and nothing less
    assert "errors" not in body
    assert _normalise(_seen(body["data"])) == _normalise(truth)
    # and every count is the count of what they may see, with the list's filters
    data = body["data"]["engagements"]
    assert data["totalCount"] == len(truth["engagements"])
    for key in CONTENT:
        assert sum(e["node"][key]["totalCount"] for e in data["edges"]) == len(truth[key])
    shared = sum(
        1
        for e in data["edges"]
        for t in e["node"]["tasks"]["edges"]
        if t["node"]["zone"] == "SHARED"
    )
    assert sum(e["node"]["shared"]["totalCount"] for e in data["edges"]) == shared
    if user == "dmitri":  # the auditor is a member of no engagement
        assert not truth["engagements"]
    else:
        assert truth["tasks"], "the demo must give every member something to see"


async def test_partner_never_sees_another_organizations_internal_content(
    as_user: Any, demo_data: DemoData
) -> None:
    # given erin of Acme, a member of two engagements that also have host and Globex content
    acme_id = demo_data.demo.organization("acme")["id"]
    query = """{ engagements(first: 50) { edges { node {
        tasks(first: 100) { edges { node { zone ownerOrganization { id } } } } } } } }"""
    # when she lists all tasks
    body = await as_user("erin")(query)
    tasks = [
        task["node"]
        for engagement in body["data"]["engagements"]["edges"]
        for task in engagement["node"]["tasks"]["edges"]
    ]
    # then every internal task is Acme's own, and shared tasks of others are there
    assert tasks
    internal_owners = {
        _uuid(t["ownerOrganization"]["id"]) for t in tasks if t["zone"] == "INTERNAL"
    }
    assert internal_owners == {acme_id}
    assert any(
        t["zone"] == "SHARED" and _uuid(t["ownerOrganization"]["id"]) != acme_id for t in tasks
    )


async def test_host_internal_task_is_invisible_to_partner_by_id(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given a host-internal task of an engagement erin belongs to
    engagement_id = demo_data.demo.engagement("Acme ERP rollout")["id"]
    host_id = demo_data.demo.organization("northwind")["id"]
    task_id = (
        await session.execute(
            *sql(
                "SELECT id FROM tasks WHERE engagement_id = :e AND zone = 'INTERNAL' "
                "AND owner_organization_id = :o LIMIT 1",
                e=engagement_id,
                o=host_id,
            )
        )
    ).scalar_one()
    global_id = base64.b64encode(f"Task:{_canonical(task_id)}".encode()).decode()
    missing_id = base64.b64encode(b"Task:01a20000-0000-7000-8000-000000000000").decode()
    query = "query($id: ID!) { node(id: $id) { id ... on Task { title } } }"
    # when the partner and the host look it up by id
    partner = await as_user("erin")(query, {"id": global_id})
    partner_missing = await as_user("erin")(query, {"id": missing_id})
    host = await as_user("alice")(query, {"id": global_id})
    # then the partner gets exactly what a missing id gets, and the host gets the task
    assert partner == partner_missing == {"data": {"node": None}}
    assert host["data"]["node"]["id"] == global_id


def _canonical(value: Any) -> str:
    return str(as_uuid(value))


def _normalise(sets: dict[str, set[str]]) -> dict[str, set[str]]:
    return {key: {_canonical(v) for v in values} for key, values in sets.items()}


USER_QUERY = "query($id: ID!) { node(id: $id) { ... on User { displayName email } } }"


async def test_people_outside_shared_engagements_are_invisible(
    as_user: Any, demo_data: DemoData
) -> None:
    # given dmitri, a host auditor who is a member of no engagement
    dmitri = base64.b64encode(f"User:{demo_data.demo.user('dmitri')['id']}".encode()).decode()
    missing = base64.b64encode(b"User:01a20000-0000-7000-8000-000000000000").decode()
    # when a partner and a colleague of his look him up
    partner = await as_user("erin")(USER_QUERY, {"id": dmitri})
    partner_missing = await as_user("erin")(USER_QUERY, {"id": missing})
    colleague = await as_user("chloe")(USER_QUERY, {"id": dmitri})
    # then the partner gets what a missing id gets; his own organization sees him
    assert partner == partner_missing == {"data": {"node": None}}
    assert colleague["data"]["node"]["displayName"] == "Dmitri Volkov"


async def test_co_members_and_participants_are_visible(as_user: Any, demo_data: DemoData) -> None:
    # given hiro (Globex) and farid (Acme), who share the joint pilot
    farid = base64.b64encode(f"User:{demo_data.demo.user('farid')['id']}".encode()).decode()
    acme = base64.b64encode(
        f"Organization:{demo_data.demo.organization('acme')['id']}".encode()
    ).decode()
    # when hiro looks up farid and Acme
    person = await as_user("hiro")(USER_QUERY, {"id": farid})
    company = await as_user("hiro")(
        "query($id: ID!) { node(id: $id) { ... on Organization { name } } }", {"id": acme}
    )
    # then both are visible to him
    assert person["data"]["node"]["displayName"] == "Farid Haddad"
    assert company["data"]["node"] == {"name": "Acme Manufacturing"}


SEARCH = """query($text: String!) { search(text: $text, first: 100) {
  __typename ... on Task { id } ... on Thread { id } ... on Document { id }
  ... on Milestone { id } ... on Indicator { id } } }"""
TITLES = {
    "tasks": "title",
    "threads": "title",
    "documents": "title",
    "milestones": "title",
    "indicators": "name",
}


@pytest.mark.parametrize("user", ["alice", "chloe", "erin", "hiro", "dmitri"])
async def test_search_finds_exactly_the_visible_matches(
    user: str, as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given the rows each user may see, and every title of the tenant
    seeded = demo_data.demo
    truth = _normalise(await _ground_truth(session, seeded.tenant_id, seeded.user(user)["id"]))
    text = "PLAN"
    expected: set[str] = set()
    matching_anywhere = 0
    for key, column in TITLES.items():
        rows = await session.execute(
            *sql(
                f"SELECT id, {column} AS title FROM {key} WHERE tenant_id = :t", t=seeded.tenant_id
            )
        )
        for row in rows:
            if text.lower() in row.title.lower():
                matching_anywhere += 1
                if _canonical(row.id) in truth[key]:
                    expected.add(_canonical(row.id))
    # when they search for it, in another case than the titles use
    body = await as_user(user)(SEARCH, {"text": text})
    # then they find exactly the visible matches, and never anything else
    assert "errors" not in body
    found = {_canonical(_uuid(item["id"])) for item in body["data"]["search"]}
    assert found == expected
    assert bool(expected) == (user != "dmitri")  # the auditor is in no engagement
    if user in {"erin", "hiro"}:  # partners: some matches are the host's, hidden from them
        assert matching_anywhere > len(expected)


async def test_search_refuses_bad_text_and_wildcards_match_literally(as_user: Any) -> None:
    short = await as_user("alice")(SEARCH, {"text": "a"})
    assert short["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "text"}
    # `%` and `_` are not wildcards: no title holds them, so nothing is found
    for text in ("%%", "__"):
        body = await as_user("alice")(SEARCH, {"text": text})
        assert body["data"]["search"] == []
