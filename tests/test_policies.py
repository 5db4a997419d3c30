"""The policy vocabulary, the start-up check, and the generated policy table."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import strawberry

from membrane.api import policy_report
from membrane.api.policies import (
    HOST,
    VISIBLE,
    engagement_role,
    field,
    input_field,
    tenant_role,
)
from membrane.api.policy_check import MissingPolicyError, check_policies
from membrane.api.schema import partner_schema, schema
from membrane.engagements.enums import EngagementRole
from membrane.tenancy.enums import TenantRole
from tests.fixtures.demo import DemoData

ROOT = Path(__file__).resolve().parents[1]


def test_docs_table_is_current() -> None:
    document = (ROOT / "docs" / "authorisation.md").read_text(encoding="utf-8")
    assert policy_report.replace_section(document, policy_report.rows()) == document, (
        "docs/authorisation.md is stale: run `membrane schema policies --write "
        "docs/authorisation.md`"
    )


def test_every_field_of_the_served_schemas_has_a_policy() -> None:
    # the check passes on both audience schemas, and the table names every object field
    check_policies(schema)
    check_policies(partner_schema)
    table = {(row.type_name, row.field_name) for row in policy_report.rows()}
    assert ("Task", "internalNotes") in table
    assert ("Query", "node") in table


@strawberry.type
class Leaky:
    name: str = field(VISIBLE, description="Fine.")
    secret: str = strawberry.field(description="No policy declared.")


@strawberry.type
class LeakyQuery:
    leaky: Leaky | None = field(VISIBLE, description="A leaky object.")


@strawberry.type
class Costly:
    cost: int = field(HOST, description="Refused to partners, yet non-null.")


@strawberry.type
class CostlyQuery:
    costly: Costly | None = field(VISIBLE, description="A costly object.")


@strawberry.type
class Unenforced:
    # an input field's declaration on an output type: a policy, but nothing checks it
    cost: int | None = input_field(tenant_role(TenantRole.FINANCE), description="Costly.")


@strawberry.type
class UnenforcedQuery:
    unenforced: Unenforced | None = field(VISIBLE, description="An unenforced object.")


@strawberry.type
class Roleless:
    # a policy on the engagement role, on a type that does not know its engagement
    budget: int | None = field(engagement_role(EngagementRole.LEAD), description="Budget.")


@strawberry.type
class RolelessQuery:
    roleless: Roleless | None = field(VISIBLE, description="A roleless object.")


def test_a_policy_nothing_enforces_stops_the_schema() -> None:
    with pytest.raises(MissingPolicyError, match=r"Unenforced\.cost declares a policy nothing"):
        check_policies(strawberry.Schema(query=UnenforcedQuery))


def test_a_policy_reading_what_its_type_lacks_stops_the_schema() -> None:
    with pytest.raises(
        MissingPolicyError, match=r"Roleless\.budget: its policy reads engagement_uuid"
    ):
        check_policies(strawberry.Schema(query=RolelessQuery))


def test_a_policed_field_keeps_its_check_beside_other_extensions() -> None:
    declared = field(HOST, description="Host only.", extensions=[])
    assert [type(e).__name__ for e in declared.extensions] == ["PolicyExtension"]
    with pytest.raises(TypeError):
        field(HOST, description="Host only.", metadata={"policy": VISIBLE})


def test_a_field_without_policy_stops_the_schema() -> None:
    with pytest.raises(MissingPolicyError, match=r"Leaky\.secret declares no policy"):
        check_policies(strawberry.Schema(query=LeakyQuery))


def test_a_refusable_field_must_be_nullable() -> None:
    with pytest.raises(MissingPolicyError, match=r"Costly\.cost may be refused"):
        check_policies(strawberry.Schema(query=CostlyQuery))


MEMBERS_WITH_EMAIL = """query($id: ID!) { node(id: $id) { ... on Engagement {
  name members(first: 50) { edges { node { role user { displayName email organization { slug } } } } }
} } }"""


def _engagement_gid(demo: DemoData, name: str) -> str:
    raw = demo.demo.engagement(name)["id"]
    return base64.b64encode(f"Engagement:{raw}".encode()).decode()


def _members(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    edges = body["data"]["node"]["members"]["edges"]
    return {edge["node"]["user"]["displayName"]: edge["node"]["user"] for edge in edges}


async def test_email_is_row_dependent(as_user: Any, demo_data: DemoData) -> None:
    # given the Globex engagement, where grace (globex) is LEAD and hiro (globex) a VIEWER
    engagement = _engagement_gid(demo_data, "Globex route optimisation")
    # when hiro lists its members with their emails
    hiro = await as_user("hiro")(MEMBERS_WITH_EMAIL, {"id": engagement})
    members = _members(hiro)
    # then his own organization's emails are there, the host's are null with one FORBIDDEN
    # error each at the email's own path, and everything else is intact
    assert members["Grace Okafor"]["email"] == "grace@globex.example"
    host_people = [
        name for name, user in members.items() if user["organization"]["slug"] == "northwind"
    ]
    assert host_people and all(members[name]["email"] is None for name in host_people)
    assert all(members[name]["displayName"] == name for name in host_people)
    errors = hiro["errors"]
    assert len(errors) == len(host_people)
    assert {error["extensions"]["code"] for error in errors} == {"FORBIDDEN"}
    assert all(error["path"][-1] == "email" and error["path"][-2] == "user" for error in errors)
    # while grace, a lead of that engagement, reads every member's email
    grace = await as_user("grace")(MEMBERS_WITH_EMAIL, {"id": engagement})
    assert "errors" not in grace
    assert _members(grace)["Alice Martin"]["email"] == "alice@northwind.example"


async def test_money_fields_follow_the_engagement_role(as_user: Any, demo_data: DemoData) -> None:
    # given the ERP engagement: alice its host LEAD, chloe a host CONTRIBUTOR, bruno FINANCE
    engagement = _engagement_gid(demo_data, "Acme ERP rollout")
    query = "query($id: ID!) { node(id: $id) { ... on Engagement { name budgetCents } } }"
    # when each reads the budget
    lead = await as_user("alice")(query, {"id": engagement})
    finance = await as_user("bruno")(query, {"id": engagement})
    contributor = await as_user("chloe")(query, {"id": engagement})
    # then the lead and finance read it, the contributor gets null and one FORBIDDEN
    assert "errors" not in lead and "errors" not in finance
    assert lead["data"]["node"]["budgetCents"] == finance["data"]["node"]["budgetCents"]
    assert contributor["data"]["node"] == {"name": "Acme ERP rollout", "budgetCents": None}
    [error] = contributor["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == ["node", "budgetCents"]
