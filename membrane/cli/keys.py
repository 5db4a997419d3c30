"""`membrane keys`: the access token signing keys in `MEMBRANE_KEYS_DIR`, and their rotation.

API processes read the folder when they start; after `add`, `activate` or `retire`,
restart (or roll out) every process before the next step.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from membrane.auth import keys
from membrane.cli import failures
from membrane.config import Settings
from membrane.errors import DomainError


def print_key_files(files: list[keys.KeyFile], as_json: bool) -> None:
    """A folder's keys with their states, as lines or as JSON."""
    if as_json:
        print(json.dumps([{"kid": k.kid, "state": k.state.value} for k in files]))
    else:
        for key in files:
            print(f"{key.kid}  {key.state.value}")


def _list(settings: Settings, args: argparse.Namespace) -> int:
    print_key_files(keys.key_files(settings.keys_dir), args.json)
    return 0


def _add(settings: Settings, args: argparse.Namespace) -> int:
    key = keys.generate_key(settings.keys_dir, next_key=True)
    print(
        f"key {key.kid} added as next: it is published from each process's next start; "
        f"once every process has restarted, run `membrane keys activate {key.kid}`"
    )
    return 0


def _activate(settings: Settings, args: argparse.Namespace) -> int:
    keys.activate(settings.keys_dir, args.kid)
    print(
        f"key {args.kid} signs from each process's next start; retire the previous key once "
        "the access tokens it signed have expired (MEMBRANE_ACCESS_TOKEN_TTL)"
    )
    return 0


def _retire(settings: Settings, args: argparse.Namespace) -> int:
    keys.retire(settings.keys_dir, args.kid)
    print(f"key {args.kid} retired: tokens it signed are refused from each process's next start")
    return 0


def add_parsers(commands: Any, settings: Callable[[], Settings]) -> None:
    parser = commands.add_parser("keys", help="access token signing keys and their rotation")
    key_commands = parser.add_subparsers(dest="keys_command", required=True)

    def command(
        name: str, help_text: str, work: Callable[[Settings, argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = key_commands.add_parser(name, help=help_text)

        def handler(args: argparse.Namespace) -> int:
            try:
                return work(settings(), args)
            except DomainError as error:
                return failures.report(error)

        sub.set_defaults(handler=handler)
        return sub

    command("list", "the keys and their states", _list).add_argument("--json", action="store_true")
    command("add", "add a key, published but not signing yet", _add)
    command("activate", "let a next key sign", _activate).add_argument("kid")
    command("retire", "remove a key that no longer signs", _retire).add_argument("kid")
