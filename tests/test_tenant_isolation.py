"""Tenant isolation, property-based: whatever tenants and content exist, every query and
mutation of the schema run as tenant A reads nothing of tenant B and changes nothing of it.

Tenants of every strategy are served by the real app (on PostgreSQL as the `membrane_app`
role, under row-level security). Hypothesis picks the two tenants and B's content; tenant A
then runs every root field of the schema, with its own ids and with B's, and the test
checks A's responses for B's ids and text, and B's rows for any change.
"""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from membrane.api.schema import schema
from membrane.tenancy.catalog import entry_by_slug
from membrane.tenancy.move import TableDigest, _digest, tenant_tables
from membrane.tenancy.provisioning import owner_engine, store_target, target_connection
from tests.fixtures.demo import SeededTenant
from tests.fixtures.tenants import STRATEGY_OF, Served, TenantWorld

ENGAGEMENT_PAGE = """
query { viewer { user { id displayName email } organization { id name
    identityProviders { id issuer clientId } domains { domain } } }
  engagements(first: 50) { edges { node { id name description
    participants { edges { node { id name identityProviders { id issuer } domains { domain } } } }
    members { edges { node { role user { id displayName } } } }
    tasks(first: 50) { edges { node { id title description zone
      assignee { id displayName organization { id name } } } } }
    threads(first: 50) { edges { node { id title messages(first: 50) { edges { node { id body } } } } } }
    documents(first: 50) { edges { node { id title versions(first: 50) { edges { node { id body } } } } } }
    milestones(first: 50) { edges { node { id title } } }
    indicators(first: 50) { edges { node { id name history(first: 50) { edges { node { value } } } } } }
  } } } }
"""
ENGAGEMENT = "query($id: ID!) { engagement(id: $id) { id name description } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"

MUTATIONS = {
    "createEngagement": (
        "mutation($input: CreateEngagementInput!) { createEngagement(input: $input) "
        "{ engagement { id name } } }"
    ),
    "addParticipant": (
        "mutation($input: AddParticipantInput!) { addParticipant(input: $input) "
        "{ engagement { id } } }"
    ),
    "addMember": (
        "mutation($input: AddMemberInput!) { addMember(input: $input) { engagement { id } } }"
    ),
    "inviteToEngagement": (
        "mutation($input: InviteToEngagementInput!) { inviteToEngagement(input: $input) "
        "{ invitations { email } } }"
    ),
    "createTask": (
        "mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id title } } }"
    ),
    "updateTask": (
        "mutation($input: UpdateTaskInput!) { updateTask(input: $input) { task { id title } } }"
    ),
    "createThread": (
        "mutation($input: CreateThreadInput!) { createThread(input: $input) "
        "{ thread { id title } } }"
    ),
    "postMessage": (
        "mutation($input: PostMessageInput!) { postMessage(input: $input) { message { id body } } }"
    ),
    "createDocument": (
        "mutation($input: CreateDocumentInput!) { createDocument(input: $input) "
        "{ document { id title } } }"
    ),
    "createDocumentVersion": (
        "mutation($input: CreateDocumentVersionInput!) { createDocumentVersion(input: $input) "
        "{ document { id title } } }"
    ),
    "createMilestone": (
        "mutation($input: CreateMilestoneInput!) { createMilestone(input: $input) "
        "{ milestone { id title } } }"
    ),
    "createIndicator": (
        "mutation($input: CreateIndicatorInput!) { createIndicator(input: $input) "
        "{ indicator { id name } } }"
    ),
    "setIndicatorValue": (
        "mutation($input: SetIndicatorValueInput!) { setIndicatorValue(input: $input) "
        "{ indicator { id name } } }"
    ),
    "publishToShared": (
        "mutation($input: PublishToSharedInput!) { publishToShared(input: $input) "
        "{ moved content { ... on Task { id title } } } }"
    ),
    "withdrawToInternal": (
        "mutation($input: WithdrawToInternalInput!) { withdrawToInternal(input: $input) "
        "{ moved content { ... on Task { id title } } } }"
    ),
    "registerIdentityProvider": (
        "mutation($input: RegisterIdentityProviderInput!) { registerIdentityProvider(input: $input) "
        "{ identityProvider { id issuer clientId } organization { id name } } }"
    ),
    "setIdentityProviderEnabled": (
        "mutation($input: SetIdentityProviderEnabledInput!) "
        "{ setIdentityProviderEnabled(input: $input) { identityProvider { id issuer enabled } } }"
    ),
    "addOrganizationDomain": (
        "mutation($input: AddOrganizationDomainInput!) { addOrganizationDomain(input: $input) "
        "{ organization { id name domains { domain } } domain { domain } } }"
    ),
    "setOrganizationStatus": (
        "mutation($input: SetOrganizationStatusInput!) { setOrganizationStatus(input: $input) "
        "{ organization { id name status } } }"
    ),
    "setUserStatus": (
        "mutation($input: SetUserStatusInput!) { setUserStatus(input: $input) "
        "{ user { id displayName status } } }"
    ),
}
QUERIES = {"viewer", "engagements", "engagement", "node", "search", "auditEvents"}
AUDIT_EVENTS = """query($actor: ID, $organization: ID, $engagement: ID) {
  auditEvents(first: 100, actorId: $actor, organizationId: $organization,
      engagementId: $engagement) {
    edges { node { id seq action outcome details prevHash hash
      actor { userId user { id displayName } organizationId organization { id name } }
      target { type id organizationId organization { id name } }
      engagementId engagement { id name } } } } }"""
SEARCH = """query($text: String!, $engagement: ID) {
  search(text: $text, first: 100, engagementId: $engagement) {
    __typename ... on Task { id title } ... on Thread { id title } } }"""
_counter = itertools.count()


def global_id(kind: str, raw: str) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


def _data(body: dict[str, Any], field: str) -> Any:
    assert "errors" not in body, body
    return body["data"][field]


class Victim:
    """Tenant B's content made for one example: its ids and the text it carries."""

    def __init__(self, tenant: SeededTenant) -> None:
        self.tenant = tenant
        self.ids: dict[str, str] = {}
        self.marker = f"victim{next(_counter)}x{uuid.uuid4().hex[:10]}"
        self.texts: list[str] = [self.marker]

    def secrets(self) -> list[str]:
        """What must never show up in another tenant's responses."""
        raw = [base64.b64decode(v).decode().split(":", 1)[1] for v in self.ids.values()]
        raw += [u["id"] for u in self.tenant.report["users"]]
        raw += [o["id"] for o in self.tenant.report["organizations"]]
        raw += [e["id"] for e in self.tenant.report["engagements"]]
        ids = list(self.ids.values()) + raw + [uuid.UUID(r).hex for r in raw]
        return ids + [t for t in self.texts if len(t) >= 6]


async def make_victim_content(served: Served, tenant: SeededTenant, words: list[str]) -> Victim:
    victim = Victim(tenant)
    token = served.token(tenant, "alice")
    # Membrane trims what it stores; the marker comes first, so nothing of it is lost.
    text = " ".join([victim.marker, *words])[:180].strip()
    victim.texts.append(text)

    async def run(name: str, variables: dict[str, Any]) -> Any:
        response = await served.graphql(token, MUTATIONS[name], {"input": variables})
        assert response.status_code == 200, response.text
        return _data(response.json(), name)

    engagement = (
        await run(
            "createEngagement",
            {"name": text, "description": text, "status": "ACTIVE"},
        )
    )["engagement"]["id"]
    victim.ids["engagement"] = engagement
    alice = global_id("User", tenant.user("alice")["id"])
    for zone in ("SHARED", "INTERNAL"):
        task = await run(
            "createTask",
            {
                "engagementId": engagement,
                "title": text,
                "zone": zone,
                "description": text,
                "status": "TODO",
                "assigneeId": alice,
                "internalNotes": text,
            },
        )
        victim.ids[f"task-{zone}"] = task["task"]["id"]
    thread = await run(
        "createThread", {"engagementId": engagement, "title": text, "zone": "SHARED"}
    )
    victim.ids["thread"] = thread["thread"]["id"]
    message = await run("postMessage", {"threadId": victim.ids["thread"], "body": text})
    victim.ids["message"] = message["message"]["id"]
    document = await run(
        "createDocument",
        {"engagementId": engagement, "title": text, "zone": "SHARED", "body": text},
    )
    victim.ids["document"] = document["document"]["id"]
    milestone = await run(
        "createMilestone", {"engagementId": engagement, "title": text, "zone": "SHARED"}
    )
    victim.ids["milestone"] = milestone["milestone"]["id"]
    indicator = await run(
        "createIndicator",
        {"engagementId": engagement, "name": text, "unit": "pct", "zone": "SHARED"},
    )
    victim.ids["indicator"] = indicator["indicator"]["id"]
    await run("setIndicatorValue", {"indicatorId": victim.ids["indicator"], "value": 42.5})
    acme = global_id("Organization", tenant.organization("acme")["id"])
    issuer = f"https://{victim.marker}.example/"
    victim.texts.append(issuer)
    provider = await run(
        "registerIdentityProvider",
        {"organizationId": acme, "issuer": issuer, "clientId": victim.marker},
    )
    victim.ids["identity-provider"] = provider["identityProvider"]["id"]
    domain = f"{victim.marker}.example"
    await run("addOrganizationDomain", {"organizationId": acme, "domain": domain})
    # B itself reads what was made: the checks below are not vacuous.
    own = await served.graphql(token, ENGAGEMENT, {"id": engagement})
    assert _data(own.json(), "engagement")["name"] == text
    found = await served.graphql(token, SEARCH, {"text": victim.marker})
    assert len(_data(found.json(), "search")) == 6  # two tasks and one of each other kind
    return victim


async def digest_store(world: TenantWorld, slug: str) -> dict[str, TableDigest]:
    async with owner_engine(world.settings.database_url) as engine:
        from membrane.db.engine import session_factory

        async with session_factory(engine)() as session:
            entry = await entry_by_slug(session, slug)
    assert entry is not None
    target = store_target(world.settings, entry, world.secrets)
    async with target_connection(target) as connection:
        return {table.name: await _digest(connection, table, entry) for table in tenant_tables()}


async def act_as(served: Served, actor: SeededTenant, victim: Victim) -> list[tuple[str, str]]:
    """Every root field of the schema, as tenant A's host lead, aimed at A's and B's ids.
    Returns (root field, response text) pairs."""
    token = served.token(actor, "alice")
    seen: list[tuple[str, str]] = []

    async def send(field: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await served.graphql(token, query, variables)
        assert response.status_code == 200, response.text
        seen.append((field, response.text))
        return response.json()

    await send("viewer", ENGAGEMENT_PAGE)
    await send("engagements", ENGAGEMENT_PAGE)
    for victim_id in victim.ids.values():
        body = await send("node", NODE, {"id": victim_id})
        assert body["data"]["node"] is None
    body = await send("engagement", ENGAGEMENT, {"id": victim.ids["engagement"]})
    assert body["data"]["engagement"] is None
    # B's content, searched for by its marker, in general and within B's engagement
    for engagement in (None, victim.ids["engagement"]):
        body = await send("search", SEARCH, {"text": victim.marker, "engagement": engagement})
        assert body["data"]["search"] == [], body

    own = await send(
        "createEngagement",
        MUTATIONS["createEngagement"],
        {"input": {"name": "own", "description": "own", "status": "ACTIVE"}},
    )
    own_engagement = own["data"]["createEngagement"]["engagement"]["id"]
    victim_org = global_id("Organization", victim.tenant.organization("acme")["id"])
    victim_user = global_id("User", victim.tenant.user("erin")["id"])
    victim_engagement = victim.ids["engagement"]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("addParticipant", {"engagementId": own_engagement, "organizationId": victim_org}),
        ("addParticipant", {"engagementId": victim_engagement, "organizationId": victim_org}),
        (
            "addMember",
            {"engagementId": own_engagement, "userId": victim_user, "role": "CONTRIBUTOR"},
        ),
        ("addMember", {"engagementId": victim_engagement, "userId": victim_user, "role": "LEAD"}),
        (
            "inviteToEngagement",
            {
                "engagementId": own_engagement,
                "organizationId": victim_org,
                "emails": ["mallory@acme.example"],
                "role": "LEAD",
            },
        ),
        (
            "inviteToEngagement",
            {
                "engagementId": victim_engagement,
                "organizationId": victim_org,
                "emails": ["mallory@acme.example"],
                "role": "LEAD",
            },
        ),
        (
            "createTask",
            {
                "engagementId": own_engagement,
                "title": "t",
                "zone": "SHARED",
                "description": "d",
                "status": "TODO",
                "assigneeId": victim_user,
            },
        ),
        (
            "createTask",
            {
                "engagementId": victim_engagement,
                "title": "t",
                "zone": "SHARED",
                "description": "d",
                "status": "TODO",
            },
        ),
        ("updateTask", {"id": victim.ids["task-SHARED"], "title": "taken over"}),
        ("createThread", {"engagementId": victim_engagement, "title": "t", "zone": "SHARED"}),
        ("postMessage", {"threadId": victim.ids["thread"], "body": "hello"}),
        (
            "createDocument",
            {"engagementId": victim_engagement, "title": "t", "zone": "SHARED", "body": "b"},
        ),
        ("createDocumentVersion", {"documentId": victim.ids["document"], "body": "b2"}),
        ("createMilestone", {"engagementId": victim_engagement, "title": "t", "zone": "SHARED"}),
        (
            "createIndicator",
            {"engagementId": victim_engagement, "name": "n", "unit": "u", "zone": "SHARED"},
        ),
        ("setIndicatorValue", {"indicatorId": victim.ids["indicator"], "value": 1.0}),
        ("publishToShared", {"id": victim.ids["task-INTERNAL"]}),
        ("withdrawToInternal", {"id": victim.ids["task-SHARED"]}),
        (
            "registerIdentityProvider",
            {
                "organizationId": victim_org,
                "issuer": "https://taken-over.example/",
                "clientId": "taken-over",
            },
        ),
        (
            "setIdentityProviderEnabled",
            {"identityProviderId": victim.ids["identity-provider"], "enabled": False},
        ),
        ("addOrganizationDomain", {"organizationId": victim_org, "domain": "taken-over.example"}),
        ("setOrganizationStatus", {"organizationId": victim_org, "status": "SUSPENDED"}),
        ("setUserStatus", {"userId": victim_user, "status": "SUSPENDED"}),
    ]
    for field, variables in attempts:
        body = await send(field, MUTATIONS[field], {"input": variables})
        # Refused as if B's objects did not exist.
        assert "data" in body, (field, body)  # executed, not refused before execution
        assert body["data"][field] is None, (field, body)
        assert body["errors"][0]["extensions"]["code"] in {"NOT_FOUND", "BAD_USER_INPUT"}, body

    # A's auditor reads A's log, which holds all of the above, and nothing of B's, even when
    # filtering on B's people, organization and engagement.
    auditor = served.token(actor, "dmitri")
    response = await served.graphql(auditor, AUDIT_EVENTS)
    assert response.status_code == 200, response.text
    seen.append(("auditEvents", response.text))
    assert len(_data(response.json(), "auditEvents")["edges"]) > len(attempts), response.text
    for filters in (
        {"actor": victim_user},
        {"organization": victim_org},
        {"engagement": victim_engagement},
    ):
        response = await served.graphql(auditor, AUDIT_EVENTS, filters)
        assert response.status_code == 200, response.text
        seen.append(("auditEvents", response.text))
        assert _data(response.json(), "auditEvents") == {"edges": []}, (filters, response.text)
    return seen


def test_the_checks_cover_every_root_field_of_the_schema() -> None:
    graphql_schema = schema._schema
    assert graphql_schema.query_type is not None and graphql_schema.mutation_type is not None
    assert set(graphql_schema.query_type.fields) == QUERIES
    assert set(graphql_schema.mutation_type.fields) == set(MUTATIONS)


@settings(
    max_examples=6,
    deadline=None,
    # Each example costs about fifty requests: shrinking a failure would take minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pair=st.permutations(sorted(STRATEGY_OF)).map(lambda order: (order[0], order[1])),
    words=st.lists(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
        ),
        max_size=4,
    ),
)
# The pairs that share tables are always tried, whatever Hypothesis draws besides.
@example(pair=("pool-a", "pool-b"), words=[])
@example(pair=("pool-b", "pool-a"), words=["ünïcode", "'; DROP TABLE tasks; --"])
async def test_a_tenant_reads_and_changes_nothing_of_another(
    tenant_world: TenantWorld, served_world: Served, pair: tuple[str, str], words: list[str]
) -> None:
    actor_slug, victim_slug = pair
    victim = await make_victim_content(served_world, tenant_world.tenants[victim_slug], words)
    before = await digest_store(tenant_world, victim_slug)
    seen = await act_as(served_world, tenant_world.tenants[actor_slug], victim)
    # every root field was exercised
    assert {field for field, _ in seen} == QUERIES | set(MUTATIONS)
    secrets = victim.secrets()
    for field, text in seen:
        decoded = json.dumps(json.loads(text), ensure_ascii=False)
        leaked = [secret for secret in secrets if secret in text or secret in decoded]
        assert not leaked, (field, leaked)
    assert await digest_store(tenant_world, victim_slug) == before
