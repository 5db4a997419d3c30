"""Bench-only launcher: serve Membrane like `membrane serve --no-migrate`, with the run-time
field-policy checks as built, removed, or replaced by a diagnostic stand-in, and with the
audit log appended to or not.

    .venv/bin/python bench/policy_server.py [--checks policies|none|sync-allow|async-allow]
                                            [--audit on|off] --host 127.0.0.1 --port 8000

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

`--audit off` (bench/audit.py) replaces `membrane.audit.chain.AuditLog.append` with a
coroutine that writes nothing and returns `[]`, before the app is built. Every audit write
goes through that method (a mutation's event in its transaction, a refused mutation's
after the rollback, a query's read event in its own short transaction, sign-in events), and
checkpoints are only signed from it. What a request records in memory (the `Recorder`) is
unchanged, and the read path still opens its short session, which then begins no
transaction on a connection. The launcher prints `AUDIT_APPEND {...}` (which function the
runtime's audit log appends with) and refuses to serve if that does not match `--audit`.

`--gc-stats` times the garbage collector (a `gc.callbacks` entry) and prints
`GC_STATS {...}` (collections and seconds per generation since start) on each SIGUSR1, so
that a benchmark can tell how much of a run's CPU the collector took.
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import strawberry
import uvicorn
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition

from membrane.api import policies, policy_check
from membrane.audit import chain
from membrane.audit.models import AuditEvent
from membrane.config import Settings

CHECKS = ("policies", "none", "sync-allow", "async-allow")
AUDIT = ("on", "off")
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
    parser.add_argument(
        "--audit",
        choices=AUDIT,
        default="on",
        help="append audit events as built (on), or replace AuditLog.append with a no-op "
        "(off); bench only",
    )
    parser.add_argument(
        "--gc-stats",
        action="store_true",
        help="print GC_STATS {...} (the garbage collector's collections and time) on SIGUSR1",
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
    # The start-up check refuses a policy no PolicyExtension enforces; these builds remove
    # or replace exactly that on purpose, so they accept what the check would refuse.
    policy_check._enforced = lambda strawberry_field, policy: True  # type: ignore[assignment]


_APPEND = chain.AuditLog.append


async def _no_append(
    self: chain.AuditLog,
    session: Any,
    tenant_id: uuid.UUID,
    drafts: Sequence[chain.Draft],
) -> list[AuditEvent]:
    """`AuditLog.append` removed: no head moved, no event inserted, no checkpoint signed."""
    return []


def replace_audit_append(audit: str) -> None:
    """Swap `AuditLog.append` (looked up on the class at each call) before the app is built."""
    if audit == "off":
        chain.AuditLog.append = _no_append  # type: ignore[method-assign]


def audit_append_in_use(app: Any) -> str:
    """Which function the runtime's audit log appends with: "on", "off" or "unknown"."""
    appends = getattr(app.state.runtime.audit.append, "__func__", None)
    if appends is _APPEND:
        return "on"
    return "off" if appends is _no_append else "unknown"


class GcClock:
    """Collections and seconds spent collecting, per generation, since it was installed."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.collections[generation] += 1
        self.seconds[generation] += time.perf_counter() - self._started

    def report(self, _signum: int, _frame: object) -> None:
        line = json.dumps({"collections": self.collections, "seconds": self.seconds})
        print(f"GC_STATS {line}", flush=True)

    def install(self) -> None:
        gc.callbacks.append(self)
        signal.signal(signal.SIGUSR1, self.report)


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
    replace_audit_append(args.audit)
    if args.gc_stats:
        GcClock().install()
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
    appends = audit_append_in_use(app)
    print("AUDIT_APPEND " + json.dumps({"audit": args.audit, "append": appends}), flush=True)
    if appends != args.audit:
        print(f"the audit log does not match the build asked for: {appends}", file=sys.stderr)
        return 1
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
