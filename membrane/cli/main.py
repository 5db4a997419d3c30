"""`membrane` commands: serve, db upgrade, tenants, orgs, keys, demo, token, schema export
and policies, audit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from membrane.cli import failures
from membrane.cli.arguments import positive_int
from membrane.config import ConfigurationError, Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from membrane.api.app import create_app

    settings = _settings()
    if not args.no_migrate and _upgrade_all(settings, "head") != 0:
        # The tenants whose stores failed get errors; every other tenant is served.
        print("serving all the same: the tenants above marked FAILED", file=sys.stderr)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        loop="uvloop",
        http="httptools",
        proxy_headers=args.proxy_headers,
    )
    return 0


def _upgrade_all(settings: Settings, revision: str, only: list[str] | None = None) -> int:
    from membrane.errors import NotFoundError
    from membrane.secrets import secret_box
    from membrane.tenancy.provisioning import upgrade_all

    try:
        results = asyncio.run(upgrade_all(settings, secret_box(settings), revision, only))
    except NotFoundError as error:
        return failures.report(error)
    print(f"default database (tenant catalog and pooled tenants) upgraded to {revision}")
    for result in results:
        outcome = "ok" if result.ok else "FAILED"
        print(f"  {result.slug:<24} {result.strategy.value:<7} {outcome:<7} {result.detail}")
    failed = [result.slug for result in results if not result.ok]
    if failed:
        print(f"{len(failed)} tenant store(s) not migrated: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    return _upgrade_all(_settings(), args.revision)


def cmd_tenants_migrate(args: argparse.Namespace) -> int:
    return _upgrade_all(_settings(), "head", args.slugs or None)


def _database_url(raw: str | None) -> str | None:
    """`--database-url -` reads the URL from standard input (it may hold a password, which
    a command line shows to every user of the machine)."""
    if raw == "-":
        return sys.stdin.readline().strip() or None
    return raw


def cmd_tenants_create(args: argparse.Namespace) -> int:
    from membrane.cli.audited import cli_actor
    from membrane.errors import DomainError
    from membrane.secrets import SecretError, secret_box
    from membrane.tenancy.enums import TenantStrategy
    from membrane.tenancy.provisioning import create_tenant, describe_failure

    settings = _settings()
    try:
        entry = asyncio.run(
            create_tenant(
                settings,
                secret_box(settings),
                slug=args.slug,
                name=args.name,
                strategy=TenantStrategy(args.strategy),
                database_url=_database_url(args.database_url),
                actor=cli_actor(),
            )
        )
    except (DomainError, SecretError) as error:
        return failures.report(error)
    except Exception as error:
        print(
            f"error: tenant {args.slug!r} could not be provisioned ({describe_failure(error)}); "
            "it stays PROVISIONING: fix the cause and run the same command again to resume",
            file=sys.stderr,
        )
        return 1
    print(f"tenant {entry.slug!r} created ({entry.strategy.value}, {entry.status.value})")
    return 0


def cmd_tenants_list(args: argparse.Namespace) -> int:
    from membrane.tenancy.provisioning import list_tenants

    entries = asyncio.run(list_tenants(_settings()))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": str(entry.id),
                        "slug": entry.slug,
                        "name": entry.name,
                        "status": entry.status.value,
                        "strategy": entry.strategy.value,
                        # Where a bridge tenant lives; a silo's URL is a secret, never shown.
                        "location": entry.location,
                    }
                    for entry in entries
                ],
                indent=2,
            )
        )
        return 0
    for entry in entries:
        where = entry.location or ("own database" if entry.database_url_secret else "shared")
        print(f"{entry.slug:<24} {entry.status.value:<12} {entry.strategy.value:<7} {where}")
    return 0


def _set_status(args: argparse.Namespace, status_name: str) -> int:
    from membrane.cli.audited import cli_actor
    from membrane.errors import DomainError
    from membrane.secrets import SecretError
    from membrane.tenancy.enums import TenantStatus
    from membrane.tenancy.provisioning import describe_failure, set_status

    try:
        entry = asyncio.run(
            set_status(_settings(), args.slug, TenantStatus(status_name), actor=cli_actor())
        )
    except (DomainError, SecretError) as error:
        return failures.report(error)
    except Exception as error:
        print(
            f"error: tenant {args.slug!r} keeps its status ({describe_failure(error)}): its "
            "catalog entry or its store, where the change is recorded, could not be written",
            file=sys.stderr,
        )
        return 1
    print(f"tenant {entry.slug!r} is {entry.status.value}")
    return 0


def cmd_tenants_suspend(args: argparse.Namespace) -> int:
    return _set_status(args, "SUSPENDED")


def cmd_tenants_resume(args: argparse.Namespace) -> int:
    return _set_status(args, "ACTIVE")


def cmd_tenants_rotate_secrets(args: argparse.Namespace) -> int:
    from membrane.secrets import SecretError, secret_box
    from membrane.tenancy.provisioning import rotate_secrets

    settings = _settings()
    try:
        count = asyncio.run(rotate_secrets(settings, secret_box(settings)))
    except SecretError as error:
        return failures.report(error)
    print(f"{count} secret(s) re-encrypted with the first key of MEMBRANE_SECRET_KEYS")
    return 0


def cmd_tenants_move(args: argparse.Namespace) -> int:
    from membrane.cli.audited import cli_actor
    from membrane.errors import DomainError
    from membrane.secrets import SecretError, secret_box
    from membrane.tenancy.enums import TenantStrategy
    from membrane.tenancy.move import move_tenant
    from membrane.tenancy.provisioning import describe_failure

    settings = _settings()
    try:
        report = asyncio.run(
            move_tenant(
                settings,
                secret_box(settings),
                slug=args.slug,
                to=TenantStrategy(args.to),
                database_url=_database_url(args.database_url),
                drain_seconds=args.drain_seconds,
                actor=cli_actor(),
            )
        )
    except (DomainError, SecretError) as error:
        return failures.report(error)
    except Exception as error:
        print(
            f"error: tenant {args.slug!r} was not moved ({describe_failure(error)}); "
            "it stays in its old store (if it is left MOVING, run the move again or "
            "tenants resume)",
            file=sys.stderr,
        )
        return 1
    print(
        f"tenant {report.slug!r} moved from {report.source.value} to "
        f"{report.destination.value}: {report.rows} rows in {len(report.tables)} tables, "
        "counts and checksums verified"
    )
    for name, digest in report.tables.items():
        if digest.rows:
            print(f"  {name:<26} {digest.rows:>8} rows  sha256 {digest.checksum[:16]}")
    print(report.note)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from membrane.cli.demo import DemoRefusedError, run_demo

    settings = _settings()
    if settings.production:
        print("membrane demo refuses to run in production mode", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(run_demo(settings, slug=args.tenant, scale=args.scale))
    except DemoRefusedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        counts = report["counts"]
        print(
            f"demo tenant {report['tenant']['slug']!r}: {len(report['organizations'])} "
            f"organizations, {len(report['users'])} users, {counts['engagements']} engagements, "
            f"{counts['tasks']} tasks"
        )
        for user in report["users"]:
            roles = ",".join(user["roles"]) or "-"
            print(f"  {user['email']:<28} {user['organization']:<10} {roles}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from membrane.auth.errors import DevModeDisabledError
    from membrane.cli.dev_tokens import mint_dev_token

    settings = _settings()
    try:
        token = asyncio.run(mint_dev_token(settings, tenant=args.tenant, email=args.user))
    except DevModeDisabledError as error:
        print(str(error), file=sys.stderr)
        return 2
    except LookupError as error:
        print(str(error.args[0]), file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_schema_export(args: argparse.Namespace) -> int:
    from membrane.api.schema import SCHEMAS, Audience

    sdl = SCHEMAS[Audience(args.audience)].as_str() + "\n"
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)
    return 0


def cmd_schema_policies(args: argparse.Namespace) -> int:
    from membrane.api import policy_report

    if args.write:
        changed = policy_report.write(Path(args.write))
        print(f"{args.write}: {'updated' if changed else 'already current'}")
        return 0
    table = policy_report.rows()
    render = policy_report.as_markdown if args.markdown else policy_report.as_text
    sys.stdout.write(render(table))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="membrane", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not upgrade the database first"
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-* headers (behind a reverse proxy you control)",
    )
    serve.set_defaults(handler=cmd_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser(
        "upgrade", help="migrate the tenant catalog and every tenant store"
    )
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)

    tenants = commands.add_parser("tenants", help="the tenant catalog and its stores")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    strategies = ["pool", "bridge", "silo"]
    create = tenant_commands.add_parser("create", help="create a tenant and provision its store")
    create.add_argument("slug", help="a DNS label: the tenant's host name is {slug}.<domain>")
    create.add_argument("--strategy", choices=strategies, default="pool")
    create.add_argument("--name", help="display name (default: the slug)")
    create.add_argument(
        "--database-url",
        help="silo only: the tenant's database (created if missing); '-' reads it from stdin",
    )
    create.set_defaults(handler=cmd_tenants_create)
    migrate = tenant_commands.add_parser(
        "migrate", help="migrate the catalog and the named tenants' stores (default: all)"
    )
    migrate.add_argument("slugs", nargs="*", metavar="SLUG")
    migrate.set_defaults(handler=cmd_tenants_migrate)
    listing = tenant_commands.add_parser("list", help="list tenants, their status and store")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_tenants_list)
    suspend = tenant_commands.add_parser("suspend", help="refuse every request of a tenant")
    suspend.add_argument("slug")
    suspend.set_defaults(handler=cmd_tenants_suspend)
    resume = tenant_commands.add_parser("resume", help="serve a suspended tenant again")
    resume.add_argument("slug")
    resume.set_defaults(handler=cmd_tenants_resume)
    move = tenant_commands.add_parser(
        "move", help="copy a tenant to another strategy, verify, then switch"
    )
    move.add_argument("slug")
    move.add_argument("--to", choices=strategies, required=True)
    move.add_argument(
        "--database-url", help="the silo database, when moving to silo; '-' reads it from stdin"
    )
    move.add_argument(
        "--drain-seconds",
        type=float,
        default=5.0,
        help="wait this long after marking the tenant MOVING, for requests under way (5)",
    )
    move.set_defaults(handler=cmd_tenants_move)
    rotate = tenant_commands.add_parser(
        "rotate-secrets", help="re-encrypt stored secrets with the first MEMBRANE_SECRET_KEYS key"
    )
    rotate.set_defaults(handler=cmd_tenants_rotate_secrets)

    from membrane.cli.orgs import add_parsers as add_org_parsers

    add_org_parsers(commands, _settings)

    from membrane.cli.keys import add_parsers as add_key_parsers

    add_key_parsers(commands, _settings)

    from membrane.cli.audit import add_parsers as add_audit_parsers

    add_audit_parsers(commands, _settings)

    demo = commands.add_parser("demo", help="seed (or re-seed) the demo tenant")
    demo.add_argument(
        "--scale", type=positive_int, default=1, help="multiply engagements and content (1 or more)"
    )
    demo.add_argument("--tenant", default="demo", help="slug of the demo tenant")
    demo.add_argument("--json", action="store_true", help="print what was created as JSON")
    demo.set_defaults(handler=cmd_demo)

    token = commands.add_parser("token", help="mint an access token for a user (dev mode only)")
    token.add_argument("--tenant", required=True, help="tenant slug")
    token.add_argument("--user", required=True, help="the user's email")
    token.set_defaults(handler=cmd_token)

    schema_cmd = commands.add_parser("schema", help="GraphQL schema tools")
    schema_commands = schema_cmd.add_subparsers(dest="schema_command", required=True)
    export = schema_commands.add_parser("export", help="print the SDL")
    export.add_argument(
        "--audience", choices=["host", "partner", "partner-auditor"], default="host"
    )
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_schema_export)
    policies = schema_commands.add_parser(
        "policies", help="print every field's policy and whether partners see it"
    )
    policies.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    policies.add_argument(
        "--write",
        metavar="FILE",
        help="refresh the generated table of FILE (docs/authorisation.md)",
    )
    policies.set_defaults(handler=cmd_schema_policies)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        level = Settings.from_env().log_level
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        # `db upgrade` reports per tenant store; the revision-by-revision log is for debugging.
        if level != "DEBUG":
            logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
        return int(args.handler(args))
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
