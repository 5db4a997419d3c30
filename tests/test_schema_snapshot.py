"""The checked-in SDL matches the code, and the code breaks nothing of the committed schema.

Regenerate after an intended change: `membrane schema export -o schema.graphql`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from graphql import build_schema, find_breaking_changes

from membrane.api.schema import schema

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "schema.graphql"


def test_checked_in_sdl_is_current() -> None:
    assert SNAPSHOT.read_text(encoding="utf-8") == schema.as_str() + "\n", (
        "schema.graphql is stale: run `membrane schema export -o schema.graphql`"
    )


def _committed_sdl() -> str | None:
    result = subprocess.run(
        ["git", "show", "HEAD:schema.graphql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


def test_no_breaking_change_against_the_committed_schema() -> None:
    committed = _committed_sdl() or SNAPSHOT.read_text(encoding="utf-8")
    changes = find_breaking_changes(build_schema(committed), schema._schema)
    assert not changes, "\n".join(f"{c.type.name}: {c.description}" for c in changes)


def test_breaking_change_detection_works() -> None:
    # a removed field must be reported, or the test above proves nothing
    current = schema.as_str()
    weakened = re.sub(r'\n  """[^"]*"""\n  viewerRole: EngagementRole\n', "\n", current)
    assert weakened != current
    changes = find_breaking_changes(build_schema(current), build_schema(weakened))
    assert any("viewerRole" in change.description for change in changes)
