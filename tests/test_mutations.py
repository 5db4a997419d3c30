"""Mutations: the whole life of an engagement, and each rule seen from both sides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.demo import DemoData
from tests.support.ids import gid

CREATE_ENGAGEMENT = """mutation($input: CreateEngagementInput!) {
  createEngagement(input: $input) { engagement { id name status viewerRole budgetCents } } }"""
ADD_PARTICIPANT = """mutation($input: AddParticipantInput!) {
  addParticipant(input: $input) { organization { slug } } }"""
ADD_MEMBER = """mutation($input: AddMemberInput!) {
  addMember(input: $input) { member { role user { displayName } organization { slug } } } }"""
CREATE_TASK = """mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id title zone status assignee { displayName } } } }"""
UPDATE_TASK = """mutation($input: UpdateTaskInput!) {
  updateTask(input: $input) { task { id title status dueOn assignee { displayName } } } }"""


async def test_engagement_lifecycle(as_user: Any, demo_data: DemoData) -> None:
    demo = demo_data.demo
    alice, erin = as_user("alice"), as_user("erin")
    # given a new engagement created by the host
    created = await alice(
        CREATE_ENGAGEMENT, {"input": {"name": " Plant 4 audit ", "budgetCents": 1000}}
    )
    engagement = created["data"]["createEngagement"]["engagement"]
    assert engagement["name"] == "Plant 4 audit"
    assert engagement["viewerRole"] == "LEAD" and engagement["budgetCents"] == 1000
    # when Acme takes part and erin becomes a member
    acme = gid("Organization", demo.organization("acme")["id"])
    added = await alice(
        ADD_PARTICIPANT, {"input": {"engagementId": engagement["id"], "organizationId": acme}}
    )
    assert added["data"]["addParticipant"]["organization"]["slug"] == "acme"
    erin_id = gid("User", demo.user("erin")["id"])
    member = await alice(
        ADD_MEMBER, {"input": {"engagementId": engagement["id"], "userId": erin_id, "role": "LEAD"}}
    )
    assert member["data"]["addMember"]["member"] == {
        "role": "LEAD",
        "user": {"displayName": "Erin Walsh"},
        "organization": {"slug": "acme"},
    }
    # and the host writes one shared and one internal task
    shared = await alice(
        CREATE_TASK,
        {
            "input": {
                "engagementId": engagement["id"],
                "title": "Walk the line",
                "zone": "SHARED",
                "assigneeId": erin_id,
            }
        },
    )
    internal = await alice(
        CREATE_TASK,
        {
            "input": {
                "engagementId": engagement["id"],
                "title": "Price the audit",
                "zone": "INTERNAL",
                "internalNotes": "aim 12%",
            }
        },
    )
    shared_task = shared["data"]["createTask"]["task"]
    assert shared_task["assignee"] == {"displayName": "Erin Walsh"}
    # then erin sees the engagement and the shared task only
    seen = await erin(
        "query($id: ID!) { engagement(id: $id) { name tasks { edges { node { title } } } } }",
        {"id": engagement["id"]},
    )
    assert seen["data"]["engagement"]["tasks"]["edges"] == [{"node": {"title": "Walk the line"}}]
    # and erin may update the shared task, but not the internal one (it does not exist for her)
    updated = await erin(
        UPDATE_TASK,
        {"input": {"id": shared_task["id"], "status": "IN_PROGRESS", "dueOn": "2027-01-15"}},
    )
    assert updated["data"]["updateTask"]["task"]["status"] == "IN_PROGRESS"
    assert updated["data"]["updateTask"]["task"]["dueOn"] == "2027-01-15"
    hidden = await erin(
        UPDATE_TASK, {"input": {"id": internal["data"]["createTask"]["task"]["id"], "title": "x"}}
    )
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_partner_cannot_create_engagements(as_user: Any, session: AsyncSession) -> None:
    before = (await session.execute(text("SELECT count(*) FROM engagements"))).scalar_one()
    # the partner schema has no createEngagement at all
    body = await as_user("erin")(CREATE_ENGAGEMENT, {"input": {"name": "Shadow project"}})
    assert "data" not in body
    messages = [error["message"] for error in body["errors"]]
    assert any("Cannot query field 'createEngagement'" in message for message in messages)
    # a host member without a lead role may create one; chloe is a plain host member
    created = await as_user("chloe")(CREATE_ENGAGEMENT, {"input": {"name": "Host project"}})
    assert created["data"]["createEngagement"]["engagement"]["name"] == "Host project"
    after = (await session.execute(text("SELECT count(*) FROM engagements"))).scalar_one()
    assert after == before + 1


async def test_partner_lead_adds_only_own_people(as_user: Any, demo_data: DemoData) -> None:
    demo = demo_data.demo
    pilot = gid("Engagement", demo.engagement("Joint supply-chain pilot")["id"])
    chloe = gid("User", demo.user("chloe")["id"])
    body = await as_user("erin")(
        ADD_MEMBER, {"input": {"engagementId": pilot, "userId": chloe, "role": "VIEWER"}}
    )
    assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "CONFLICT"}
    # the twin: the host lead adding an existing member gets CONFLICT, not FORBIDDEN
    again = await as_user("alice")(
        ADD_MEMBER, {"input": {"engagementId": pilot, "userId": chloe, "role": "VIEWER"}}
    )
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_threads_documents_milestones_indicators(as_user: Any, demo_data: DemoData) -> None:
    demo = demo_data.demo
    erp = gid("Engagement", demo.engagement("Acme ERP rollout")["id"])
    farid = as_user("farid")
    thread = await farid(
        """mutation($i: CreateThreadInput!) { createThread(input: $i) { thread { id zone messages { edges { node { body author { displayName } } } } } } }""",
        {"i": {"engagementId": erp, "title": "Cut-over", "zone": "SHARED", "body": "Saturday?"}},
    )
    thread_node = thread["data"]["createThread"]["thread"]
    assert thread_node["messages"]["edges"] == [
        {"node": {"body": "Saturday?", "author": {"displayName": "Farid Haddad"}}}
    ]
    reply = await as_user("alice")(
        """mutation($i: PostMessageInput!) { postMessage(input: $i) { message { body thread { id } } } }""",
        {"i": {"threadId": thread_node["id"], "body": "Works for us."}},
    )
    assert reply["data"]["postMessage"]["message"]["thread"]["id"] == thread_node["id"]
    document = await farid(
        """mutation($i: CreateDocumentInput!) { createDocument(input: $i) { document { id currentVersion sizeBytes } version { number } } }""",
        {"i": {"engagementId": erp, "title": "Plan", "zone": "INTERNAL", "body": "héllo"}},
    )
    doc = document["data"]["createDocument"]
    assert doc["document"]["sizeBytes"] == 6 and doc["version"]["number"] == 1
    version = await farid(
        """mutation($i: CreateDocumentVersionInput!) { createDocumentVersion(input: $i) { document { currentVersion versions { edges { node { number body } } } } } }""",
        {"i": {"documentId": doc["document"]["id"], "body": "v2"}},
    )
    versions = version["data"]["createDocumentVersion"]["document"]
    assert versions["currentVersion"] == 2
    assert [e["node"]["number"] for e in versions["versions"]["edges"]] == [1, 2]
    # the host cannot see Acme's internal document
    hidden = await as_user("alice")(
        "query($id: ID!) { node(id: $id) { id } }", {"id": doc["document"]["id"]}
    )
    assert hidden["data"]["node"] is None
    milestone = await farid(
        """mutation($i: CreateMilestoneInput!) { createMilestone(input: $i) { milestone { title status dueOn } } }""",
        {"i": {"engagementId": erp, "title": "Go-live", "zone": "SHARED", "dueOn": "2027-03-01"}},
    )
    assert milestone["data"]["createMilestone"]["milestone"] == {
        "title": "Go-live",
        "status": "PLANNED",
        "dueOn": "2027-03-01",
    }
    indicator = await farid(
        """mutation($i: CreateIndicatorInput!) { createIndicator(input: $i) { indicator { id currentValue } } }""",
        {
            "i": {
                "engagementId": erp,
                "name": "Orders per hour",
                "unit": "orders",
                "zone": "SHARED",
                "target": 120,
            }
        },
    )
    indicator_id = indicator["data"]["createIndicator"]["indicator"]["id"]
    valued = await farid(
        """mutation($i: SetIndicatorValueInput!) { setIndicatorValue(input: $i) { indicator { currentValue history { edges { node { value recordedBy { displayName } } } } } } }""",
        {"i": {"indicatorId": indicator_id, "value": 97.5}},
    )
    result = valued["data"]["setIndicatorValue"]["indicator"]
    assert result["currentValue"] == 97.5
    assert result["history"]["edges"] == [
        {"node": {"value": 97.5, "recordedBy": {"displayName": "Farid Haddad"}}}
    ]


async def test_viewer_cannot_write(as_user: Any, demo_data: DemoData) -> None:
    # bruno is a VIEWER of the ERP engagement: he reads, he does not write
    erp = gid("Engagement", demo_data.demo.engagement("Acme ERP rollout")["id"])
    body = await as_user("bruno")(
        CREATE_TASK, {"input": {"engagementId": erp, "title": "x", "zone": "SHARED"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
