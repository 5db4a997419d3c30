"""The auditors' query API: `auditEvents`, its filters and pages, and who reads what.

Events are made the ordinary way (mutations and reads by host and partner users) inside
the test's transaction; the ground truth is read from `audit_events` with plain SQL before
each request (every request that reads the log appends an event of its own afterwards).
The demo has no partner auditor: `partner_auditor` gives farid (acme) the role, in the
test's transaction. The principal is not cached here (the in-process app does not listen
for changes), so the role holds from the next request on.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.api import policy_report
from membrane.api.policies import (
    ADMIN_ROWS,
    AUDIT_ROWS,
    HOST,
    SAME_ORGANIZATION,
    VISIBLE,
    tenant_role,
)
from membrane.audit.models import AuditEvent
from membrane.audit.queries import HIDDEN_FROM_PARTNERS, redacted_for_partners
from membrane.audit.recorder import REDACTED
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.models import UserRole
from tests.fixtures.demo import DemoData, SeededTenant

EVENTS = """
query Events($first: Int, $after: String, $actor: ID, $organization: ID, $engagement: ID,
    $action: String, $outcome: AuditOutcome, $from: DateTime, $to: DateTime) {
  auditEvents(first: $first, after: $after, actorId: $actor, organizationId: $organization,
      engagementId: $engagement, action: $action, outcome: $outcome, from: $from, to: $to) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id seq occurredAt action outcome zone details prevHash hash engagementId
      engagement { id name }
      actor { userId user { id displayName } organizationId organization { slug } client ip userAgent }
      target { type id organizationId organization { slug } }
    } }
  }
}
"""
NODE = """query($id: ID!) { node(id: $id) { __typename ... on AuditEvent { id seq action } } }"""
INTROSPECTION = """
query { __schema { queryType { fields { name } } types { name fields { name } } } }
"""
CREATE_TASK = "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"
UPDATE_TASK = "mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { id } } }"
CREATE_THREAD = (
    "mutation($input: CreateThreadInput!) { createThread(input: $input) { thread { id } } }"
)
READ_TASKS = """query { engagements(first: 10) { edges { node {
  tasks(first: 100) { edges { node { id title assignee { email } } } } } } } }"""

ERP = "Acme ERP rollout"
ROUTES = "Globex route optimisation"
PILOT = "Joint supply-chain pilot"
HOST_NOTE = "host-only note on the acme task"


def global_id(type_name: str, raw: str | uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode()


def raw_id(value: str) -> uuid.UUID:
    return uuid.UUID(base64.b64decode(value).decode().split(":", 1)[1])


@dataclass(frozen=True)
class Row:
    """An event as the table holds it."""

    id: uuid.UUID
    seq: int
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_organization_id: uuid.UUID | None
    target_organization_id: uuid.UUID | None
    engagement_id: uuid.UUID | None
    action: str
    outcome: str
    hash: str
    prev_hash: str


async def ground_truth(session: AsyncSession, tenant: SeededTenant) -> list[Row]:
    """Every event of the tenant, newest first."""
    columns = [getattr(AuditEvent, name) for name in Row.__dataclass_fields__]
    result = await session.execute(
        select(*columns)
        .where(AuditEvent.tenant_id == uuid.UUID(tenant.tenant_id))
        .order_by(AuditEvent.seq.desc())
    )
    return [Row(*row[:-3], str(row[-3]), *row[-2:]) for row in result]


def ids(body: dict[str, Any]) -> list[uuid.UUID]:
    return [raw_id(edge["node"]["id"]) for edge in data(body)["edges"]]


def changed_fields(node: dict[str, Any]) -> dict[str, Any]:
    """The fields an event's changes name, across its flushes."""
    return {
        name: value
        for change in node["details"]["changes"]
        for name, value in change["fields"].items()
    }


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body
    return body["data"]["auditEvents"]


async def _ok(call: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = await call(query, variables)
    assert "errors" not in body, body
    return body


@dataclass(frozen=True)
class Made:
    acme_task: str
    globex_task: str


async def make_events(as_user: Any, demo: SeededTenant) -> Made:
    """Events of host and partner users, as actors and as targets, succeeding and refused."""
    engagement = {name: demo.engagement(name)["id"] for name in (ERP, ROUTES, PILOT)}

    def task(name: str, title: str, zone: str) -> dict[str, Any]:
        return {
            "input": {
                "engagementId": global_id("Engagement", engagement[name]),
                "title": title,
                "zone": zone,
            }
        }

    # a partner's task in the shared zone, annotated and priced by the host
    made = await _ok(as_user("farid"), CREATE_TASK, task(ERP, "Acme shared task", "SHARED"))
    acme_task = made["data"]["createTask"]["task"]["id"]
    await _ok(
        as_user("alice"),
        UPDATE_TASK,
        {"input": {"id": acme_task, "internalNotes": HOST_NOTE, "costCents": 1234}},
    )
    # the host's own internal work, another partner's internal work
    await _ok(as_user("chloe"), CREATE_TASK, task(ERP, "Host internal task", "INTERNAL"))
    made = await _ok(as_user("grace"), CREATE_TASK, task(ROUTES, "Globex own task", "INTERNAL"))
    globex_task = made["data"]["createTask"]["task"]["id"]
    # a partner aiming at what it may not see: refused (DENIED)
    refused = await as_user("farid")(UPDATE_TASK, {"input": {"id": globex_task, "title": "x"}})
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND", refused
    # a shared thread of a partner in the joint engagement
    await _ok(
        as_user("erin"),
        CREATE_THREAD,
        {
            "input": {
                "engagementId": global_id("Engagement", engagement[PILOT]),
                "title": "Forecast exchange",
                "zone": "SHARED",
            }
        },
    )
    # a host read across partners' shared tasks, refused some emails (one event, DENIED)
    read = await as_user("chloe")(READ_TASKS)
    assert {error["extensions"]["code"] for error in read["errors"]} == {"FORBIDDEN"}
    return Made(acme_task, globex_task)


@pytest.fixture
async def partner_auditor(session: AsyncSession, demo_data: DemoData) -> str:
    """farid of acme, made an AUDITOR for this test."""
    demo = demo_data.demo
    session.add(
        UserRole(
            tenant_id=uuid.UUID(demo.tenant_id),
            user_id=uuid.UUID(demo.user("farid")["id"]),
            role=TenantRole.AUDITOR,
        )
    )
    await session.commit()
    return "farid"


async def test_a_host_auditor_reads_every_event_newest_first(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given events of host and partner users
    demo = demo_data.demo
    await make_events(as_user, demo)
    truth = await ground_truth(session, demo)
    assert 7 <= len(truth) <= 100
    # when the host's auditor reads the log
    body = await as_user("dmitri")(EVENTS, {"first": 100})
    # then every event of the tenant comes, newest first, each as the table holds it
    assert ids(body) == [row.id for row in truth]
    page = data(body)
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["hasPreviousPage"] is False
    nodes = [edge["node"] for edge in page["edges"]]
    for node, row in zip(nodes, truth, strict=True):
        assert node["seq"] == row.seq
        assert node["action"] == row.action
        assert node["outcome"] == row.outcome
        assert node["hash"] == row.hash and node["prevHash"] == row.prev_hash
        assert datetime.fromisoformat(node["occurredAt"]) == row.occurred_at
        actor = node["actor"]
        assert (actor["userId"] and raw_id(actor["userId"])) == row.actor_user_id
        assert (actor["organizationId"] and raw_id(actor["organizationId"])) == (
            row.actor_organization_id
        )
        target = node["target"]["organizationId"]
        assert (target and raw_id(target)) == row.target_organization_id
        assert (node["engagementId"] and raw_id(node["engagementId"])) == row.engagement_id
    # and the chain links each event to the one before it
    for newer, older in itertools.pairwise(nodes):
        assert newer["seq"] == older["seq"] + 1
        assert newer["prevHash"] == older["hash"]
    # and the host's changes to a partner's task are there in full for the host's auditor
    update = next(n for n in nodes if n["action"] == "updateTask" and n["outcome"] == "SUCCESS")
    acme = global_id("Organization", demo.organization("acme")["id"])
    # (acme is named by id: the auditor shares no engagement with it)
    assert update["target"] == {**update["target"], "organizationId": acme, "organization": None}
    fields = changed_fields(update)
    assert fields["internal_notes"] == ["", HOST_NOTE]
    assert fields["cost_cents"] == [None, 1234]
    # and people the auditor shares no engagement with are named by id only
    farid = next(n for n in nodes if n["actor"]["userId"] == global_id("User", _id(demo, "farid")))
    assert farid["actor"]["user"] is None and farid["actor"]["client"] == "graphql"
    own = next(n for n in nodes if n["actor"]["userId"] == global_id("User", _id(demo, "chloe")))
    assert own["actor"]["user"] == {
        "id": global_id("User", _id(demo, "chloe")),
        "displayName": "Chloé Dubois",
    }
    assert own["actor"]["organization"] == {"slug": "northwind"}


def _id(demo: SeededTenant, key: str) -> str:
    return str(demo.user(key)["id"])


async def test_reading_the_log_is_recorded(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    await make_events(as_user, demo)
    before = await ground_truth(session, demo)
    await _ok(as_user("dmitri"), EVENTS, {"first": 5})
    (latest, *_) = await ground_truth(session, demo)
    assert latest.seq == before[0].seq + 1
    assert latest.action == "read" and latest.actor_user_id == uuid.UUID(_id(demo, "dmitri"))
    details = (await session.get(AuditEvent, latest.id)).details  # type: ignore[union-attr]
    assert details["restricted"]["Query.auditEvents"] == 1


async def test_each_filter_narrows_the_log(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given events of host and partner users
    demo = demo_data.demo
    await make_events(as_user, demo)
    dmitri = as_user("dmitri")
    acme = uuid.UUID(demo.organization("acme")["id"])
    globex = uuid.UUID(demo.organization("globex")["id"])
    farid = uuid.UUID(_id(demo, "farid"))
    erp = uuid.UUID(demo.engagement(ERP)["id"])
    times = sorted({row.occurred_at for row in await ground_truth(session, demo)})
    since, until = times[2], times[-3]
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"actor": global_id("User", farid)}, lambda r: r.actor_user_id == farid),
        (
            {"organization": global_id("Organization", acme)},
            lambda r: acme in (r.actor_organization_id, r.target_organization_id),
        ),
        (
            {"organization": global_id("Organization", globex)},
            lambda r: globex in (r.actor_organization_id, r.target_organization_id),
        ),
        ({"engagement": global_id("Engagement", erp)}, lambda r: r.engagement_id == erp),
        ({"action": "createTask"}, lambda r: r.action == "createTask"),
        ({"outcome": "DENIED"}, lambda r: r.outcome == "DENIED"),
        ({"outcome": "SUCCESS"}, lambda r: r.outcome == "SUCCESS"),
        ({"from": since.isoformat()}, lambda r: r.occurred_at >= since),
        ({"to": until.isoformat()}, lambda r: r.occurred_at < until),
        (
            {"from": since.isoformat(), "to": until.isoformat()},
            lambda r: since <= r.occurred_at < until,
        ),
        (
            {"organization": global_id("Organization", acme), "action": "updateTask"},
            lambda r: (
                acme in (r.actor_organization_id, r.target_organization_id)
                and r.action == "updateTask"
            ),
        ),
        ({"action": "noSuchAction"}, lambda r: False),
    ]
    for filters, keep in cases:
        # when the auditor filters the log
        truth = await ground_truth(session, demo)
        body = await dmitri(EVENTS, {"first": 100, **filters})
        # then exactly the events the table says match come, newest first
        expected = [row.id for row in truth if keep(row)]
        assert ids(body) == expected, filters
        assert len(expected) < len(truth), f"{filters} narrows nothing"
        if filters != {"action": "noSuchAction"}:
            assert expected, f"{filters} matches nothing: the test proves little"


async def test_pages_follow_each_other_while_the_log_grows(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given the log as it stands
    demo = demo_data.demo
    await make_events(as_user, demo)
    truth = [row.id for row in await ground_truth(session, demo)]
    dmitri = as_user("dmitri")
    # when the auditor reads it three events at a time (each read appends an event)
    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = data(await dmitri(EVENTS, {"first": 3, "after": after}))
        seen += [raw_id(edge["node"]["id"]) for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert len(page["edges"]) <= 3
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    # then the pages hold the log as it was when the first was read, each event once
    assert seen == truth
    assert pages == -(-len(truth) // 3)
    # and the events appended meanwhile lead the next first page
    newest = data(await dmitri(EVENTS, {"first": pages}))
    assert [edge["node"]["action"] for edge in newest["edges"]] == ["read"] * pages


async def test_a_partner_auditor_reads_its_organizations_slice(
    as_user: Any, demo_data: DemoData, session: AsyncSession, partner_auditor: str
) -> None:
    # given events of every organization, and an auditor of acme
    demo = demo_data.demo
    made = await make_events(as_user, demo)
    acme = uuid.UUID(demo.organization("acme")["id"])
    globex = uuid.UUID(demo.organization("globex")["id"])
    auditor = as_user(partner_auditor)
    truth = await ground_truth(session, demo)
    mine = [r for r in truth if acme in (r.actor_organization_id, r.target_organization_id)]
    assert len(mine) < len(truth)
    # when they read the log
    full = await auditor(EVENTS, {"first": 100})
    # then only the events whose actor or target is acme's come, newest first
    assert ids(full) == [row.id for row in mine]
    nodes = [edge["node"] for edge in data(full)["edges"]]
    assert {n["action"] for n in nodes} >= {"createTask", "updateTask", "createThread"}
    # including the host's change to acme's task, without the host's internal fields
    update = next(n for n in nodes if n["action"] == "updateTask" and n["outcome"] == "SUCCESS")
    assert update["actor"]["organizationId"] == global_id(
        "Organization", demo.organization("northwind")["id"]
    )
    fields = changed_fields(update)
    assert fields["internal_notes"] == [REDACTED, REDACTED]
    assert fields["cost_cents"] == [REDACTED, REDACTED]
    assert "updated_at" in fields
    assert HOST_NOTE not in str(full) and "1234" not in str(fields)
    # and nothing of globex's internal work
    assert str(raw_id(made.globex_task)) not in str(full)
    # and filtering on another organization keeps within acme's slice
    truth = await ground_truth(session, demo)
    body = await auditor(EVENTS, {"first": 100, "organization": global_id("Organization", globex)})
    expected = [
        row.id
        for row in truth
        if acme in (row.actor_organization_id, row.target_organization_id)
        and globex in (row.actor_organization_id, row.target_organization_id)
    ]
    assert ids(body) == expected
    # and node(id:) answers for acme's events, and like a missing id for the others
    others = [r for r in truth if acme not in (r.actor_organization_id, r.target_organization_id)]
    visible = await auditor(NODE, {"id": global_id("AuditEvent", mine[0].id)})
    assert visible == {
        "data": {
            "node": {
                "__typename": "AuditEvent",
                "id": global_id("AuditEvent", mine[0].id),
                "seq": mine[0].seq,
                "action": mine[0].action,
            }
        }
    }
    for row_id in (others[0].id, uuid.uuid4()):
        assert await auditor(NODE, {"id": global_id("AuditEvent", row_id)}) == {
            "data": {"node": None}
        }


async def test_a_host_member_who_is_no_auditor_is_refused(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    await make_events(as_user, demo)
    event = (await ground_truth(session, demo))[0]
    for key in ("alice", "bruno", "chloe"):  # admin, finance, contributor
        body = await as_user(key)(EVENTS, {"first": 10})
        assert body["data"] == {"auditEvents": None}, body
        (error,) = body["errors"]
        assert error["path"] == ["auditEvents"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        found = await as_user(key)(NODE, {"id": global_id("AuditEvent", event.id)})
        assert found == {"data": {"node": None}}


async def test_a_partner_who_is_no_auditor_has_no_audit_log(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    await make_events(as_user, demo)
    event = (await ground_truth(session, demo))[0]
    for key in ("erin", "grace", "hiro"):  # partner admins and a member
        caller = as_user(key)
        # asking for the log fails validation, as a field that never existed would
        body = await caller(EVENTS, {"first": 10})
        assert "data" not in body, body
        messages = {error["message"] for error in body["errors"]}
        assert any(
            m.startswith("Cannot query field 'auditEvents' on type 'Query'.") for m in messages
        )
        assert any(m.startswith("Unknown type 'AuditOutcome'.") for m in messages), messages
        # introspection shows nothing of it
        schema = (await caller(INTROSPECTION))["data"]["__schema"]
        assert "auditEvents" not in {f["name"] for f in schema["queryType"]["fields"]}
        assert not [t["name"] for t in schema["types"] if t["name"].startswith("Audit")]
        # and an event's id names an unknown type
        found = await caller(NODE, {"id": global_id("AuditEvent", event.id)})
        assert "data" not in found and "Unknown type 'AuditEvent'" in str(found["errors"])
        lookup = await caller(
            "query($id: ID!) { node(id: $id) { id } }", {"id": global_id("AuditEvent", event.id)}
        )
        assert lookup["data"] == {"node": None}
        assert lookup["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_partner_auditors_schema_is_the_partner_schema_and_the_log(
    as_user: Any, partner_auditor: str
) -> None:
    schema = (await as_user(partner_auditor)(INTROSPECTION))["data"]["__schema"]
    types = {t["name"]: {f["name"] for f in t["fields"] or []} for t in schema["types"]}
    assert "auditEvents" in {f["name"] for f in schema["queryType"]["fields"]}
    assert {"AuditEvent", "AuditActor", "AuditTarget"} <= set(types)
    # still without what no partner may read
    assert not {"costCents", "internalNotes"} & types["Task"]
    assert "budgetCents" not in types["Engagement"]
    assert not {"identityProviders", "domains"} & types["Organization"]
    assert "IdentityProvider" not in types
    assert "createEngagement" not in types["Mutation"]


async def test_bad_filters_are_refused(as_user: Any, demo_data: DemoData) -> None:
    dmitri = as_user("dmitri")
    engagement = global_id("Engagement", demo_data.demo.engagement(ERP)["id"])
    cases = [
        ({"from": "2026-12-03T10:00:00"}, "from"),  # no time zone
        ({"to": "2026-12-03T10:00:00"}, "to"),
        ({"from": "2026-12-03T10:00:00Z", "to": "2026-12-03T09:00:00Z"}, "from"),
        ({"actor": engagement}, "actorId"),  # an id of another type
        ({"organization": "not an id"}, "organizationId"),
        ({"after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"first": 101}, "first"),
        ({"action": "x" * 81}, "action"),
    ]
    for filters, field in cases:
        body = await dmitri(EVENTS, filters)
        assert body["data"] == {"auditEvents": None}, (filters, body)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (filters, error)
        assert error["extensions"].get("field") == field, (filters, error)


async def test_time_bounds_accept_any_time_zone(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo = demo_data.demo
    await make_events(as_user, demo)
    middle = (await ground_truth(session, demo))[3].occurred_at
    india = middle.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    zulu = middle.isoformat().replace("+00:00", "Z")
    assert not india.endswith(("+00:00", "Z"))
    for bound in (india, zulu):
        truth = await ground_truth(session, demo)
        body = await as_user("dmitri")(EVENTS, {"first": 100, "from": bound})
        assert ids(body) == [row.id for row in truth if row.occurred_at >= middle], bound


def test_partner_auditors_read_no_host_only_column() -> None:
    # the host-only fields of the tables an event's changes name are redacted for partners
    columns = {"Task": "tasks", "Engagement": "engagements"}
    host_only = {
        f"{columns[row.type_name]}.{_snake(row.field_name)}"
        for row in policy_report.rows()
        if row.type_name in columns and not row.partner_auditor_visible and not row.is_input
    }
    assert host_only == HIDDEN_FROM_PARTNERS
    details = {
        "changes": [
            {"type": "tasks", "op": "create", "fields": {"title": "t", "cost_cents": 5}},
            {"type": "tasks", "op": "update", "fields": {"internal_notes": [None, "n"]}},
            {"type": "engagements", "op": "update", "fields": {"budget_cents": [1, 2]}},
            {"type": "threads", "op": "create", "fields": {"title": "kept"}},
        ],
        "zoneFrom": "SHARED",
    }
    assert redacted_for_partners(details) == {
        "changes": [
            {"type": "tasks", "op": "create", "fields": {"title": "t", "cost_cents": REDACTED}},
            {
                "type": "tasks",
                "op": "update",
                "fields": {"internal_notes": [REDACTED, REDACTED]},
            },
            {
                "type": "engagements",
                "op": "update",
                "fields": {"budget_cents": [REDACTED, REDACTED]},
            },
            {"type": "threads", "op": "create", "fields": {"title": "kept"}},
        ],
        "zoneFrom": "SHARED",
    }
    assert redacted_for_partners({"restricted": {"Task.costCents": 1}}) == {
        "restricted": {"Task.costCents": 1}
    }


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def test_which_policies_only_partner_auditors_pass() -> None:
    auditor = tenant_role(TenantRole.AUDITOR)
    assert auditor.partner_auditors_only() and AUDIT_ROWS.partner_auditors_only()
    assert (HOST | auditor).partner_auditors_only()  # host members, or partner auditors
    assert (auditor & SAME_ORGANIZATION).partner_auditors_only()
    for policy in (
        tenant_role(TenantRole.FINANCE),
        VISIBLE | auditor,
        ADMIN_ROWS,
        VISIBLE,
        HOST,
        SAME_ORGANIZATION,
    ):
        assert not policy.partner_auditors_only(), policy
