"""Bench-only launcher: serve Membrane like `membrane serve --no-migrate`, with the run-time
field-policy checks as built, removed, or replaced by a diagnostic stand-in.

    .venv/bin/python bench/policy_server.py [--checks policies|none|sync-allow|async-allow]
                                            --host 127.0.0.1 --port 8000

`--checks none` replaces `membrane.api.policies.policy_extensions` with a function returning
no extension *before* any GraphQL type module is imported: `field()` and `mutation()` look
that name up each time they declare a field, so every field is then built without
Membrane's `PolicyExtension` (the policies stay declared as metadata, so the start-up
check still passes). Nothing in `membrane/` is changed. The two diagnostic builds put
Strawberry's PermissionExtension on exactly the fields that have a check normally, but its
permission lets
everyone through without evaluating the policy: `sync-allow` with a plain `def`,
`async-allow` with an `async def` (which makes Strawberry and graphql-core resolve the field
asynchronously, as the real row-dependent checks do). bench/policies.py starts every build
with this launcher, so that they differ only in that replacement.

After building the app it counts the fields that carry a check (a PolicyExtension or a
PermissionExtension) in the host and
partner schemas, prints `POLICY_EXTENSIONS {...}` and refuses to serve if the count does not
match the build asked for (none for `none`, some for the others).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import strawberry
import uvicorn
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition

from membrane.api import policies
from membrane.config import Settings

CHECKS = ("policies", "none", "sync-allow", "async-allow")
# Modules that declare GraphQL fields: none may be imported before the replacement.
_TYPE_MODULES = ("membrane.api.schema", "membrane.api.engagements", "membrane.api.tenancy")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--checks",
        choices=CHECKS,
        default="policies",
        help="the run-time policy checks as built (policies), none, or a stand-in that "
        "allows everyone (sync-allow, async-allow); bench only",
    )
    return parser.parse_args()


class _AllowSync(BasePermission):
    message = "never refused"

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


class _AllowAsync(BasePermission):
    message = "never refused"

    async def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return True


def _no_extensions(policy: policies.Policy) -> list[FieldExtension]:
    return []


def _allowing(
    permission: type[BasePermission],
) -> Callable[[policies.Policy], list[FieldExtension]]:
    def extensions(policy: policies.Policy) -> list[FieldExtension]:
        if policy.always:
            return []
        return [PermissionExtension(permissions=[permission()], use_directives=False)]

    return extensions


def replace_policy_checks(checks: str) -> None:
    """Swap `policy_extensions` before any field is declared."""
    if checks == "policies":
        return
    early = sorted(
        name for name in sys.modules if name.startswith(_TYPE_MODULES) and name != __name__
    )
    if early:
        raise SystemExit(f"too late to replace the policy checks: already imported {early}")
    replacements: dict[str, Callable[[policies.Policy], list[FieldExtension]]] = {
        "none": _no_extensions,
        "sync-allow": _allowing(_AllowSync),
        "async-allow": _allowing(_AllowAsync),
    }
    # Replacing a module function on purpose: `field()` looks it up by name at each call.
    policies.policy_extensions = replacements[checks]  # type: ignore[assignment]


def count_permission_extensions(schema: strawberry.Schema) -> int:
    """Fields of the schema's object types that carry a check extension (the partner
    schema shares the host's type definitions, so only the fields it exposes count)."""
    found = 0
    for name, graphql_type in schema._schema.type_map.items():
        definition = schema.get_type_by_name(name)
        if name.startswith("__") or not isinstance(definition, StrawberryObjectDefinition):
            continue
        exposed = getattr(graphql_type, "fields", {})
        for strawberry_field in definition.fields:
            if schema.config.name_converter.get_graphql_name(strawberry_field) not in exposed:
                continue
            checks = (PermissionExtension, policies.PolicyExtension)
            if any(isinstance(e, checks) for e in strawberry_field.extensions):
                found += 1
    return found


def main() -> int:
    args = parse_args()
    replace_policy_checks(args.checks)
    # Imported only now: the field declarations run on import.
    from membrane.api.app import create_app
    from membrane.api.schema import SCHEMAS

    counts = {
        audience.value: count_permission_extensions(built) for audience, built in SCHEMAS.items()
    }
    print("POLICY_EXTENSIONS " + json.dumps({"checks": args.checks, **counts}), flush=True)
    expected_none = args.checks == "none"
    if expected_none == (counts["host"] > 0) or (expected_none and any(counts.values())):
        print(f"the schemas do not match the build asked for: {counts}", file=sys.stderr)
        return 1

    settings = Settings.from_env()
    app = create_app(settings)
    # The options of `membrane serve` (membrane/cli/main.py), without the access log.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
