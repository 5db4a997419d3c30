"""The policy vocabulary, the start-up check, and the generated policy table."""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry

from membrane.api import policy_report
from membrane.api.policies import HOST, VISIBLE, field
from membrane.api.policy_check import MissingPolicyError, check_policies
from membrane.api.schema import partner_schema, schema

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


def test_a_field_without_policy_stops_the_schema() -> None:
    with pytest.raises(MissingPolicyError, match=r"Leaky\.secret declares no policy"):
        check_policies(strawberry.Schema(query=LeakyQuery))


def test_a_refusable_field_must_be_nullable() -> None:
    with pytest.raises(MissingPolicyError, match=r"Costly\.cost may be refused"):
        check_policies(strawberry.Schema(query=CostlyQuery))
