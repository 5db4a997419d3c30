"""`membrane audit`: a tenant's audit chain exported as JSONL and verified offline, the keys
that sign its checkpoints, checkpoints on demand, and retention (archive, then prune).

Commands naming a tenant act as the database owner (`tenancy.provisioning.tenant_session`):
only the owner may delete audit events. `verify` needs no database at all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.audit import keys
from membrane.audit.chain import AuditLog
from membrane.audit.encoding import timestamp
from membrane.audit.export import dump_line, export_lines, write_lines
from membrane.audit.verify import ChainError, Report, read_jsonl, verify_lines
from membrane.cli import failures
from membrane.cli.arguments import positive_int
from membrane.config import Settings
from membrane.errors import ConflictError, DomainError, InvalidInputError
from membrane.secrets import secret_box


def _instant(raw: str) -> datetime:
    """An ISO 8601 time; without an offset, UTC."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO 8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _write(path: str | None, work: Callable[[TextIO], int]) -> int:
    """`work` writing to standard output, or to FILE: in full, or (if it fails) not at all."""
    if path is None or path == "-":
        return work(sys.stdout)
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        output = partial.open("w", encoding="utf-8")
    except OSError as error:
        print(f"error: cannot write {path}: {error}", file=sys.stderr)
        return 2
    try:
        with output:
            status = work(output)
        if status == 0:
            os.replace(partial, target)
        return status
    finally:
        partial.unlink(missing_ok=True)


async def _reading(session: AsyncSession) -> None:
    """A long read takes no lock: on SQLite, where every transaction holds the write lock
    from its start, the reading pass runs outside one (PostgreSQL readers block nobody, and
    its cursors need a transaction)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _log(settings: Settings) -> AuditLog:
    from membrane.audit.setup import audit_log

    return audit_log(settings)


# -- export and verify -------------------------------------------------------------------


async def _export(settings: Settings, args: argparse.Namespace, output: TextIO) -> int:
    from membrane.tenancy.provisioning import tenant_session

    async with tenant_session(settings, secret_box(settings), args.tenant) as (entry, session):
        await _reading(session)
        lines = export_lines(session, entry.id, since_seq=args.since_seq, since=args.since)
        events, checkpoints = await write_lines(lines, output)
    where = f" to {args.output}" if args.output and args.output != "-" else ""
    print(
        f"{events} events and {checkpoints} checkpoints of tenant {args.tenant!r} exported{where}",
        file=sys.stderr,
    )
    return 0


@contextmanager
def _input(path: str) -> Iterator[TextIO]:
    if path == "-":
        yield sys.stdin
        return
    with Path(path).open(encoding="utf-8") as handle:
        yield handle


def _verify(args: argparse.Namespace) -> int:
    try:
        public_keys = json.loads(Path(args.keys).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"error: cannot read the keys {args.keys}: {error}", file=sys.stderr)
        return 2
    if not isinstance(public_keys, dict) or not isinstance(public_keys.get("keys"), list):
        print(f'error: {args.keys} is not a JWK set ({{"keys": [...]}})', file=sys.stderr)
        return 2
    report: Report | None = None
    for path in [*args.after, args.file]:
        try:
            with _input(path) as handle:
                report = verify_lines(read_jsonl(handle), public_keys, after=report)
        except OSError as error:
            print(f"error: cannot read {path}: {error}", file=sys.stderr)
            return 2
        except ChainError as problem:
            print(f"error: {path}: {problem}", file=sys.stderr)
            return 1
        first, *notes = report.summary().splitlines()
        print("\n".join([f"{path}: {first}", *(f"  {note}" for note in notes)]))
    return 0


# -- keys ----------------------------------------------------------------------------------


def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    from membrane.auth.keys import key_files
    from membrane.cli.keys import print_key_files

    files = key_files(keys.audit_keys_dir(settings.keys_dir))
    if not files and not args.json:
        print("no audit signing key yet: one is made when the API (or a command that signs) starts")
    else:
        print_key_files(files, args.json)
    return 0


def _keys_add(settings: Settings, args: argparse.Namespace) -> int:
    key = keys.generate_key(keys.audit_keys_dir(settings.keys_dir))
    print(
        f"audit key {key.kid} added: it signs checkpoints from each process's next start, and "
        "is published (/.well-known/audit-keys.json) from then on; restart every API process. "
        "Older keys stay published, so the checkpoints they signed still verify"
    )
    return 0


# -- checkpoints and retention -------------------------------------------------------------


async def _checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    from membrane.audit.retention import checkpoint_now
    from membrane.tenancy.provisioning import tenant_session

    log = _log(settings)
    async with tenant_session(settings, secret_box(settings), args.tenant) as (entry, session):
        signed = await checkpoint_now(session, log, entry.id)
        await session.commit()
    if signed is None:
        print(f"tenant {args.tenant!r} has no audit events yet: nothing to sign")
        return 0
    checkpoint, new = signed
    if new:
        print(f"checkpoint of seq {checkpoint.seq} signed with key {checkpoint.key_id}")
    else:
        print(
            f"the head (seq {checkpoint.seq}) already has a checkpoint, signed "
            f"{timestamp(checkpoint.signed_at)} with key {checkpoint.key_id}"
        )
    return 0


async def _archive(settings: Settings, args: argparse.Namespace, output: TextIO) -> int:
    from membrane.audit.retention import archive
    from membrane.tenancy.provisioning import tenant_session

    def write(line: dict[str, Any]) -> None:
        output.write(dump_line(line))

    log = _log(settings)
    async with tenant_session(settings, secret_box(settings), args.tenant) as (entry, session):
        await _reading(session)
        try:
            report = await archive(session, log, entry.id, args.before, write)
        except ChainError as problem:
            raise ConflictError(
                f"the audit chain does not verify: {problem}; nothing archived", field="tenant"
            ) from None
    print(
        f"{report.events} events (seq {report.first_seq} to {report.last_seq}) of tenant "
        f"{args.tenant!r} archived to {args.output}, ending at the checkpoint of seq "
        f"{report.last_seq}; `membrane audit prune --tenant {args.tenant} --archive "
        f"{args.output}` deletes them from the database"
    )
    return 0


def _archive_to_file(settings: Settings, args: argparse.Namespace) -> int:
    try:
        if args.output == "-":
            raise InvalidInputError(
                "an archive is written to a file, not to stdout", field="output"
            )
        if Path(args.output).exists():
            raise ConflictError(
                f"{args.output} exists: an archive is never overwritten", field="output"
            )
    except DomainError as error:
        return failures.report(error)
    return _write(args.output, lambda output: failures.run(_archive(settings, args, output)))


async def _prune(
    settings: Settings, args: argparse.Namespace, archived: TextIO, digest: str
) -> int:
    from membrane.audit.retention import prune
    from membrane.tenancy.provisioning import tenant_session

    log = _log(settings)
    async with tenant_session(settings, secret_box(settings), args.tenant) as (entry, session):
        await _reading(session)
        try:
            report = await prune(
                session, log, entry.id, read_jsonl(archived), archive_sha256=digest
            )
        except ChainError as problem:
            raise ConflictError(
                f"{args.archive} does not verify: {problem}; nothing pruned", field="archive"
            ) from None
    print(
        f"{report.events} events (seq {report.first_seq} to {report.last_seq}) of tenant "
        f"{args.tenant!r} pruned; keep {args.archive}: `membrane audit verify EXPORT --keys "
        f"KEYS --after {args.archive}` checks the chain across it"
    )
    return 0


def _prune_archive(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with Path(args.archive).open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        with Path(args.archive).open(encoding="utf-8") as archived:
            return failures.run(_prune(settings, args, archived, digest))
    except OSError as error:
        print(f"error: cannot read {args.archive}: {error}", file=sys.stderr)
        return 2


# -- parsers -------------------------------------------------------------------------------


def add_parsers(commands: Any, settings: Callable[[], Settings]) -> None:
    parser = commands.add_parser(
        "audit", help="the audit log: export, verify, signing keys, checkpoints, retention"
    )
    audit_commands = parser.add_subparsers(dest="audit_command", required=True)

    def tenant_command(
        name: str,
        help_text: str,
        work: Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]],
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = audit_commands.add_parser(name, help=help_text)
        sub.add_argument("--tenant", required=True, help="tenant slug")
        sub.set_defaults(handler=lambda args: failures.run(work(settings(), args)))
        return sub

    export = audit_commands.add_parser("export", help="write the tenant's audit chain as JSONL")
    export.add_argument("--tenant", required=True, help="tenant slug")
    export.set_defaults(
        handler=lambda args: _write(
            args.output, lambda output: failures.run(_export(settings(), args, output))
        )
    )
    since = export.add_mutually_exclusive_group()
    since.add_argument(
        "--since",
        type=_instant,
        metavar="ISO-TIME",
        help="from the first event at or after this time (UTC without an offset)",
    )
    since.add_argument("--since-seq", type=positive_int, metavar="N", help="from event seq N")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")

    verify = audit_commands.add_parser(
        "verify", help="check an export offline: hashes, links, order, signed checkpoints"
    )
    verify.add_argument("file", metavar="FILE", help="the export ('-': standard input)")
    verify.add_argument(
        "--keys", required=True, metavar="JWKS", help="the published keys (audit-keys.json)"
    )
    verify.add_argument(
        "--after",
        action="append",
        default=[],
        metavar="ARCHIVE",
        help="an archive the file continues (repeat, oldest first)",
    )
    verify.set_defaults(handler=_verify)

    keys_parser = audit_commands.add_parser("keys", help="the keys that sign checkpoints")
    key_commands = keys_parser.add_subparsers(dest="audit_keys_command", required=True)
    listing = key_commands.add_parser("list", help="the keys and their states")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=lambda args: _keys_list(settings(), args))
    add = key_commands.add_parser("add", help="rotate: a new key signs from the next start")
    add.set_defaults(handler=lambda args: _keys_add(settings(), args))

    tenant_command("checkpoint", "sign a checkpoint of the chain's head now", _checkpoint)

    archive = audit_commands.add_parser(
        "archive", help="write the events older than a time, ending at a checkpoint"
    )
    archive.add_argument("--tenant", required=True, help="tenant slug")
    archive.set_defaults(handler=lambda args: _archive_to_file(settings(), args))
    archive.add_argument("--before", type=_instant, required=True, metavar="ISO-TIME")
    archive.add_argument("-o", "--output", required=True, metavar="ARCHIVE")

    prune = audit_commands.add_parser(
        "prune", help="delete the events of an archive, once it matches the database"
    )
    prune.add_argument("--tenant", required=True, help="tenant slug")
    prune.set_defaults(handler=lambda args: _prune_archive(settings(), args))
    prune.add_argument("--archive", required=True, metavar="ARCHIVE")
