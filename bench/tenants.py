"""Tenancy benchmark: the reference list page, with requests spread over 1, 100 and 1,000
tenants of each strategy, and the cost of row-level security. PostgreSQL only.

    .venv/bin/python bench/tenants.py [--counts 1,100,1000] [--strategies pool,bridge,silo]
                                      [--duration 10] [--connections 16] [--scale 7]

Prepares (once; later runs reuse it) the database `membrane_bench_tenants`: the catalog, a
template tenant seeded by `membrane demo`'s seeder, and, per strategy, as many tenants as
the largest count, each holding a copy of the template's organizations, users,
engagements, participants, members and tasks under ids of its own. Pooled tenants share
the default tables; each bridge tenant gets a schema (made and migrated by Membrane's own
provisioning code) and each silo tenant a database (a copy of a migrated template
database). Then, for each strategy and count, it starts `membrane serve`, checks that the
list page of the first, a middle and the last tenant answers without errors and with the
same length, and measures it with wrk, each request taking the next tenant's token in
turn. Finally the pooled runs are repeated with the API connected as the tables' owner,
to which row-level security does not apply: the difference is the cost of RLS.
Results go to bench/results/tenants.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import run as harness
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from membrane.auth import keys
from membrane.auth.tokens import TokenService
from membrane.config import Settings
from membrane.db.engine import create_engine, session_factory
from membrane.demo.seed import seed_demo
from membrane.secrets import SecretBox
from membrane.tenancy import catalog
from membrane.tenancy.enums import TenantStatus, TenantStrategy
from membrane.tenancy.models import Tenant
from membrane.tenancy.provisioning import (
    StoreTarget,
    migrate_store,
    prepare_store,
    store_target,
    upgrade_all,
    write_mirror,
)
from membrane.tenancy.stores import bridge_schema

DATABASE = "membrane_bench_tenants"
TEMPLATE = "template"
VIEWER = "alice@northwind.example"
KEY_FILE = harness.RESULTS_DIR / "tenants-secret.key"
# What the list page reads; the other content tables stay empty in the copies.
TABLES = (
    "organizations",
    "organization_domains",
    "users",
    "user_roles",
    "engagements",
    "engagement_participants",
    "engagement_members",
    "tasks",
)
STRATEGIES = ("pool", "bridge", "silo")
LOW_BITS = (1 << 62) - 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1,100,1000", help="tenants requests spread over")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--scale", type=int, default=7, help="demo scale of the template")
    parser.add_argument("--postgres", default="postgresql://127.0.0.1:5432", help="server URL")
    parser.add_argument("--no-rls-runs", action="store_true", help="skip the RLS-off runs")
    parser.add_argument(
        "--drop", action="store_true", help="drop the benchmark's databases and exit"
    )
    parser.add_argument("--output", type=Path, default=harness.RESULTS_DIR / "tenants.json")
    args = parser.parse_args()
    args.counts = sorted({int(c) for c in args.counts.split(",")})
    args.strategies = [s for s in args.strategies.split(",") if s]
    for strategy in args.strategies:
        if strategy not in STRATEGIES:
            parser.error(f"unknown strategy {strategy!r}")
    return args


def slug(strategy: str, index: int) -> str:
    return f"{strategy}-{index:04d}"


def mask(strategy: str, index: int) -> int:
    """Each copy's ids are the template's with their low random bits flipped by this mask:
    unique, consistent across foreign keys, and in the same time order."""
    seed = STRATEGIES.index(strategy) * 100_000 + index + 1
    return (seed * 0x9E3779B97F4A7C15) & LOW_BITS


def shifted(value: Any, bits: int) -> Any:
    return uuid.UUID(int=value.int ^ bits) if isinstance(value, uuid.UUID) else value


def silo_database(index: int) -> str:
    return f"{DATABASE}_silo_{index:04d}"


@dataclass
class Template:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]


async def _ensure_database(server: str, name: str, template: str | None = None) -> bool:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{clause}')
        return True
    finally:
        await connection.close()


async def drop_all(server: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        names = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{DATABASE}%"
        )
        for row in names:
            await connection.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
        print(f"dropped {len(names)} databases")
    finally:
        await connection.close()


async def load_template(settings: Settings, scale: int) -> Template:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            entry = await catalog.entry_by_slug(session, TEMPLATE)
            if entry is None:
                print(f"seeding the template tenant at scale {scale}", flush=True)
                await seed_demo(session, slug=TEMPLATE, scale=scale)
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(settings.database_url)
    try:
        tenant_id = await connection.fetchval("SELECT id FROM tenants WHERE slug = $1", TEMPLATE)
        viewer = await connection.fetchrow(
            "SELECT id, organization_id FROM users WHERE tenant_id = $1 AND email = $2",
            tenant_id,
            VIEWER,
        )
        rows = {}
        for table in TABLES:
            records = await connection.fetch(
                f"SELECT * FROM {table} WHERE tenant_id = $1",  # fixed table names
                tenant_id,
            )
            columns = list(records[0].keys()) if records else []
            rows[table] = (columns, [tuple(record.values()) for record in records])
    finally:
        await connection.close()
    return Template(tenant_id, viewer["id"], viewer["organization_id"], rows)


async def _copy_rows(target: StoreTarget, template: Template, bits: int) -> None:
    connection = await asyncpg.connect(target.url)
    try:
        async with connection.transaction():
            for table in TABLES:
                columns, rows = template.rows[table]
                if not rows:
                    continue
                await connection.copy_records_to_table(
                    table,
                    records=[tuple(shifted(value, bits) for value in row) for row in rows],
                    columns=columns,
                    schema_name=target.schema or "public",
                )
    finally:
        await connection.close()


async def provision(
    settings: Settings, box: SecretBox, args: argparse.Namespace, template: Template
) -> None:
    """Create the tenants each strategy needs (those already made are kept)."""
    server = args.postgres
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            existing = {e.slug: e for e in await catalog.all_entries(session)}
        template_db = f"{DATABASE}_silo_template"
        if "silo" in args.strategies and await _ensure_database(server, template_db):
            await migrate_store(StoreTarget(f"{server}/{template_db}", None, default=False))
        for strategy in args.strategies:
            started, made = time.monotonic(), 0
            for index in range(max(args.counts)):
                name = slug(strategy, index)
                if name in existing and existing[name].status is TenantStatus.ACTIVE:
                    continue
                bits = mask(strategy, index)
                tenant_id = shifted(template.tenant_id, bits)
                tenant = Tenant(
                    id=tenant_id,
                    slug=name,
                    name=name,
                    status=TenantStatus.PROVISIONING,
                    strategy=TenantStrategy(strategy),
                )
                if strategy == "bridge":
                    tenant.location = bridge_schema(tenant_id)
                if strategy == "silo":
                    await _ensure_database(
                        server, silo_database(index), f"{DATABASE}_silo_template"
                    )
                    tenant.database_url_secret = box.encrypt(f"{server}/{silo_database(index)}")
                async with session_factory(engine)() as session, session.begin():
                    if name not in existing:
                        session.add(tenant)
                    entry = catalog.CatalogEntry.of(tenant)
                target = store_target(settings, entry, box)
                if strategy == "bridge":
                    await prepare_store(target)
                    await migrate_store(target)
                await write_mirror(target, entry)
                await _copy_rows(target, template, bits)
                async with engine.begin() as connection:
                    await connection.execute(
                        update(Tenant)
                        .where(Tenant.id == tenant_id)
                        .values(status=TenantStatus.ACTIVE)
                    )
                made += 1
                if made % 50 == 0:
                    print(f"  {strategy}: {made} tenants made", flush=True)
            if made:
                print(
                    f"{strategy}: {made} tenants made in {time.monotonic() - started:.0f}s",
                    flush=True,
                )
        async with engine.connect() as connection:
            counts = (
                await connection.execute(
                    select(Tenant.strategy, Tenant.status).where(Tenant.slug != TEMPLATE)
                )
            ).all()
        print(f"catalog: {len(counts)} tenants", flush=True)
    finally:
        await engine.dispose()


@dataclass
class Measured:
    strategy: str
    tenants: int
    row_security: bool
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    server_cpu_ms_per_request: float | None
    problems: list[str]


def tokens_file(
    folder: Path, tokens: TokenService, template: Template, strategy: str, count: int
) -> Path:
    path = folder / f"tokens-{strategy}-{count}.txt"
    lines = []
    for index in range(count):
        bits = mask(strategy, index)
        lines.append(
            tokens.mint(
                subject=shifted(template.user_id, bits),
                tenant_id=shifted(template.tenant_id, bits),
                organization_id=shifted(template.organization_id, bits),
                ttl_seconds=3600,
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def check_pages(url: str, body: bytes, token_path: Path) -> int:
    """The first, a middle and the last tenant answer the page, all of the same length."""
    tokens = token_path.read_text(encoding="ascii").split()
    sizes = set()
    with httpx.Client(timeout=30) as client:
        for token in {tokens[0], tokens[len(tokens) // 2], tokens[-1]}:
            raw = harness._post(client, url, body, token)
            payload = harness._check_graphql("list page", raw)
            edges = payload["data"]["engagements"]["edges"]
            if len(edges) != 20 or any(len(e["node"]["tasks"]["edges"]) != 10 for e in edges):
                raise harness.BenchError("the list page is not full: 20 engagements x 10 tasks")
            sizes.add(len(raw))
    if len(sizes) != 1:
        raise harness.BenchError(f"tenants' pages differ in length: {sorted(sizes)}")
    return sizes.pop()


def touch_every_tenant(url: str, token_path: Path) -> None:
    """One small request per tenant before measuring: what a process keeps per tenant
    (verified token, catalog entry, principal) is then warm, as under steady traffic."""
    body = json.dumps({"query": "{ viewer { user { id } } }"}).encode()
    with httpx.Client(timeout=30) as client:
        for token in token_path.read_text(encoding="ascii").split():
            harness._check_graphql("viewer", harness._post(client, url, body, token))


def measure(
    args: argparse.Namespace,
    wrk: str,
    env: dict[str, str],
    folder: Path,
    strategy: str,
    count: int,
    token_path: Path,
    row_security: bool,
) -> Measured:
    run_env = dict(env)
    label = f"{strategy} x{count}" + ("" if row_security else " (RLS off)")
    if not row_security:
        run_env["MEMBRANE_DATABASE_ROLE"] = ""  # the owner: policies do not bind it
    command = [str(harness.VENV_BIN / "membrane"), "serve", "--no-migrate"]
    body = json.dumps({"query": harness.LIST_QUERY}).encode()
    body_file = folder / "list.json"
    body_file.write_bytes(body)
    with harness.running(f"membrane-{strategy}-{count}", command, run_env, folder) as server:
        harness.wait_healthy(server)
        url = f"{server.base_url}/graphql"
        expected = check_pages(url, body, token_path)
        touch_every_tenant(url, token_path)
        common = {
            "server": "membrane",
            "operation": "list page",
            "url": url,
            "body_file": body_file,
            "expected_bytes": expected,
            "token": f"@{token_path}",
            "connections": args.connections,
        }
        harness.run_wrk(wrk, name=f"warm-up {label}", duration=args.warmup, **common)
        cpu_before = harness.process_cpu_seconds(server.process.pid)
        result = harness.run_wrk(wrk, name=label, duration=args.duration, **common)
        cpu = harness.process_cpu_seconds(server.process.pid) - cpu_before
    return Measured(
        strategy=strategy,
        tenants=count,
        row_security=row_security,
        requests_per_s=round(result.requests_per_s, 1),
        p50_ms=round(result.latency_ms["p50"], 1),
        p99_ms=round(result.latency_ms["p99"], 1),
        requests=result.requests,
        server_cpu_ms_per_request=round(cpu * 1000 / result.requests, 2)
        if result.requests
        else None,
        problems=result.problems(),
    )


def report(results: Sequence[Measured]) -> None:
    print(
        f"\n{'strategy':<9}{'tenants':>8}{'RLS':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/req':>12}  problems"
    )
    for m in results:
        print(
            f"{m.strategy:<9}{m.tenants:>8}{'on' if m.row_security else 'off':>5}"
            f"{m.requests_per_s:>9.1f}{m.p50_ms:>9.1f}{m.p99_ms:>9.1f}"
            f"{m.server_cpu_ms_per_request or 0:>12.2f}  {'; '.join(m.problems) or '-'}"
        )
    by_key = {(m.strategy, m.tenants, m.row_security): m for m in results}
    for m in results:
        off = by_key.get(("pool", m.tenants, False))
        if m.strategy == "pool" and m.row_security and off is not None:
            cost = 1 - m.requests_per_s / off.requests_per_s
            print(f"RLS cost, pool x{m.tenants}: {cost:+.1%} of throughput")


def main() -> int:
    args = parse_args()
    if args.drop:
        asyncio.run(drop_all(args.postgres))
        return 0
    wrk = harness.ensure_wrk()
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    if not KEY_FILE.exists():
        KEY_FILE.write_bytes(Fernet.generate_key())
    secret_key = KEY_FILE.read_text(encoding="ascii").strip()
    database_url = f"{args.postgres}/{DATABASE}"
    asyncio.run(_ensure_database(args.postgres, DATABASE))
    with tempfile.TemporaryDirectory(prefix="membrane-bench-tenants-") as raw_folder:
        folder = Path(raw_folder)
        settings = Settings(
            database_url=database_url, keys_dir=folder / "keys", secret_keys=(secret_key,)
        )
        box = SecretBox([secret_key.encode()])
        asyncio.run(upgrade_all(settings, box))
        template = asyncio.run(load_template(settings, args.scale))
        asyncio.run(provision(settings, box, args, template))
        tokens = TokenService(
            keys.load_or_create(settings.keys_dir),
            issuer=settings.issuer,
            audience=settings.audience,
        )
        env = {
            **os.environ,
            "MEMBRANE_DATABASE_URL": database_url,
            "MEMBRANE_KEYS_DIR": str(settings.keys_dir),
            "MEMBRANE_SECRET_KEYS": secret_key,
            "MEMBRANE_LOG_LEVEL": "WARNING",
        }
        results: list[Measured] = []
        for strategy in args.strategies:
            for count in args.counts:
                token_path = tokens_file(folder, tokens, template, strategy, count)
                results.append(measure(args, wrk, env, folder, strategy, count, token_path, True))
                if strategy == "pool" and not args.no_rls_runs:
                    results.append(
                        measure(args, wrk, env, folder, strategy, count, token_path, False)
                    )
    report(results)
    args.output.write_text(
        json.dumps(
            {
                "database": DATABASE,
                "scale": args.scale,
                "duration_s": args.duration,
                "connections": args.connections,
                "git": harness.git_revision(),
                "results": [asdict(m) for m in results],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"\nraw results: {args.output}")
    return 1 if any(m.problems for m in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
