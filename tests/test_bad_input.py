"""Bad input: every mistake gets exactly one clear error and the right HTTP status, and
nothing is half-written.

Statuses follow GraphQL-over-HTTP: with `application/json`, a well-formed request answers
200 whatever GraphQL errors it carries (a document that does not parse included), and a
request that cannot be read (bad JSON, no query) answers 400; with
`application/graphql-response+json`, a response without `data` answers 400.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from membrane.api.errors import format_error
from membrane.api.runtime import Runtime
from tests.fixtures.demo import DemoData, SeededTenant
from tests.support.ids import gid

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
ERP = "Acme ERP rollout"
WRITTEN_TABLES = ("engagements", "engagement_participants", "engagement_members", "tasks")

VIEWER = "{ viewer { user { displayName } } }"
CREATE_TASK = """mutation($input: CreateTaskInput!) {
  createTask(input: $input) { task { id title } } }"""
CREATE_ENGAGEMENT = """mutation($input: CreateEngagementInput!) {
  createEngagement(input: $input) { engagement { id } } }"""
ENGAGEMENT_AND_NODE = """query($id: ID!) {
  engagement(id: $id) { id name } node(id: $id) { id } }"""


def erp_id(tenant: SeededTenant) -> str:
    return gid("Engagement", tenant.engagement(ERP)["id"])


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    """The single error of a response; its message is meant for people, so not empty."""
    errors = body.get("errors")
    assert errors is not None and len(errors) == 1, body
    error: dict[str, Any] = errors[0]
    assert error["message"].strip()
    return error


async def written(session: AsyncSession) -> dict[str, int]:
    """How many rows the tables a mutation could write hold (ground truth, plain SQL)."""
    counts = {}
    for table in WRITTEN_TABLES:
        counts[table] = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    return counts


async def post_raw(
    client: httpx.AsyncClient, token: str | None, content: bytes, accept: str = JSON
) -> httpx.Response:
    headers = {"content-type": JSON, "accept": accept}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", content=content, headers=headers)


def task_input(tenant: SeededTenant, **fields: Any) -> dict[str, Any]:
    return {"input": {"engagementId": erp_id(tenant), "title": "Probe", "zone": "SHARED", **fields}}


# -- requests that cannot be read ------------------------------------------------------


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        pytest.param(b'{"query": "{ viewer { roles } }"', "not valid JSON", id="malformed-json"),
        pytest.param(b"", "not valid JSON", id="empty-body"),
        pytest.param(b'[{"query": "{ viewer { roles } }"}]', "JSON object", id="array-body"),
        pytest.param(b'"{ viewer { roles } }"', "JSON object", id="string-body"),
        pytest.param(b'{"variables": {}}', "query", id="missing-query"),
        pytest.param(b'{"query": 5}', "query", id="query-not-a-string"),
        pytest.param(
            b'{"query": "{ viewer { roles } }", "variables": [7]}', "variables", id="variables-list"
        ),
    ],
)
async def test_unreadable_request_is_400(
    content: bytes, complaint: str, accept: str, as_user: Any, client: httpx.AsyncClient
) -> None:
    # given a body that is not a well-formed GraphQL-over-HTTP request
    token = as_user("alice").token
    # when it is posted
    response = await post_raw(client, token, content, accept)
    # then it is refused with 400 and one BAD_USER_INPUT error, and nothing was executed
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    body = response.json()
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert complaint in error["message"]
    assert "data" not in body


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_syntax_error_has_its_location(accept: str, status: int, as_user: Any) -> None:
    # given a document that does not parse
    alice = as_user("alice")
    # when it is posted
    response = await alice.post("{ viewer { user ", accept=accept)
    # then one BAD_USER_INPUT error says where, and there is no data
    assert response.status_code == status
    body = response.json()
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Syntax Error")
    assert error["locations"] == [{"line": 1, "column": 17}]
    assert "data" not in body


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_unknown_field_in_selection(accept: str, status: int, as_user: Any) -> None:
    # given a well-formed document asking for a field the schema does not have
    alice = as_user("alice")
    # when it is posted
    response = await alice.post("{ viewer { user { displayName shoeSize } } }", accept=accept)
    # then validation refuses it with one error naming the field, and nothing is executed
    assert response.status_code == status
    body = response.json()
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "shoeSize" in error["message"]
    assert "data" not in body


# -- input objects and variables ---------------------------------------------------------


def _literal_create_task(engagement_id: str, extra: str) -> str:
    fields = f'engagementId: "{engagement_id}", title: "Probe", {extra}'
    return "mutation { createTask(input: {" + fields + "}) { task { id } } }"


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
@pytest.mark.parametrize("how", ["literal", "variables"])
@pytest.mark.parametrize(
    ("extra", "extra_variables", "field", "mentions"),
    [
        pytest.param(
            "zone: SHARED, priority: 1",
            {"zone": "SHARED", "priority": 1},
            "input.priority",
            "priority",
            id="unknown-input-field",
        ),
        pytest.param("zone: PUBLIC", {"zone": "PUBLIC"}, "input.zone", "PUBLIC", id="unknown-enum"),
    ],
)
async def test_input_the_schema_does_not_allow(
    extra: str,
    extra_variables: dict[str, Any],
    field: str,
    mentions: str,
    how: str,
    accept: str,
    status: int,
    as_user: Any,
    demo_data: DemoData,
    session: AsyncSession,
) -> None:
    # given a createTask input with a field or a value the schema does not have
    alice = as_user("alice")
    engagement = erp_id(demo_data.demo)
    before = await written(session)
    # when it is sent as a literal or through variables
    if how == "literal":
        response = await alice.post(_literal_create_task(engagement, extra), accept=accept)
    else:
        variables = {"input": {"engagementId": engagement, "title": "Probe", **extra_variables}}
        response = await alice.post(CREATE_TASK, variables, accept=accept)
    # then one BAD_USER_INPUT error points at the offending input, nothing runs or is written
    assert response.status_code == status
    body = response.json()
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert mentions in error["message"]
    assert "data" not in body
    assert await written(session) == before


async def test_wrong_variable_type_points_at_the_input(as_user: Any, demo_data: DemoData) -> None:
    # given an estimate that is not a number
    alice = as_user("alice")
    # when it is sent
    body = await alice(CREATE_TASK, task_input(demo_data.demo, estimateHours="soon"))
    # then the error is the client's, not an internal one, and names the field
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.estimateHours"}
    assert "data" not in body


async def test_missing_required_variable(as_user: Any) -> None:
    # given a mutation whose input variable is not sent
    alice = as_user("alice")
    # when it is posted without variables
    body = await alice(CREATE_TASK)
    # then one error says the input is missing
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input"}
    assert "data" not in body


# -- ids -----------------------------------------------------------------------------------


async def test_task_id_as_engagement_id(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given the id of a real task, passed where an engagement id belongs
    alice = as_user("alice")
    found = await alice(
        "query($id: ID!) { engagement(id: $id) { tasks(first: 1) { edges { node { id } } } } }",
        {"id": erp_id(demo_data.demo)},
    )
    task_id = found["data"]["engagement"]["tasks"]["edges"][0]["node"]["id"]
    before = await written(session)
    # when a task is created with it
    body = await alice(
        CREATE_TASK, {"input": {"engagementId": task_id, "title": "P", "zone": "SHARED"}}
    )
    # then the id is refused for its type, and nothing is written
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.engagementId"}
    assert error["message"] == "engagementId must be the id of an Engagement"
    assert body["data"] == {"createTask": None}
    assert await written(session) == before


async def test_organization_id_to_engagement_query(as_user: Any, demo_data: DemoData) -> None:
    # given the id of an organization
    acme = gid("Organization", demo_data.demo.organization("acme")["id"])
    # when it is passed to engagement(id:)
    body = await as_user("alice")("query($id: ID!) { engagement(id: $id) { id } }", {"id": acme})
    # then the field is null with one BAD_USER_INPUT error on the argument
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert error["path"] == ["engagement"]
    assert body["data"] == {"engagement": None}


@pytest.mark.parametrize("garbage", ["garbage!!", "", gid("Engagement", "not-a-uuid")])
async def test_garbage_id(
    garbage: str, as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    alice = as_user("alice")
    before = await written(session)
    # when a garbage id is passed to a mutation and to node(id:)
    mutation = await alice(
        CREATE_TASK, {"input": {"engagementId": garbage, "title": "P", "zone": "SHARED"}}
    )
    query = await alice("query($id: ID!) { node(id: $id) { id } }", {"id": garbage})
    # then each answers one BAD_USER_INPUT error on the id, and nothing is written
    assert only_error(mutation)["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "input.engagementId",
    }
    assert only_error(query)["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    assert query["data"] == {"node": None}
    assert await written(session) == before


async def test_another_tenants_id_looks_like_a_missing_one(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given an engagement of the other tenant, and an id that exists nowhere
    alice = as_user("alice")
    foreign = erp_id(demo_data.other)
    missing = gid("Engagement", str(uuid.uuid4()))
    before = await written(session)
    # when alice reads and writes with each
    read_foreign = await alice(ENGAGEMENT_AND_NODE, {"id": foreign})
    read_missing = await alice(ENGAGEMENT_AND_NODE, {"id": missing})
    write = {
        name: await alice(
            CREATE_TASK, {"input": {"engagementId": id_, "title": "P", "zone": "SHARED"}}
        )
        for name, id_ in (("foreign", foreign), ("missing", missing))
    }
    # then reads answer null without errors, exactly as for the missing id
    assert read_foreign == read_missing == {"data": {"engagement": None, "node": None}}
    # and writes answer NOT_FOUND on the id, word for word as for the missing id
    error = only_error(write["foreign"])
    assert error["extensions"] == {"code": "NOT_FOUND", "field": "input.engagementId"}
    assert write["foreign"] == write["missing"]
    assert await written(session) == before


# -- documented input rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"title": "x" * 201}, "input.title", id="title-201-chars"),
        pytest.param({"title": ""}, "input.title", id="title-empty"),
        pytest.param({"title": "   "}, "input.title", id="title-blank"),
        pytest.param({"estimateHours": -0.5}, "input.estimateHours", id="negative-estimate"),
    ],
)
async def test_task_input_rules(
    fields: dict[str, Any],
    field: str,
    as_user: Any,
    demo_data: DemoData,
    session: AsyncSession,
) -> None:
    # given a task input that breaks one documented rule
    alice = as_user("alice")
    before = await written(session)
    # when alice creates it
    body = await alice(CREATE_TASK, task_input(demo_data.demo, **fields))
    # then one BAD_USER_INPUT error names the field, and no task is written
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert error["path"] == ["createTask"]
    assert body["data"] == {"createTask": None}
    assert await written(session) == before


@pytest.mark.parametrize("amount", [-1, 2**53, 1.5, "100"])
async def test_money_outside_the_scalar_is_refused(
    amount: Any, as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given an amount the Money scalar does not take (negative, inexact in JSON, not whole)
    before = await written(session)
    # when alice creates a task with it
    body = await as_user("alice")(CREATE_TASK, task_input(demo_data.demo, costCents=amount))
    # then the variables are refused before execution, naming the field; nothing is written
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.costCents"}
    assert "data" not in body
    assert await written(session) == before


async def test_limits_are_inclusive(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given a title of exactly 200 characters and zero hours and cents
    before = await written(session)
    # when alice creates the task
    body = await as_user("alice")(
        CREATE_TASK, task_input(demo_data.demo, title="x" * 200, estimateHours=0, costCents=0)
    )
    # then it is accepted and written
    assert "errors" not in body
    assert body["data"]["createTask"]["task"]["title"] == "x" * 200
    assert (await written(session))["tasks"] == before["tasks"] + 1


async def test_negative_budget(as_user: Any, session: AsyncSession) -> None:
    before = await written(session)
    # when alice creates an engagement with a negative budget
    body = await as_user("alice")(
        CREATE_ENGAGEMENT, {"input": {"name": "Audit", "budgetCents": -5}}
    )
    # then it is refused on the field and no engagement, participant or member is written
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.budgetCents"}
    assert await written(session) == before


async def test_execution_error_with_null_data_is_200_for_graphql_response_json(
    as_user: Any, demo_data: DemoData
) -> None:
    # given a mutation that runs and fails (its payload field becomes null)
    alice = as_user("alice")
    # when the client accepts application/graphql-response+json
    response = await alice.post(
        CREATE_TASK, task_input(demo_data.demo, title=""), accept=GRAPHQL_RESPONSE
    )
    # then the response has data, so it is 200: only a response without data is 4xx
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"createTask": None}
    assert only_error(body)["extensions"]["field"] == "input.title"


@pytest.mark.parametrize("first", [101, -1])
async def test_page_size_out_of_range(first: int, as_user: Any) -> None:
    # when a page of more than 100 or fewer than 0 engagements is asked for
    body = await as_user("alice")(
        "query($first: Int) { engagements(first: $first) { edges { node { id } } } }",
        {"first": first},
    )
    # then one BAD_USER_INPUT error names the argument
    error = only_error(body)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    assert error["path"] == ["engagements"]
    assert body["data"] is None


async def test_page_size_limits_are_inclusive(as_user: Any) -> None:
    alice = as_user("alice")
    for first in (0, 100):
        body = await alice(f"{{ engagements(first: {first}) {{ edges {{ node {{ id }} }} }} }}")
        assert "errors" not in body
        assert len(body["data"]["engagements"]["edges"]) == min(first, 3)


# -- authentication and method -------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Basic YWxpY2U6c2VjcmV0", "Bearer ", "Bearer x.y.z"]
)
async def test_missing_or_unusable_credentials_are_401(
    authorization: str | None, client: httpx.AsyncClient
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    # when a query is posted without a usable bearer token
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    # then it is 401 UNAUTHENTICATED with a bearer challenge
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert only_error(body)["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "data" not in body


async def test_expired_token_is_401(
    app: Starlette, client: httpx.AsyncClient, demo_data: DemoData
) -> None:
    # given a token for alice that expired an hour ago
    runtime: Runtime = app.state.runtime
    alice = demo_data.demo.user("alice")
    token = runtime.tokens.mint(
        subject=uuid.UUID(alice["id"]),
        tenant_id=uuid.UUID(demo_data.demo.tenant_id),
        organization_id=uuid.UUID(demo_data.demo.organization("northwind")["id"]),
        ttl_seconds=300,
        now=int(time.time()) - 3600,
    )
    # when it is used
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {token}"}
    )
    # then it is 401 UNAUTHENTICATED, saying why
    assert response.status_code == 401
    error = only_error(response.json())
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "expired" in error["message"]


async def test_mutation_over_get_is_405(
    as_user: Any, client: httpx.AsyncClient, demo_data: DemoData, session: AsyncSession
) -> None:
    alice = as_user("alice")
    mutation = _literal_create_task(erp_id(demo_data.demo), "zone: SHARED")
    headers = {"authorization": f"Bearer {alice.token}"}
    before = await written(session)
    # when a mutation is sent with GET
    response = await client.get("/graphql", params={"query": mutation}, headers=headers)
    # then it is 405 with Allow: POST, and nothing is written
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert only_error(response.json())["extensions"]["code"] == "BAD_USER_INPUT"
    assert await written(session) == before
    # while the same request with a query is served
    query = await client.get("/graphql", params={"query": VIEWER}, headers=headers)
    assert query.status_code == 200
    assert query.json() == {"data": {"viewer": {"user": {"displayName": "Alice Martin"}}}}


# -- size and depth ------------------------------------------------------------------------


def _nested_engagements(levels: int) -> str:
    """engagement → tasks → edges → node → engagement → ...: three levels a turn."""
    inner = "id"
    for _ in range(levels):
        inner = f"engagement {{ tasks {{ edges {{ node {{ {inner} }} }} }} }}"
    return f'{{ node(id: "x") {{ ... on Task {{ {inner} }} }} }}'


@pytest.mark.parametrize(("accept", "status"), [(JSON, 200), (GRAPHQL_RESPONSE, 400)])
async def test_over_deep_query(accept: str, status: int, as_user: Any) -> None:
    # given a valid query nested deeper than the limit
    query = _nested_engagements(4)
    # when it is posted
    response = await as_user("alice").post(query, accept=accept)
    # then it is refused before execution as too complex
    assert response.status_code == status
    body = response.json()
    error = only_error(body)
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX"}
    assert "depth" in error["message"]
    assert "data" not in body


async def test_too_many_tokens(as_user: Any) -> None:
    # given a document of more than 5,000 tokens
    query = "{ viewer { " + "roles " * 5000 + "} }"
    # when it is posted
    response = await as_user("alice").post(query)
    # then parsing stops and the request is refused as too complex
    assert response.status_code == 200
    assert only_error(response.json())["extensions"] == {"code": "QUERY_TOO_COMPLEX"}


# -- permissions on input fields -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"internalNotes": "margin 30%"}, "input.internalNotes"),
        ({"costCents": 100}, "input.costCents"),
    ],
)
async def test_partner_cannot_write_host_fields(
    fields: dict[str, Any],
    field: str,
    as_user: Any,
    demo_data: DemoData,
    session: AsyncSession,
) -> None:
    # given erin, a partner lead who may write tasks in the ERP engagement
    erin = as_user("erin")
    before = await written(session)
    # when she sets a host-only field
    refused = await erin(CREATE_TASK, task_input(demo_data.demo, **fields))
    # then the partner schema has no such input field, and nothing is written
    error = only_error(refused)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert "unknown field" in error["message"]
    assert "data" not in refused
    assert await written(session) == before
    # while the same task without the field is accepted
    accepted = await erin(CREATE_TASK, task_input(demo_data.demo))
    assert "errors" not in accepted
    assert (await written(session))["tasks"] == before["tasks"] + 1


# -- internal errors and transactions ------------------------------------------------------


def test_internal_error_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    # given an unexpected exception raised while resolving a field
    error = GraphQLError(
        "connection to db-7 failed: password authentication failed for user membrane",
        path=["engagements"],
        original_error=RuntimeError("password authentication failed"),
    )
    # when it is formatted for the client
    with caplog.at_level(logging.ERROR, logger="membrane.api"):
        formatted = format_error(error)
    # then the client sees INTERNAL and an id to quote, never the details
    assert formatted["message"] == "Internal server error"
    assert formatted["extensions"]["code"] == "INTERNAL"
    error_id = formatted["extensions"]["errorId"]
    assert "password" not in str(formatted)
    # and the operator finds the id in the log
    assert any(error_id in record.getMessage() for record in caplog.records)


def test_execution_error_without_a_cause_is_masked_too() -> None:
    # given an error graphql-core raises while executing (a server fault, e.g. a null
    # where the schema promises a value)
    error = GraphQLError("Cannot return null for non-nullable field Task.title.", path=["x"])
    # when it is formatted
    formatted = format_error(error)
    # then it is not blamed on the client
    assert formatted["extensions"]["code"] == "INTERNAL"
    assert formatted["message"] == "Internal server error"


async def test_each_mutation_is_its_own_transaction(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    # given one request with two mutations, the second of which breaks a rule
    alice = as_user("alice")
    engagement = erp_id(demo_data.demo)
    document = """mutation {
      kept: createTask(input: {engagementId: "ERP", title: "Kept", zone: SHARED}) { task { id } }
      refused: createTask(input: {engagementId: "ERP", title: "", zone: SHARED}) { task { id } }
    }""".replace("ERP", engagement)
    before = await written(session)
    # when it is posted
    body = await alice(document)
    # then the second fails alone, with one error at its path
    error = only_error(body)
    assert error["path"] == ["refused"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.title"}
    # and the first result is there (payloads are nullable), committed
    assert body["data"]["refused"] is None
    kept_id = body["data"]["kept"]["task"]["id"]
    assert kept_id
    assert (await written(session))["tasks"] == before["tasks"] + 1
    titles = await alice(
        "query($id: ID!) { engagement(id: $id) { tasks(first: 100) { edges { node { title } } } } }",
        {"id": engagement},
    )
    seen = [edge["node"]["title"] for edge in titles["data"]["engagement"]["tasks"]["edges"]]
    assert seen.count("Kept") == 1


# -- before anything else: who asks, and how much -----------------------------------------


async def test_anonymous_callers_learn_nothing_of_the_schema(client: httpx.AsyncClient) -> None:
    # given no token and a document with a typo the schema could help with
    response = await post_raw(client, None, b'{"query": "{ viewr { user { displayName } } }"}')
    # then the answer is 401, with no hint of the field that exists
    assert response.status_code == 401
    error = only_error(response.json())
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "viewer" not in response.text


async def test_oversized_body_is_refused(as_user: Any, client: httpx.AsyncClient) -> None:
    # given a body over a mebibyte (a long string in the variables)
    token = as_user("alice").token
    padding = "x" * 1_100_000
    content = ('{"query": "{ viewer { roles } }", "variables": {"p": "' + padding + '"}}').encode()
    # when it is posted, then it is refused with 413 and nothing runs
    response = await post_raw(client, token, content)
    assert response.status_code == 413
    assert only_error(response.json())["extensions"]["code"] == "BAD_USER_INPUT"
