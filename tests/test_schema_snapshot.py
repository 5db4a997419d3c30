"""The checked-in SDLs match the code, and every breaking change to either is acknowledged.

Host principals are served `schema.graphql`, partner principals `schema.partner.graphql`,
partner auditors `schema.partner-auditor.graphql`. Regenerate after an intended change:
`membrane schema export -o schema.graphql`,
`membrane schema export --audience partner -o schema.partner.graphql` and
`membrane schema export --audience partner-auditor -o schema.partner-auditor.graphql`.
A breaking change (graphql-core's `find_breaking_changes`) between the last committed
version that differs and the current one must be listed in `docs/schema-changes.md` as
`` `<file>`: <description> — <why> ``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from graphql import build_schema, find_breaking_changes

from membrane.api.schema import SCHEMAS, Audience, schema

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = {
    Audience.HOST: "schema.graphql",
    Audience.PARTNER: "schema.partner.graphql",
    Audience.PARTNER_AUDITOR: "schema.partner-auditor.graphql",
}
LEDGER = ROOT / "docs" / "schema-changes.md"


def _git(*args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else None


def _baseline(name: str, current: str) -> str | None:
    """The newest committed version of `name` that differs from `current`, if any."""
    commits = (_git("log", "--format=%H", "--", name) or "").split()
    for commit in commits:
        committed = _git("show", f"{commit}:{name}")
        if committed is not None and committed != current:
            return committed
    return None


@pytest.mark.parametrize("audience", list(Audience))
def test_checked_in_sdl_is_current(audience: Audience) -> None:
    name = SNAPSHOTS[audience]
    assert (ROOT / name).read_text(encoding="utf-8") == SCHEMAS[audience].as_str() + "\n", (
        f"{name} is stale: run `membrane schema export --audience {audience} -o {name}`"
    )


@pytest.mark.parametrize("audience", list(Audience))
def test_every_breaking_change_is_acknowledged(audience: Audience) -> None:
    assert _git("rev-parse", "HEAD") is not None, "the schema history needs a git checkout"
    name = SNAPSHOTS[audience]
    current = SCHEMAS[audience].as_str() + "\n"
    baseline = _baseline(name, current)
    if baseline is None:
        return  # never committed in another form: nothing it could break
    ledger = LEDGER.read_text(encoding="utf-8")
    changes = find_breaking_changes(build_schema(baseline), SCHEMAS[audience]._schema)
    missing = [c.description for c in changes if f"`{name}`: {c.description}" not in ledger]
    assert not missing, (
        f"breaking changes to {name} not acknowledged in docs/schema-changes.md:\n"
        + "\n".join(f"- `{name}`: {description} — <why>" for description in missing)
    )


def test_breaking_change_detection_works() -> None:
    # a removed field must be reported, or the test above proves nothing
    current = schema.as_str()
    weakened = re.sub(r'\n  """[^"]*"""\n  viewerRole: EngagementRole\n', "\n", current)
    assert weakened != current
    changes = find_breaking_changes(build_schema(current), build_schema(weakened))
    assert any("viewerRole" in change.description for change in changes)


def test_partner_schema_lacks_what_no_partner_may_read() -> None:
    partner = SCHEMAS[Audience.PARTNER]._schema
    host = SCHEMAS[Audience.HOST]._schema
    for type_name, field in [
        ("Task", "internalNotes"),
        ("Task", "costCents"),
        ("Engagement", "budgetCents"),
        ("Organization", "identityProviders"),
        ("Mutation", "createEngagement"),
        ("CreateTaskInput", "internalNotes"),
        ("UpdateTaskInput", "costCents"),
    ]:
        assert field in host.type_map[type_name].fields  # type: ignore[union-attr]
        assert field not in partner.type_map[type_name].fields  # type: ignore[union-attr]
    assert "IdentityProvider" in host.type_map and "IdentityProvider" not in partner.type_map
    # a row-dependent field some partners may read stays
    assert "email" in partner.type_map["User"].fields  # type: ignore[union-attr]


def test_the_audit_log_is_in_the_partner_schema_of_auditors_only() -> None:
    host = SCHEMAS[Audience.HOST]._schema
    partner = SCHEMAS[Audience.PARTNER]._schema
    auditor = SCHEMAS[Audience.PARTNER_AUDITOR]._schema
    for served in (host, auditor):
        assert "auditEvents" in served.type_map["Query"].fields  # type: ignore[union-attr]
        assert {"AuditEvent", "AuditActor", "AuditTarget", "AuditOutcome"} <= set(served.type_map)
    assert "auditEvents" not in partner.type_map["Query"].fields  # type: ignore[union-attr]
    assert not {name for name in partner.type_map if name.startswith("Audit")}
    # the partner auditors' schema is the partner schema plus the audit log, nothing else
    extra = set(auditor.type_map) - set(partner.type_map)
    assert extra == {
        "AuditActor",
        "AuditEvent",
        "AuditEventConnection",
        "AuditEventEdge",
        "AuditOutcome",
        "AuditTarget",
        "JSON",
        "Long",
    }
    for name, graphql_type in partner.type_map.items():
        fields = set(getattr(graphql_type, "fields", None) or {})
        added = set(getattr(auditor.type_map[name], "fields", None) or {}) - fields
        assert added == ({"auditEvents"} if name == "Query" else set()), name
