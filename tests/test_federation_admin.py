"""Tenant administration over GraphQL: organizations' identity providers and domains, and
suspending organizations and people. Only ADMINs of the host organization may do any of it
(decision 0016); each rule is seen from the other side of the membrane as well."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from membrane.api.runtime import Runtime
from membrane.api.schema import schema
from membrane.auth.federation.models import IdentityProvider
from membrane.tenancy.models import OrganizationDomain
from tests.fixtures.demo import DemoData, SeededTenant
from tests.fixtures.tenants import Served, TenantWorld
from tests.support.ids import gid

PROVIDER_FIELDS = """id issuer discoveryUrl clientId hasClientSecret scopes algorithms
  emailClaim nameClaim groupsClaim roleMapping { group role } enabled trustEmail"""
REGISTER = f"""mutation($input: RegisterIdentityProviderInput!) {{
  registerIdentityProvider(input: $input) {{
    identityProvider {{ {PROVIDER_FIELDS} }} organization {{ slug }} }} }}"""
SET_ENABLED = """mutation($input: SetIdentityProviderEnabledInput!) {
  setIdentityProviderEnabled(input: $input) { identityProvider { id enabled } } }"""
ADD_DOMAIN = """mutation($input: AddOrganizationDomainInput!) {
  addOrganizationDomain(input: $input) {
    organization { slug domains { domain } } domain { domain verifiedAt } } }"""
SET_ORG_STATUS = """mutation($input: SetOrganizationStatusInput!) {
  setOrganizationStatus(input: $input) { organization { slug status } } }"""
SET_USER_STATUS = """mutation($input: SetUserStatusInput!) {
  setUserStatus(input: $input) { user { displayName status } } }"""
ORGANIZATION = """query($id: ID!) { node(id: $id) { ... on Organization {
  slug identityProviders { issuer enabled hasClientSecret } domains { domain } } } }"""
OWN_ORGANIZATION = """{ viewer { organization {
  slug identityProviders { issuer } domains { domain } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on IdentityProvider { issuer } } }"
ANY_NODE = "query($id: ID!) { node(id: $id) { id } }"
VIEWER = "{ viewer { user { displayName } } }"


def assert_absent_for_partners(body: dict[str, Any], field: str) -> None:
    """The partner schema has no such field: the document is refused before it runs."""
    assert "data" not in body, body
    assert any(f"Cannot query field '{field}'" in e["message"] for e in body["errors"]), body


SECRET = "s3cret-client-value"


def provider_input(organization_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "organizationId": organization_id,
        "issuer": "https://login.acme.example/",
        "clientId": "membrane",
        "clientSecret": SECRET,
        "scopes": ["openid", "email", "profile", "groups"],
        "algorithms": ["RS256", "ES256"],
        "groupsClaim": "groups",
        "roleMapping": [{"group": "membrane-admins", "role": "ADMIN"}],
        "trustEmail": True,
        **changes,
    }


def org_id(tenant: SeededTenant, slug: str) -> str:
    return gid("Organization", tenant.organization(slug)["id"])


def user_id(tenant: SeededTenant, key: str) -> str:
    return gid("User", tenant.user(key)["id"])


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["errors"]) == 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


async def provider_count(session: AsyncSession, tenant: SeededTenant) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(IdentityProvider)
        .where(IdentityProvider.tenant_id == uuid.UUID(tenant.tenant_id))
    )
    return int(count or 0)


async def domain_count(session: AsyncSession, tenant: SeededTenant) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(OrganizationDomain)
        .where(OrganizationDomain.tenant_id == uuid.UUID(tenant.tenant_id))
    )
    return int(count or 0)


def test_no_field_of_the_schema_exposes_a_client_secret() -> None:
    provider = schema._schema.type_map["IdentityProvider"]
    fields = set(provider.fields)  # type: ignore[union-attr]
    assert {name for name in fields if "secret" in name.lower()} == {"hasClientSecret"}


async def test_host_admin_registers_a_provider_with_its_secret_encrypted(
    as_user: Any, demo_data: DemoData, app: Starlette, session: AsyncSession
) -> None:
    demo = demo_data.demo
    alice, erin = as_user("alice"), as_user("erin")
    acme = org_id(demo, "acme")
    # when the host admin registers Acme's provider
    body = await alice(REGISTER, {"input": provider_input(acme)})
    assert "errors" not in body, body
    payload = body["data"]["registerIdentityProvider"]
    provider = payload["identityProvider"]
    assert payload["organization"] == {"slug": "acme"}
    assert provider["issuer"] == "https://login.acme.example/"
    assert provider["discoveryUrl"] == "https://login.acme.example/.well-known/openid-configuration"
    assert provider["hasClientSecret"] is True
    assert provider["trustEmail"] is True
    assert provider["scopes"] == ["openid", "email", "profile", "groups"]
    assert provider["algorithms"] == ["RS256", "ES256"]
    assert provider["roleMapping"] == [{"group": "membrane-admins", "role": "ADMIN"}]
    assert provider["enabled"] is True
    assert SECRET not in str(body)
    # then the secret is stored encrypted, and decrypts back with the deployment's keys
    row = (
        await session.scalars(
            select(IdentityProvider).where(
                IdentityProvider.tenant_id == uuid.UUID(demo.tenant_id),
                IdentityProvider.issuer == "https://login.acme.example/",
            )
        )
    ).one()
    assert row.client_secret_secret is not None
    assert SECRET not in row.client_secret_secret
    runtime: Runtime = app.state.runtime
    assert runtime.stores.secrets.decrypt(row.client_secret_secret) == SECRET
    # and the host admin reads it through the organization and by its id
    seen = await alice(ORGANIZATION, {"id": acme})
    assert seen["data"]["node"]["identityProviders"] == [
        {"issuer": "https://login.acme.example/", "enabled": True, "hasClientSecret": True}
    ]
    assert (await alice(NODE, {"id": provider["id"]}))["data"]["node"]["issuer"] == (
        "https://login.acme.example/"
    )
    # while Acme's own admin finds neither in the partner schema (host admins only)
    assert_absent_for_partners(await erin(OWN_ORGANIZATION), "identityProviders")
    unknown = await erin(ANY_NODE, {"id": provider["id"]})
    assert unknown["data"]["node"] is None
    assert "unknown type 'IdentityProvider'" in error_of(unknown)["message"]
    # a second provider with the same issuer is a conflict
    again = await alice(REGISTER, {"input": provider_input(acme)})
    assert again["data"]["registerIdentityProvider"] is None
    assert error_of(again)["extensions"] == {"code": "CONFLICT", "field": "input.issuer"}


async def test_a_public_client_has_no_secret(as_user: Any, demo_data: DemoData) -> None:
    alice = as_user("alice")
    changes = {"clientSecret": None, "groupsClaim": None, "roleMapping": []}
    body = await alice(
        REGISTER, {"input": provider_input(org_id(demo_data.demo, "globex"), **changes)}
    )
    provider = body["data"]["registerIdentityProvider"]["identityProvider"]
    assert provider["hasClientSecret"] is False
    assert provider["groupsClaim"] is None and provider["roleMapping"] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"algorithms": ["HS256"]}, "input.algorithms"),
        ({"algorithms": ["RS256", "none"]}, "input.algorithms"),
        ({"algorithms": []}, "input.algorithms"),
        ({"issuer": "not a url"}, "input.issuer"),
        ({"issuer": "ftp://login.acme.example"}, "input.issuer"),
        ({"discoveryUrl": "https://login.acme.example/x?y=1"}, "input.discoveryUrl"),
        ({"groupsClaim": None}, "input.groupsClaim"),
        ({"scopes": ["email", "profile"]}, "input.scopes"),
        ({"scopes": ["openid email"]}, "input.scopes"),
        ({"clientId": " "}, "input.clientId"),
        ({"clientSecret": "  "}, "input.clientSecret"),
        (
            {
                "roleMapping": [
                    {"group": "admins", "role": "ADMIN"},
                    {"group": "admins", "role": "FINANCE"},
                ]
            },
            "input.roleMapping",
        ),
    ],
)
async def test_bad_provider_settings_are_refused_with_their_field(
    as_user: Any,
    demo_data: DemoData,
    session: AsyncSession,
    changes: dict[str, Any],
    field: str,
) -> None:
    demo = demo_data.demo
    before = await provider_count(session, demo)
    body = await as_user("alice")(
        REGISTER, {"input": provider_input(org_id(demo, "acme"), **changes)}
    )
    assert body["data"]["registerIdentityProvider"] is None
    assert error_of(body)["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await provider_count(session, demo) == before


@pytest.mark.parametrize("key", ["chloe", "bruno", "dmitri", "erin", "farid", "grace"])
async def test_only_a_host_admin_administers(
    as_user: Any, demo_data: DemoData, session: AsyncSession, key: str
) -> None:
    """Host people without ADMIN, and partner people (their admins included, for their own
    organization too), are refused whatever they name, and nothing is written."""
    demo = demo_data.demo
    caller = as_user(key)
    own_org = demo.user(key)["organization"]
    providers, domains = await provider_count(session, demo), await domain_count(session, demo)
    attempts = [
        ("registerIdentityProvider", REGISTER, provider_input(org_id(demo, own_org))),
        ("registerIdentityProvider", REGISTER, provider_input(org_id(demo, "acme"))),
        (
            "addOrganizationDomain",
            ADD_DOMAIN,
            {"organizationId": org_id(demo, own_org), "domain": "new-domain.example"},
        ),
        (
            "setOrganizationStatus",
            SET_ORG_STATUS,
            {"organizationId": org_id(demo, "globex"), "status": "SUSPENDED"},
        ),
        (
            "setUserStatus",
            SET_USER_STATUS,
            {"userId": user_id(demo, "hiro"), "status": "SUSPENDED"},
        ),
        (
            "setIdentityProviderEnabled",
            SET_ENABLED,
            {"identityProviderId": gid("IdentityProvider", str(uuid.uuid4())), "enabled": False},
        ),
    ]
    partner = key in {"erin", "farid", "grace"}
    for field, query, variables in attempts:
        body = await caller(query, {"input": variables})
        if partner:
            assert_absent_for_partners(body, field)
            continue
        assert body["data"][field] is None, (field, body)
        assert error_of(body)["extensions"]["code"] == "FORBIDDEN", (field, body)
    assert await provider_count(session, demo) == providers
    assert await domain_count(session, demo) == domains
    # nobody was suspended: hiro and globex's people still get in
    assert (await as_user("hiro").post(VIEWER)).status_code == 200
    assert (await as_user("grace").post(VIEWER)).status_code == 200
    # and the administered fields stay closed to them
    own = await caller(OWN_ORGANIZATION)
    if partner:
        assert_absent_for_partners(own, "identityProviders")
        return
    organization = own["data"]["viewer"]["organization"]
    assert organization["identityProviders"] is None and organization["domains"] is None
    assert [e["extensions"]["code"] for e in own["errors"]] == ["FORBIDDEN", "FORBIDDEN"]


async def test_the_host_admin_reads_domains(as_user: Any, demo_data: DemoData) -> None:
    own = await as_user("alice")(OWN_ORGANIZATION)
    assert "errors" not in own, own
    assert own["data"]["viewer"]["organization"] == {
        "slug": "northwind",
        "identityProviders": [],
        "domains": [{"domain": "northwind.example"}],
    }


async def test_enabling_and_disabling_a_provider(
    as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    demo, other = demo_data.demo, demo_data.other
    alice = as_user("alice")
    registered = await alice(REGISTER, {"input": provider_input(org_id(demo, "acme"))})
    provider_id = registered["data"]["registerIdentityProvider"]["identityProvider"]["id"]
    # when the host admin disables it
    body = await alice(
        SET_ENABLED, {"input": {"identityProviderId": provider_id, "enabled": False}}
    )
    assert body["data"]["setIdentityProviderEnabled"]["identityProvider"] == {
        "id": provider_id,
        "enabled": False,
    }
    stored = await session.scalar(
        select(IdentityProvider.enabled).where(
            IdentityProvider.tenant_id == uuid.UUID(demo.tenant_id),
            IdentityProvider.issuer == "https://login.acme.example/",
        )
    )
    assert stored is False
    # and enables it again
    body = await alice(SET_ENABLED, {"input": {"identityProviderId": provider_id, "enabled": True}})
    assert body["data"]["setIdentityProviderEnabled"]["identityProvider"]["enabled"] is True
    # a provider of another tenant is not found, and stays as it is
    other_alice = as_user("alice", tenant=other)
    theirs = await other_alice(REGISTER, {"input": provider_input(org_id(other, "acme"))})
    their_id = theirs["data"]["registerIdentityProvider"]["identityProvider"]["id"]
    refused = await alice(
        SET_ENABLED, {"input": {"identityProviderId": their_id, "enabled": False}}
    )
    assert refused["data"]["setIdentityProviderEnabled"] is None
    assert error_of(refused)["extensions"] == {
        "code": "NOT_FOUND",
        "field": "input.identityProviderId",
    }
    assert (await alice(NODE, {"id": their_id}))["data"]["node"] is None
    seen = await other_alice(ORGANIZATION, {"id": org_id(other, "acme")})
    assert seen["data"]["node"]["identityProviders"][0]["enabled"] is True
    # and an id of another type is bad input
    wrong = await alice(
        SET_ENABLED, {"input": {"identityProviderId": org_id(demo, "acme"), "enabled": False}}
    )
    assert error_of(wrong)["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "input.identityProviderId",
    }


async def test_adding_a_domain(as_user: Any, demo_data: DemoData, session: AsyncSession) -> None:
    demo, other = demo_data.demo, demo_data.other
    alice = as_user("alice")
    acme = org_id(demo, "acme")
    body = await alice(
        ADD_DOMAIN, {"input": {"organizationId": acme, "domain": " Plant.Acme.Example. "}}
    )
    assert "errors" not in body, body
    payload = body["data"]["addOrganizationDomain"]
    assert payload["domain"]["domain"] == "plant.acme.example"
    assert payload["domain"]["verifiedAt"] is not None
    assert payload["organization"] == {
        "slug": "acme",
        "domains": [{"domain": "acme.example"}, {"domain": "plant.acme.example"}],
    }
    # a domain belongs to one organization
    before = await domain_count(session, demo)
    taken = await alice(
        ADD_DOMAIN, {"input": {"organizationId": org_id(demo, "globex"), "domain": "acme.example"}}
    )
    assert taken["data"]["addOrganizationDomain"] is None
    assert error_of(taken)["extensions"] == {"code": "CONFLICT", "field": "input.domain"}
    bad = await alice(ADD_DOMAIN, {"input": {"organizationId": acme, "domain": "not a domain"}})
    assert error_of(bad)["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.domain"}
    # another tenant's organization is not found
    foreign = await alice(
        ADD_DOMAIN, {"input": {"organizationId": org_id(other, "acme"), "domain": "x-acme.example"}}
    )
    assert error_of(foreign)["extensions"] == {
        "code": "NOT_FOUND",
        "field": "input.organizationId",
    }
    assert await domain_count(session, demo) == before


async def test_suspending_a_user_and_an_organization(as_user: Any, demo_data: DemoData) -> None:
    demo = demo_data.demo
    alice = as_user("alice")
    erin, farid = as_user("erin"), as_user("farid")
    # when the host admin suspends erin
    body = await alice(
        SET_USER_STATUS, {"input": {"userId": user_id(demo, "erin"), "status": "SUSPENDED"}}
    )
    assert body["data"]["setUserStatus"]["user"] == {
        "displayName": "Erin Walsh",
        "status": "SUSPENDED",
    }
    # then erin's next request is refused, and farid's is not
    refused = await erin.post(VIEWER)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await farid.post(VIEWER)).status_code == 200
    await alice(SET_USER_STATUS, {"input": {"userId": user_id(demo, "erin"), "status": "ACTIVE"}})
    assert (await erin.post(VIEWER)).status_code == 200
    # a whole organization
    body = await alice(
        SET_ORG_STATUS, {"input": {"organizationId": org_id(demo, "acme"), "status": "SUSPENDED"}}
    )
    assert body["data"]["setOrganizationStatus"]["organization"] == {
        "slug": "acme",
        "status": "SUSPENDED",
    }
    for caller in (erin, farid):
        assert (await caller.post(VIEWER)).status_code == 401
    assert (await as_user("grace").post(VIEWER)).status_code == 200
    await alice(
        SET_ORG_STATUS, {"input": {"organizationId": org_id(demo, "acme"), "status": "ACTIVE"}}
    )
    assert (await farid.post(VIEWER)).status_code == 200


async def test_what_cannot_be_suspended(as_user: Any, demo_data: DemoData) -> None:
    demo, other = demo_data.demo, demo_data.other
    alice = as_user("alice")
    host = await alice(
        SET_ORG_STATUS,
        {"input": {"organizationId": org_id(demo, "northwind"), "status": "SUSPENDED"}},
    )
    assert host["data"]["setOrganizationStatus"] is None
    assert error_of(host)["extensions"] == {"code": "CONFLICT", "field": "input.organizationId"}
    herself = await alice(
        SET_USER_STATUS, {"input": {"userId": user_id(demo, "alice"), "status": "SUSPENDED"}}
    )
    assert error_of(herself)["extensions"] == {"code": "CONFLICT", "field": "input.userId"}
    # people and organizations of another tenant are not found
    for query, variables, field in (
        (SET_USER_STATUS, {"userId": user_id(other, "erin"), "status": "SUSPENDED"}, "userId"),
        (
            SET_ORG_STATUS,
            {"organizationId": org_id(other, "acme"), "status": "SUSPENDED"},
            "organizationId",
        ),
    ):
        body = await alice(query, {"input": variables})
        assert error_of(body)["extensions"] == {"code": "NOT_FOUND", "field": f"input.{field}"}
    assert (await alice.post(VIEWER)).status_code == 200
    assert (await as_user("erin", tenant=other).post(VIEWER)).status_code == 200


@pytest.mark.parametrize("slug", ["pool-b", "bridge-c", "silo-d"])
async def test_suspended_through_graphql_is_refused_at_once_on_every_strategy(
    tenant_world: TenantWorld, served_world: Served, slug: str
) -> None:
    """The real app (principal cache and change notifications on PostgreSQL): the next
    request of a user suspended through GraphQL is refused."""
    tenant = tenant_world.tenants[slug]
    alice, erin = served_world.token(tenant, "alice"), served_world.token(tenant, "erin")
    assert (await served_world.graphql(erin, VIEWER)).status_code == 200

    async def set_status(status: str) -> None:
        response = await served_world.graphql(
            alice, SET_USER_STATUS, {"input": {"userId": user_id(tenant, "erin"), "status": status}}
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["setUserStatus"]["user"]["status"] == status

    await set_status("SUSPENDED")
    refused = await served_world.until(erin, VIEWER, 401)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await set_status("ACTIVE")
    assert (await served_world.until(erin, VIEWER)).status_code == 200
