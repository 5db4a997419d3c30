"""`membrane` commands: serve, db upgrade, demo, token, schema export."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from membrane.config import ConfigurationError, Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from membrane.api.app import create_app
    from membrane.migrations.runner import upgrade

    settings = _settings()
    if not args.no_migrate:
        upgrade(settings.database_url)
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


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from membrane.migrations.runner import upgrade

    upgrade(_settings().database_url, args.revision)
    print(f"database upgraded to {args.revision}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from membrane.cli.demo import run_demo

    settings = _settings()
    if settings.production:
        print("membrane demo refuses to run in production mode", file=sys.stderr)
        return 2
    report = asyncio.run(run_demo(settings, slug=args.tenant, scale=args.scale))
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
    from membrane.api.schema import schema

    sdl = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)
    return 0


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)

    demo = commands.add_parser("demo", help="seed (or re-seed) the demo tenant")
    demo.add_argument(
        "--scale", type=_positive, default=1, help="multiply engagements and content (1 or more)"
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
    export.add_argument("--audience", choices=["host", "partner"], default="host")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_schema_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        level = Settings.from_env().log_level
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        return int(args.handler(args))
    except ConfigurationError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
