"""Cost of the audit log: how fast one tenant's chain takes events on PostgreSQL, and what
appending costs the reference list page (one read event per request) and a mutation.

    .venv/bin/python bench/audit.py [--rounds 3] [--duration 15] [--connections 16]
                                    [--append-duration 10] [--writers 1,4,16] [--batches 1,50]
                                    [--operations list,update-one,update-many]
                                    [--skip-append] [--skip-http] [--clear-audit]

Prepares the database and the demo seed like bench/run.py (the same `membrane_bench`
database at `--scale 67`, migrated with `membrane db upgrade`), and a tenant of its own for
the append benchmark (`audit-bench`, pool, no content). Then:

1. Append throughput, in this process: `--writers` concurrent asyncio tasks, each taking a
   session (and so a connection of its own) from an engine like the API's (asyncpg, the
   `membrane_app` role under row-level security), append batches of `--batches` events to
   the `audit-bench` chain with `membrane.audit.chain.AuditLog.append`, one transaction per
   batch, for `--append-duration` seconds; reported: events/s, transactions/s, p50/p99 of a
   transaction, checkpoints signed, CPU per event. Afterwards the chain must have contiguous
   sequence numbers without duplicates, every event must name its predecessor's hash, the
   head must match the last event, every checkpoint the event it names, and the newest
   events' hashes and checkpoints' signatures must verify.
2. HTTP, two builds of the same code started by bench/policy_server.py: *on* (as built) and
   *off* (`--audit off`: `AuditLog.append` replaced by a no-op before the app is built).
   Before measuring it checks that *on* writes one event per request of each operation and
   *off* none (audit_events counted before and after), and that both builds answer alike.
   Operations: `list` (the reference list page as alice, host lead: it reads the partners'
   shared tasks, so each request appends its read events in a short transaction shared with
   concurrent requests' read events),
   `update-one` (updateTask changing the title of one task, bench/mutate.lua) and
   `update-many` (the same over 64 tasks in turn, so that concurrent requests do not queue
   on one task's row lock). The tasks are internal tasks of alice's organization, which the
   list page does not show; their titles are put back at the end. Rounds as in
   bench/policies.py, each round starting with the other build; events written per request
   and the backends waiting on a lock (sampled from pg_stat_activity) are reported per run.

Results: bench/results/audit.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import hashlib
import json
import os
import pstats
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import policies as policy_bench
import run as harness
import uvloop

from membrane.audit import keys as audit_keys
from membrane.audit.chain import Actor, AuditLog, CheckpointPolicy, Draft
from membrane.audit.encoding import (
    GENESIS,
    canonical,
    checkpoint_document,
    document_hash,
    event_document,
)
from membrane.audit.models import AuditEvent
from membrane.config import Settings
from membrane.db.engine import APP_ROLE, create_engine, session_factory
from membrane.tenancy import isolation
from membrane.tenancy.isolation import bind_tenant

SERVER_SCRIPT = harness.BENCH_DIR / "policy_server.py"
MUTATE_SCRIPT = harness.BENCH_DIR / "mutate.lua"
VIEWER = harness.VIEWER  # alice: host ADMIN, LEAD of every engagement
APPEND_TENANT = "audit-bench"
BUILDS = ("on", "off")  # `bench/policy_server.py --audit` values
BASELINE = "off"
READ_TARGET = 0.10  # appending the read event may cost at most this share of throughput
MANY_TASKS = 64  # update-many: tasks in turn, more than the connections

MUTATION = (
    "mutation UpdateTaskTitle($id: ID!, $title: String!) { updateTask(input: {id: $id, "
    "title: $title}) { task { id title } } }"
)


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    tasks: int  # tasks the mutation takes in turn; 0: the list page


OPERATIONS = {
    "list": Operation("list", "list page", 0),
    "update-one": Operation("update-one", "updateTask, one task", 1),
    "update-many": Operation("update-many", f"updateTask, {MANY_TASKS} tasks", MANY_TASKS),
}


def _int_list(raw: str) -> list[int]:
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of integers") from None
    if not values or any(not 1 <= value <= 256 for value in values):
        raise argparse.ArgumentTypeError("integers between 1 and 256")
    return values


def _operations(raw: str) -> list[str]:
    names = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [name for name in names if name not in OPERATIONS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(OPERATIONS)}")
    return names


def parse_args() -> argparse.Namespace:
    bounded = harness._bounded
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=bounded(1, 20), default=3, help="rounds per build")
    parser.add_argument(
        "--duration", type=bounded(1, 300), default=15, help="seconds per measured wrk run"
    )
    parser.add_argument("--connections", type=bounded(1, 1024), default=16, help="wrk connections")
    parser.add_argument(
        "--warmup", type=bounded(0, 60), default=3, help="seconds of load per warm-up run"
    )
    parser.add_argument(
        "--operations",
        type=_operations,
        default=list(OPERATIONS),
        help=f"HTTP operations, comma-separated ({','.join(OPERATIONS)})",
    )
    parser.add_argument(
        "--append-duration", type=bounded(1, 300), default=10, help="seconds per append run"
    )
    parser.add_argument(
        "--writers", type=_int_list, default=[1, 4, 16], help="concurrent appenders per run"
    )
    parser.add_argument(
        "--batches", type=_int_list, default=[1, 50], help="events per appended transaction"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=bounded(1, 1_000_000),
        default=defaults.audit_checkpoint_every,
        help="MEMBRANE_AUDIT_CHECKPOINT_EVERY, here and for the servers",
    )
    parser.add_argument(
        "--checkpoint-seconds",
        type=bounded(1, 86_400),
        default=defaults.audit_checkpoint_seconds,
        help="MEMBRANE_AUDIT_CHECKPOINT_SECONDS, here and for the servers",
    )
    parser.add_argument(
        "--quiet-wait",
        type=bounded(0, 3600),
        default=30,
        help="before each measured run, wait at most this many seconds for the machine's "
        "other load to fall under 0.3 cores",
    )
    parser.add_argument(
        "--profile-append",
        type=bounded(0, 100_000),
        default=0,
        metavar="N",
        help="also profile N single-event appends (cProfile) and print where their time goes",
    )
    parser.add_argument("--skip-append", action="store_true", help="no append benchmark")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP benchmark")
    parser.add_argument(
        "--clear-audit",
        action="store_true",
        help="first delete the audit events, heads and checkpoints of the demo and "
        f"{APPEND_TENANT} tenants (bench database only)",
    )
    parser.add_argument("--scale", type=bounded(1, 500), default=67, help="`membrane demo --scale`")
    parser.add_argument(
        "--postgres",
        default=f"postgresql://root@{harness.HOST}:5432",
        help="PostgreSQL server URL, without a database name",
    )
    parser.add_argument("--database", default="membrane_bench", help="database to use")
    parser.add_argument(
        "--reseed", action="store_true", help="re-seed the demo tenant even if it looks right"
    )
    parser.add_argument(
        "--output", type=Path, default=harness.RESULTS_DIR / "audit.json", help="results file"
    )
    return parser.parse_args()


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _run_async(coroutine: Any) -> Any:
    """Run a coroutine on uvloop, as the servers do."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


# --- database: tenants, counts, the chain's checks ----------------------------------------------


async def _tenant_id(database_url: str, slug: str) -> uuid.UUID | None:
    connection = await asyncpg.connect(database_url)
    try:
        found = await connection.fetchval("SELECT id FROM tenants WHERE slug = $1", slug)
        return None if found is None else uuid.UUID(str(found))
    finally:
        await connection.close()


async def _audit_counts(database_url: str, tenant_id: uuid.UUID) -> dict[str, int]:
    """Events, checkpoints and the head's seq of a tenant (as the owner: no RLS)."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = $1) AS events, "
            "(SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1) AS checkpoints, "
            "(SELECT coalesce(max(seq), 0) FROM audit_heads WHERE tenant_id = $1) AS head",
            tenant_id,
        )
        return {key: int(row[key]) for key in ("events", "checkpoints", "head")}
    finally:
        await connection.close()


async def _transactions_since(database_url: str, tenant_id: uuid.UUID, seq: int) -> int:
    """How many transactions wrote the tenant's events after `seq` (distinct xmin)."""
    connection = await asyncpg.connect(database_url)
    try:
        found: int = await connection.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM audit_events WHERE tenant_id = $1 AND seq > $2",
            tenant_id,
            seq,
        )
        return found
    finally:
        await connection.close()


def audit_counts(database_url: str, tenant_id: uuid.UUID) -> dict[str, int]:
    counts: dict[str, int] = asyncio.run(_audit_counts(database_url, tenant_id))
    return counts


async def _clear_audit(database_url: str, tenant_ids: list[uuid.UUID]) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        async with connection.transaction():
            for table in ("audit_checkpoints", "audit_events", "audit_heads"):
                await connection.execute(
                    f"DELETE FROM {table} WHERE tenant_id = ANY($1::uuid[])", tenant_ids
                )
    finally:
        await connection.close()


def _event_from_row(row: asyncpg.Record) -> AuditEvent:
    values = dict(row)
    details = values["details"]
    values["details"] = json.loads(details) if isinstance(details, str) else details
    for key in (
        "id",
        "tenant_id",
        "actor_user_id",
        "actor_organization_id",
        "target_organization_id",
        "engagement_id",
    ):
        if values[key] is not None:
            values[key] = uuid.UUID(str(values[key]))
    return AuditEvent(**values)


async def _verify_chain(
    database_url: str, tenant_id: uuid.UUID, public_keys: dict[str, Any], recheck: int
) -> dict[str, Any]:
    """The chain's invariants, from the rows (as the owner)."""
    connection = await asyncpg.connect(database_url)
    try:
        shape = await connection.fetchrow(
            "SELECT count(*) AS events, coalesce(max(seq) - min(seq) + 1, 0) AS span, "
            "count(DISTINCT seq) AS distinct_seq, min(seq) AS first, max(seq) AS last "
            "FROM audit_events WHERE tenant_id = $1",
            tenant_id,
        )
        broken_links = await connection.fetchval(
            "SELECT count(*) FROM (SELECT seq, prev_hash, lag(hash) OVER (ORDER BY seq) AS before "
            "FROM audit_events WHERE tenant_id = $1) AS chained "
            "WHERE before IS NOT NULL AND prev_hash <> before",
            tenant_id,
        )
        first_prev = await connection.fetchval(
            "SELECT prev_hash FROM audit_events WHERE tenant_id = $1 AND seq = 1", tenant_id
        )
        head = await connection.fetchrow(
            "SELECT h.seq, h.hash = e.hash AS same_hash FROM audit_heads AS h "
            "LEFT JOIN audit_events AS e ON e.tenant_id = h.tenant_id AND e.seq = h.seq "
            "WHERE h.tenant_id = $1",
            tenant_id,
        )
        checkpoints = await connection.fetchrow(
            "SELECT count(*) AS checkpoints, count(*) FILTER (WHERE e.hash IS DISTINCT FROM "
            "c.hash) AS mismatched FROM audit_checkpoints AS c LEFT JOIN audit_events AS e "
            "ON e.tenant_id = c.tenant_id AND e.seq = c.seq WHERE c.tenant_id = $1",
            tenant_id,
        )
        newest = await connection.fetch(
            "SELECT * FROM audit_events WHERE tenant_id = $1 ORDER BY seq DESC LIMIT $2",
            tenant_id,
            recheck,
        )
        # Only this run's key can verify: each run makes its keys in a temporary folder.
        known = [key["kid"] for key in public_keys.get("keys", [])]
        signed = await connection.fetch(
            "SELECT * FROM audit_checkpoints WHERE tenant_id = $1 AND key_id = ANY($3::text[]) "
            "ORDER BY seq DESC LIMIT $2",
            tenant_id,
            recheck,
            known,
        )
        earlier_keys = await connection.fetchval(
            "SELECT count(*) FROM audit_checkpoints WHERE tenant_id = $1 "
            "AND NOT key_id = ANY($2::text[])",
            tenant_id,
            known,
        )
    finally:
        await connection.close()
    bad_hashes = [
        int(row["seq"])
        for row in newest
        if document_hash(event_document(_event_from_row(row))) != row["hash"]
    ]
    bad_signatures = []
    for row in signed:
        document = checkpoint_document(
            str(tenant_id), int(row["seq"]), row["hash"], row["signed_at"]
        )
        try:
            if audit_keys.verify(row["jws"], public_keys) != canonical(document):
                bad_signatures.append(int(row["seq"]))
        except audit_keys.SignatureError:
            bad_signatures.append(int(row["seq"]))
    events = int(shape["events"])
    found: dict[str, Any] = {
        "events": events,
        "first_seq": shape["first"],
        "last_seq": shape["last"],
        "span": int(shape["span"]),
        "distinct_seq": int(shape["distinct_seq"]),
        "broken_links": int(broken_links),
        "first_prev_hash_is_genesis": None if first_prev is None else first_prev == GENESIS,
        "head_seq": None if head is None else int(head["seq"]),
        "head_matches_last_event": None if head is None else bool(head["same_hash"]),
        "checkpoints": int(checkpoints["checkpoints"]),
        "checkpoints_not_matching_their_event": int(checkpoints["mismatched"]),
        "rehashed_events": len(newest),
        "events_whose_hash_does_not_verify": bad_hashes[:20],
        "verified_signatures": len(signed),
        "checkpoints_signed_by_earlier_runs_keys": int(earlier_keys),
        "checkpoints_whose_signature_does_not_verify": bad_signatures[:20],
    }
    problems = []
    if events and not (events == found["span"] == found["distinct_seq"]):
        problems.append("sequence numbers are not contiguous and unique")
    if found["broken_links"]:
        problems.append(f"{found['broken_links']} events do not name their predecessor's hash")
    if found["first_prev_hash_is_genesis"] is False:
        problems.append("the first event does not follow the genesis hash")
    if events and (found["head_seq"] != found["last_seq"] or not found["head_matches_last_event"]):
        problems.append("the head does not match the last event")
    if found["checkpoints_not_matching_their_event"]:
        problems.append("checkpoints name hashes their events do not have")
    if bad_hashes:
        problems.append(f"{len(bad_hashes)} events' hashes do not verify")
    if bad_signatures:
        problems.append(f"{len(bad_signatures)} checkpoints' signatures do not verify")
    found["problems"] = problems
    return found


def verify_chain(
    database_url: str, tenant_id: uuid.UUID, public_keys: dict[str, Any], recheck: int = 2000
) -> dict[str, Any]:
    found: dict[str, Any] = asyncio.run(
        _verify_chain(database_url, tenant_id, public_keys, recheck)
    )
    return found


# --- the machine: other load ---------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat, without idle and iowait)."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(value) for value in stat.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class OtherLoad:
    """How many cores processes outside the measurement kept busy during it: the machine's busy
    time less the server's, the database backends', this process's and wrk's."""

    def __init__(self, server_pid: int | None, database: str) -> None:
        self.server_pid = server_pid
        self.database = database

    def _mine(self) -> float:
        used = harness.process_cpu_seconds(os.getpid()) + children_cpu_seconds()
        used += sum(harness.backend_cpu_seconds(self.database).values())
        if self.server_pid is not None:
            used += harness.process_cpu_seconds(self.server_pid)
        return used

    def __enter__(self) -> OtherLoad:
        self._started = time.monotonic()
        self._busy = machine_busy_seconds()
        self._mine_before = self._mine()
        self.cores: float | None = None
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = time.monotonic() - self._started
        others = machine_busy_seconds() - self._busy - (self._mine() - self._mine_before)
        self.cores = max(0.0, others / elapsed) if elapsed > 0 else None


def wait_quiet(max_wait: float, threshold: float = 0.3) -> float:
    """Wait (at most `max_wait` seconds) until the machine's other load falls under
    `threshold` cores over one second; the last such figure."""
    deadline = time.monotonic() + max_wait
    told = False
    while True:
        busy = machine_busy_seconds()
        time.sleep(1.0)
        cores = machine_busy_seconds() - busy
        if cores < threshold or time.monotonic() >= deadline:
            return cores
        if not told:
            print(f"    the machine is busy ({cores:.2f} cores): waiting for it", flush=True)
            told = True


# --- what the database's backends are doing -----------------------------------------------------


class ActivitySampler:
    """Samples pg_stat_activity (connected to the `postgres` database, so that the sampler's
    own backend does not count as the bench database's CPU) every `interval` seconds in a
    thread of its own: how many backends of the bench database wait for a lock, are idle in
    a transaction (waiting for the application) or are active."""

    QUERY = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waiting, "
        "count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction, "
        "count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock') "
        "AS active FROM pg_stat_activity WHERE datname = $1"
    )

    def __init__(self, server_url: str, database: str, interval: float = 0.1) -> None:
        self.server_url = server_url
        self.database = database
        self.interval = interval
        self.samples: list[tuple[int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, daemon=True)
        self.error: str | None = None

    def __enter__(self) -> ActivitySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._sample())
        except Exception as error:  # a missing figure, not a failed benchmark
            self.error = f"{type(error).__name__}: {error}"

    async def _sample(self) -> None:
        connection = await asyncpg.connect(f"{self.server_url}/postgres")
        try:
            while not self._stop.is_set():
                row = await connection.fetchrow(self.QUERY, self.database)
                self.samples.append(
                    (int(row["lock_waiting"]), int(row["idle_in_transaction"]), int(row["active"]))
                )
                await asyncio.sleep(self.interval)
        finally:
            await connection.close()

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"samples": 0, "error": self.error}
        count = len(self.samples)
        return {
            "samples": count,
            "lock_waiting_mean": sum(s[0] for s in self.samples) / count,
            "lock_waiting_max": max(s[0] for s in self.samples),
            "idle_in_transaction_mean": sum(s[1] for s in self.samples) / count,
            "active_mean": sum(s[2] for s in self.samples) / count,
        }


# --- 1. append throughput -----------------------------------------------------------------------


@dataclass
class AppendRun:
    writers: int
    batch: int
    duration_s: float
    transactions: int
    events: int
    events_per_s: float
    transactions_per_s: float
    transaction_ms: dict[str, float]
    checkpoints: int
    app_cpu_ms_per_event: float
    database_cpu_ms_per_event: float
    busy_cores_before: float | None = None
    other_load_cores: float | None = None
    activity: dict[str, Any] = field(default_factory=dict)


class DraftMaker:
    """Events shaped like the one updateTask writes: a title and updated_at, before and after
    (about 220 bytes of details), from a graphql actor."""

    def __init__(self) -> None:
        self.actor = Actor(
            user_id=uuid.uuid4(),
            organization_id=uuid.uuid4(),
            client="graphql",
            ip="127.0.0.1",
            user_agent="bench/audit.py",
        )
        self.engagement_id = uuid.uuid4()
        self.task_ids = [str(uuid.uuid4()) for _ in range(64)]
        self.count = 0
        self.started = datetime.now(UTC)

    def __call__(self) -> Draft:
        self.count += 1
        task_id = self.task_ids[self.count % len(self.task_ids)]
        before = self.started + timedelta(microseconds=self.count - 1)
        after = self.started + timedelta(microseconds=self.count)
        return Draft(
            action="updateTask",
            actor=self.actor,
            target_type="tasks",
            target_id=task_id,
            target_organization_id=self.actor.organization_id,
            engagement_id=self.engagement_id,
            zone="INTERNAL",
            details={
                "changes": [
                    {
                        "type": "tasks",
                        "id": task_id,
                        "op": "update",
                        "fields": {
                            "title": [f"bench {self.count - 1:08d}", f"bench {self.count:08d}"],
                            "updated_at": [
                                before.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                after.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                            ],
                        },
                    }
                ]
            },
        )


async def _append_run(
    args: argparse.Namespace,
    sessions: Any,
    log: AuditLog,
    tenant_id: uuid.UUID,
    writers: int,
    batch: int,
    duration: float,
) -> AppendRun:
    database_url = f"{args.postgres}/{args.database}"
    before = await _audit_counts(database_url, tenant_id)
    quiet = await asyncio.to_thread(wait_quiet, args.quiet_wait) if duration > 2 else None
    make = DraftMaker()
    latencies: list[float] = []
    app_cpu = harness.process_cpu_seconds(os.getpid())
    database_cpu = harness.backend_cpu_seconds(args.database)
    started = time.perf_counter()
    deadline = started + duration

    async def writer() -> int:
        done = 0
        while time.perf_counter() < deadline:
            drafts = [make() for _ in range(batch)]
            begun = time.perf_counter()
            async with sessions() as session:
                bind_tenant(session, tenant_id)
                await log.append(session, tenant_id, drafts)
                await session.commit()
            latencies.append(time.perf_counter() - begun)
            done += 1
        return done

    with (
        OtherLoad(None, args.database) as others,
        ActivitySampler(args.postgres, args.database) as sampler,
    ):
        transactions = sum(await asyncio.gather(*(writer() for _ in range(writers))))
    elapsed = time.perf_counter() - started
    app_used = harness.process_cpu_seconds(os.getpid()) - app_cpu
    database_used = harness._cpu_delta(database_cpu, harness.backend_cpu_seconds(args.database))
    after = await _audit_counts(database_url, tenant_id)
    events = transactions * batch
    if after["events"] - before["events"] != events:
        raise harness.BenchError(
            f"{writers} writers x {batch}: appended {events} events, the table gained "
            f"{after['events'] - before['events']}"
        )
    return AppendRun(
        writers=writers,
        batch=batch,
        duration_s=elapsed,
        transactions=transactions,
        events=events,
        events_per_s=events / elapsed,
        transactions_per_s=transactions / elapsed,
        transaction_ms={
            "p50": _percentile(latencies, 0.50) * 1000,
            "p99": _percentile(latencies, 0.99) * 1000,
        },
        checkpoints=after["checkpoints"] - before["checkpoints"],
        app_cpu_ms_per_event=app_used * 1000 / events if events else 0.0,
        database_cpu_ms_per_event=database_used * 1000 / events if events else 0.0,
        busy_cores_before=quiet,
        other_load_cores=others.cores,
        activity=sampler.summary(),
    )


async def _append_benchmark(
    args: argparse.Namespace, tenant_id: uuid.UUID, keys_dir: Path
) -> list[AppendRun]:
    database_url = f"{args.postgres}/{args.database}"
    # The API's engine: asyncpg, a fixed pool, every connection acting as membrane_app.
    engine = create_engine(database_url, pool_size=max(args.writers), role=APP_ROLE)
    sessions = session_factory(engine)
    log = AuditLog(
        audit_keys.load_or_create(audit_keys.audit_keys_dir(keys_dir)),
        CheckpointPolicy(every_events=args.checkpoint_every, every_seconds=args.checkpoint_seconds),
    )
    runs: list[AppendRun] = []
    try:
        if args.profile_append:
            print(f"  profiling {args.profile_append} single-event appends ...", flush=True)
            profiled = await _profile_append(sessions, log, tenant_id, args.profile_append)
            print_profile(profiled)
            args.profiled = profiled
        # Opens the pool's connections and warms the statement caches.
        await _append_run(args, sessions, log, tenant_id, max(args.writers), 1, 2)
        for batch in args.batches:
            for writers in args.writers:
                print(
                    f"  append: {writers} writers x {batch} events per transaction, "
                    f"{args.append_duration}s ...",
                    flush=True,
                )
                run = await _append_run(
                    args, sessions, log, tenant_id, writers, batch, args.append_duration
                )
                print(
                    f"    {run.events_per_s:,.0f} events/s, {run.transactions_per_s:,.0f} "
                    f"transactions/s, p50 {run.transaction_ms['p50']:.2f} ms, p99 "
                    f"{run.transaction_ms['p99']:.2f} ms, {run.checkpoints} checkpoints",
                    flush=True,
                )
                runs.append(run)
    finally:
        await engine.dispose()
    return runs


# Parts of one append, by (file name ending, function name): cumulative CPU time, cProfile.
PROFILED_PARTS = {
    "whole transaction (begin .. commit)": ("audit.py", "one_append"),
    "AuditLog.append": ("membrane/audit/chain.py", "append"),
    "  head: UPDATE .. RETURNING (_advance)": ("membrane/audit/chain.py", "_advance"),
    "  events built and hashed (_event)": ("membrane/audit/chain.py", "_event"),
    "  checkpoint signed and inserted": ("membrane/audit/chain.py", "checkpoint"),
    "tenant hook: the statement's tenant checked": (
        "membrane/tenancy/isolation.py",
        "_filter_by_tenant",
    ),
    "  of which compiling it again": ("membrane/tenancy/isolation.py", "_check_written_tenant"),
    "tenant setting at begin (set_config)": (
        "membrane/tenancy/isolation.py",
        "_set_database_tenant",
    ),
    "commit": ("sqlalchemy/ext/asyncio/session.py", "commit"),
}


async def _profile_append(
    sessions: Any, log: AuditLog, tenant_id: uuid.UUID, count: int
) -> dict[str, Any]:
    """Where the CPU time of a single-event append (its own transaction) goes: `count`
    appends timed as built and with the tenant hook's check of written statements removed
    (three times each, alternately, unprofiled), then `count` appends under cProfile with a
    CPU clock: the time of each of PROFILED_PARTS (profiled, so slower than unprofiled; the
    shares are what to read)."""
    make = DraftMaker()

    async def one_append() -> None:
        async with sessions() as session:
            bind_tenant(session, tenant_id)
            await log.append(session, tenant_id, [make()])
            await session.commit()

    async def cpu_ms_per_append() -> float:
        started = time.process_time()
        for _ in range(count):
            await one_append()
        return (time.process_time() - started) * 1000 / count

    for _ in range(min(count, 100)):
        await one_append()  # warm: statement caches, connection
    # Unprofiled A/B: as built, and with the tenant hook's check of written statements (which
    # compiles each INSERT and UPDATE a second time) replaced by nothing, alternately.
    as_built: list[float] = []
    unchecked: list[float] = []
    original = isolation._check_written_tenant
    for _ in range(3):
        as_built.append(await cpu_ms_per_append())
        isolation._check_written_tenant = lambda state, tenant: None
        try:
            unchecked.append(await cpu_ms_per_append())
        finally:
            isolation._check_written_tenant = original
    cpu = time.process_time()
    profile = cProfile.Profile(time.process_time)  # CPU time: waits for PostgreSQL excluded
    profile.enable()
    for _ in range(count):
        await one_append()
    profile.disable()
    profiled_cpu = time.process_time() - cpu
    stats: Any = pstats.Stats(profile)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats
    parts: dict[str, float] = {}
    for label, (file_end, function) in PROFILED_PARTS.items():
        seconds = sum(
            entry[3]
            for (file, _line, name), entry in table.items()
            if name == function and file.endswith(file_end)
        )
        parts[label] = seconds * 1000 / count
    return {
        "appends": count,
        "cpu_ms_per_append_as_built": as_built,
        "cpu_ms_per_append_without_written_tenant_check": unchecked,
        "profiled_cpu_ms_per_append": profiled_cpu * 1000 / count,
        "ms_per_append": parts,
    }


def append_benchmark(
    args: argparse.Namespace, tenant_id: uuid.UUID, keys_dir: Path
) -> list[AppendRun]:
    runs: list[AppendRun] = _run_async(_append_benchmark(args, tenant_id, keys_dir))
    return runs


# --- 2. HTTP: the servers, the requests and the checks before measuring ------------------------


def relay_id(type_name: str, row_id: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


@dataclass(frozen=True)
class MutatedTasks:
    ids: list[uuid.UUID]
    titles: dict[uuid.UUID, str]


async def _mutated_tasks(database_url: str, count: int) -> MutatedTasks:
    """Internal tasks of the viewer's organization (the list page shows shared ones only)."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT t.id, t.title FROM tasks AS t JOIN users AS u "
            "ON u.organization_id = t.owner_organization_id AND u.tenant_id = t.tenant_id "
            "JOIN tenants AS n ON n.id = t.tenant_id "
            "WHERE n.slug = $1 AND u.email = $2 AND t.zone = 'INTERNAL' ORDER BY t.id LIMIT $3",
            harness.TENANT,
            VIEWER,
            count,
        )
    finally:
        await connection.close()
    if len(rows) < count:
        raise harness.BenchError(f"only {len(rows)} internal tasks of {VIEWER}'s organization")
    ids = [uuid.UUID(str(row["id"])) for row in rows]
    return MutatedTasks(ids=ids, titles={uuid.UUID(str(r["id"])): r["title"] for r in rows})


async def _restore_titles(database_url: str, titles: dict[uuid.UUID, str]) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.executemany(
            "UPDATE tasks SET title = $2 WHERE id = $1", list(titles.items())
        )
    finally:
        await connection.close()


def title_tag(build: str, round_number: int) -> str:
    """Five characters, so that every title (and answer) of every run has the same length."""
    return f"{build:_>3}{round_number:02d}"


def write_spec(path: Path, tag: str, task_ids: list[str]) -> None:
    template = orjson.dumps(
        {"query": MUTATION, "variables": {"id": "__ID__", "title": "__TITLE__"}}
    ).decode()
    lines = [f"tag {tag}", *(f"id {task_id}" for task_id in task_ids), f"body {template}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_AUDIT_LINE = re.compile(r"^AUDIT_APPEND (\{.*\})$", re.MULTILINE)


def audit_build(server: harness.Server) -> str:
    """What bench/policy_server.py says its audit log appends with (printed before serving)."""
    text = server.log_path.read_text(encoding="utf-8", errors="replace")
    match = _AUDIT_LINE.search(text)
    if match is None:
        raise harness.BenchError(f"{server.name}: no AUDIT_APPEND line in its log")
    found: str = json.loads(match.group(1))["append"]
    return found


_GC_LINE = re.compile(r"^GC_STATS (\{.*\})$", re.MULTILINE)


def gc_snapshot(server: harness.Server, timeout: float = 10.0) -> dict[str, list[float]] | None:
    """The server's garbage-collector totals (`--gc-stats`: it prints them on SIGUSR1)."""

    def lines() -> list[str]:
        text = server.log_path.read_text(encoding="utf-8", errors="replace")
        return _GC_LINE.findall(text)

    seen = len(lines())
    os.kill(server.process.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = lines()
        if len(found) > seen:
            snapshot: dict[str, list[float]] = json.loads(found[-1])
            return snapshot
        time.sleep(0.02)
    return None


@dataclass
class Prepared:
    """One operation's request: the body (or mutate.lua's spec) and the answer's length."""

    operation: str
    expected_bytes: int
    body_file: Path | None  # list page
    task_ids: list[str]  # mutations
    events_per_request: int  # what the on build appends per request (in one transaction)


def check_builds(
    args: argparse.Namespace,
    servers: dict[str, harness.Server],
    token: str,
    tenant_id: uuid.UUID,
    tasks: MutatedTasks,
    work_dir: Path,
) -> tuple[dict[str, Prepared], dict[str, Any]]:
    """Each build answers each operation alike; *on* appends one event per request, *off*
    none (the demo tenant's events, checkpoints and head counted around each request)."""
    database_url = f"{args.postgres}/{args.database}"
    graphql = {build: f"{server.base_url}/graphql" for build, server in servers.items()}
    prepared: dict[str, Prepared] = {}
    sanity: dict[str, Any] = {}
    with httpx.Client(timeout=30.0) as client:
        for name in args.operations:
            operation = OPERATIONS[name]
            answers: dict[str, bytes] = {}
            written: dict[str, dict[str, int]] = {}
            ids = [relay_id("Task", task_id) for task_id in tasks.ids[: operation.tasks]]
            for build in BUILDS:
                if operation.tasks:
                    title = f"bench {title_tag(build, 0)} {0:08d}"
                    body = orjson.dumps(
                        {"query": MUTATION, "variables": {"id": ids[0], "title": title}}
                    )
                else:
                    body = orjson.dumps({"query": harness.LIST_QUERY})
                before = audit_counts(database_url, tenant_id)
                answers[build] = harness._post(client, graphql[build], body, token)
                after = audit_counts(database_url, tenant_id)
                written[build] = {key: after[key] - before[key] for key in after}
                written[build]["transactions"] = asyncio.run(
                    _transactions_since(database_url, tenant_id, before["head"])
                )
                payload = harness._check_graphql(f"{operation.label} ({build})", answers[build])
                if operation.tasks:
                    saved = payload["data"]["updateTask"]["task"]
                    if saved["id"] != ids[0] or saved["title"] != title:
                        raise harness.BenchError(f"{build}: updateTask answered {saved}")
            if len(answers["on"]) != len(answers["off"]):
                raise harness.BenchError(f"{operation.label}: the builds' answers differ in length")
            if not operation.tasks and answers["on"] != answers["off"]:
                raise harness.BenchError("the list page: the builds' answers differ")
            # A read writes one event per organization whose rows it crossed into (the list
            # page: one per partner), all in one transaction; a mutation one event.
            on = written["on"]
            if on["events"] < 1 or on["head"] != on["events"] or on["transactions"] != 1:
                raise harness.BenchError(
                    f"{operation.label}: the on build wrote {on}, not events in one transaction"
                )
            if operation.tasks and on["events"] != 1:
                raise harness.BenchError(f"{operation.label}: {on['events']} events, not one")
            if any(written["off"].values()):
                raise harness.BenchError(
                    f"{operation.label}: the off build wrote audit rows: {written['off']}"
                )
            print(
                f"  {operation.label}: {len(answers['on'])} bytes from both builds; audit rows "
                f"written by one request: on {written['on']}, off {written['off']}",
                flush=True,
            )
            sanity[name] = {"response_bytes": len(answers["on"]), "written": written}
            events = on["events"]
            if operation.tasks:
                prepared[name] = Prepared(name, len(answers["on"]), None, ids, events)
            else:
                body_file = work_dir / "list-page.json"
                body_file.write_bytes(orjson.dumps({"query": harness.LIST_QUERY}))
                prepared[name] = Prepared(name, len(answers["on"]), body_file, [], events)
    return prepared, sanity


# --- 2. HTTP: measuring -------------------------------------------------------------------------


@dataclass
class Measured:
    operation: str
    build: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    server_cpu_ms_per_request: float | None
    database_cpu_ms_per_request: float | None
    events_written: int
    events_per_request: float | None
    checkpoints_written: int
    # The garbage collector's time per request, and its collections per generation.
    gc_ms_per_request: float | None
    gc_collections: list[int] | None
    busy_cores_before: float | None
    other_load_cores: float | None
    activity: dict[str, Any]
    load_average_before: float
    problems: list[str]
    raw_output: str = field(repr=False)

    @property
    def total_cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_ms_per_request is None or self.database_cpu_ms_per_request is None:
            return None
        return self.server_cpu_ms_per_request + self.database_cpu_ms_per_request


def measure_once(
    args: argparse.Namespace,
    wrk: str,
    server: harness.Server,
    build: str,
    prepared: Prepared,
    token: str,
    tenant_id: uuid.UUID,
    work_dir: Path,
    duration: int,
    round_number: int,
) -> Measured:
    database_url = f"{args.postgres}/{args.database}"
    if prepared.body_file is not None:
        body_file, script = prepared.body_file, harness.LUA_SCRIPT
    else:
        body_file = work_dir / f"{prepared.operation}-{build}-{round_number}.spec"
        write_spec(body_file, title_tag(build, round_number), prepared.task_ids)
        script = MUTATE_SCRIPT
    label = "warm-up " if round_number == 0 else f"round {round_number} "
    quiet = wait_quiet(args.quiet_wait) if round_number else None
    before = audit_counts(database_url, tenant_id)
    gc_before = gc_snapshot(server)
    load = os.getloadavg()[0]
    server_cpu = harness.process_cpu_seconds(server.process.pid)
    database_cpu = harness.backend_cpu_seconds(args.database)
    with (
        OtherLoad(server.process.pid, args.database) as others,
        ActivitySampler(args.postgres, args.database) as sampler,
    ):
        run = harness.run_wrk(
            wrk,
            name=f"{label}{prepared.operation} {build}",
            server=build,
            operation=prepared.operation,
            url=f"{server.base_url}/graphql",
            body_file=body_file,
            expected_bytes=prepared.expected_bytes,
            token=token,
            duration=duration,
            connections=args.connections,
            script=script,
        )
    server_ms = database_ms = None
    if run.requests:
        server_used = harness.process_cpu_seconds(server.process.pid) - server_cpu
        database_used = harness._cpu_delta(database_cpu, harness.backend_cpu_seconds(args.database))
        server_ms = server_used * 1000 / run.requests
        database_ms = database_used * 1000 / run.requests
    gc_after = gc_snapshot(server)
    gc_ms = gc_collections = None
    if gc_before and gc_after and run.requests:
        spent = sum(gc_after["seconds"]) - sum(gc_before["seconds"])
        gc_ms = spent * 1000 / run.requests
        gc_collections = [
            int(a - b)
            for a, b in zip(gc_after["collections"], gc_before["collections"], strict=True)
        ]
    time.sleep(0.5)  # requests wrk left in flight finish (and write their events)
    after = audit_counts(database_url, tenant_id)
    events = after["events"] - before["events"]
    return Measured(
        operation=prepared.operation,
        build=build,
        round=round_number,
        requests_per_s=run.requests_per_s,
        p50_ms=run.latency_ms["p50"],
        p99_ms=run.latency_ms["p99"],
        requests=run.requests,
        server_cpu_ms_per_request=server_ms,
        database_cpu_ms_per_request=database_ms,
        events_written=events,
        events_per_request=events / run.requests if run.requests else None,
        checkpoints_written=after["checkpoints"] - before["checkpoints"],
        gc_ms_per_request=gc_ms,
        gc_collections=gc_collections,
        busy_cores_before=quiet,
        other_load_cores=others.cores,
        activity=sampler.summary(),
        load_average_before=load,
        problems=run.problems(warmup=round_number == 0),
        raw_output=run.raw_output,
    )


def cost(on: float, off: float) -> float:
    """The share of the off build's throughput that appending costs (positive: slower)."""
    return 1 - on / off


def summarise(runs: list[Measured], operation: str) -> dict[str, Any]:
    mine = [m for m in runs if m.operation == operation]
    by_key = {(m.build, m.round): m for m in mine}
    per_round = []
    for number in sorted({m.round for m in mine}):
        on, off = by_key[("on", number)], by_key[("off", number)]
        entry: dict[str, Any] = {
            "round": number,
            "throughput_cost": cost(on.requests_per_s, off.requests_per_s),
        }
        if on.server_cpu_ms_per_request and off.server_cpu_ms_per_request:
            entry["app_cpu_ms_per_request_added"] = (
                on.server_cpu_ms_per_request - off.server_cpu_ms_per_request
            )
        if on.gc_ms_per_request is not None and off.gc_ms_per_request is not None:
            entry["gc_ms_per_request_added"] = on.gc_ms_per_request - off.gc_ms_per_request
        if on.total_cpu_ms_per_request and off.total_cpu_ms_per_request:
            entry["total_cpu_ms_per_request_added"] = (
                on.total_cpu_ms_per_request - off.total_cpu_ms_per_request
            )
            entry["total_cpu_per_request_increase"] = (
                on.total_cpu_ms_per_request / off.total_cpu_ms_per_request - 1
            )
        per_round.append(entry)

    def median_of(key: str) -> float | None:
        values = [e[key] for e in per_round if key in e]
        return statistics.median(values) if values else None

    pooled = {}
    for build in BUILDS:
        built = [m for m in mine if m.build == build and m.requests_per_s]
        pooled[build] = sum(m.requests for m in built) / sum(
            m.requests / m.requests_per_s for m in built
        )
    medians = {
        build: {
            key: statistics.median(getattr(m, key) for m in mine if m.build == build)
            for key in ("requests_per_s", "p50_ms", "p99_ms")
        }
        for build in BUILDS
    }
    found: dict[str, Any] = {
        "per_round": per_round,
        "median_throughput_cost": median_of("throughput_cost"),
        "median_app_cpu_ms_per_request_added": median_of("app_cpu_ms_per_request_added"),
        "median_total_cpu_ms_per_request_added": median_of("total_cpu_ms_per_request_added"),
        "median_gc_ms_per_request_added": median_of("gc_ms_per_request_added"),
        "median_total_cpu_per_request_increase": median_of("total_cpu_per_request_increase"),
        "medians": medians,
        "pooled_requests_per_s": pooled,
        "pooled_throughput_cost": cost(pooled["on"], pooled["off"]),
    }
    if operation == "list":
        found["target"] = READ_TARGET
        found["target_met"] = found["median_throughput_cost"] < READ_TARGET
    return found


# --- report -------------------------------------------------------------------------------------


def _optional(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def print_profile(profiled: dict[str, Any]) -> None:
    built = profiled["cpu_ms_per_append_as_built"]
    unchecked = profiled["cpu_ms_per_append_without_written_tenant_check"]
    print(
        f"  CPU per single-event append, unprofiled, {profiled['appends']} appends x 3 "
        f"alternately: as built {', '.join(f'{v:.2f}' for v in built)} ms (median "
        f"{statistics.median(built):.2f}); without the tenant hook's check of written "
        f"statements {', '.join(f'{v:.2f}' for v in unchecked)} ms (median "
        f"{statistics.median(unchecked):.2f})"
    )
    print(
        f"  {profiled['appends']} single-event appends under cProfile: "
        f"{profiled['profiled_cpu_ms_per_append']:.2f} ms CPU each (profiled); cumulative CPU "
        "ms per append:"
    )
    whole = profiled["ms_per_append"]["whole transaction (begin .. commit)"] or 1.0
    for label, ms in profiled["ms_per_append"].items():
        print(f"    {label:<46} {ms:6.2f} ms  {ms / whole:6.1%}")


def print_append(runs: list[AppendRun]) -> None:
    print()
    print(
        f"{'writers':>7} {'batch':>5} {'events/s':>10} {'txn/s':>8} {'txn p50 ms':>10} "
        f"{'txn p99 ms':>10} {'checkpoints':>11} {'app CPU µs/ev':>13} {'db CPU µs/ev':>12} "
        f"{'lock waits':>10} {'others':>6}"
    )
    print("-" * 114)
    for run in runs:
        waits = run.activity.get("lock_waiting_mean")
        print(
            f"{run.writers:>7} {run.batch:>5} {run.events_per_s:>10,.0f} "
            f"{run.transactions_per_s:>8,.0f} {run.transaction_ms['p50']:>10.2f} "
            f"{run.transaction_ms['p99']:>10.2f} {run.checkpoints:>11} "
            f"{run.app_cpu_ms_per_event * 1000:>13.0f} "
            f"{run.database_cpu_ms_per_event * 1000:>12.0f} {_optional(waits):>10} "
            f"{_optional(run.other_load_cores):>6}"
        )


def print_http(runs: list[Measured], summaries: dict[str, dict[str, Any]]) -> None:
    print()
    print(
        f"{'round':>5} {'operation':<12} {'build':<5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'app CPU ms/req':>14} {'db CPU ms/req':>13} {'GC ms/req':>9} {'events/req':>10} "
        f"{'lock waits':>10} {'others':>6}"
    )
    print("-" * 123)
    for m in sorted(runs, key=lambda m: (m.round, m.operation, BUILDS.index(m.build))):
        print(
            f"{m.round:>5} {m.operation:<12} {m.build:<5} {m.requests_per_s:>8.1f} "
            f"{m.p50_ms:>8.1f} {m.p99_ms:>8.1f} {_optional(m.server_cpu_ms_per_request):>14} "
            f"{_optional(m.database_cpu_ms_per_request):>13} "
            f"{_optional(m.gc_ms_per_request):>9} "
            f"{_optional(m.events_per_request, 3):>10} "
            f"{_optional(m.activity.get('lock_waiting_mean')):>10} "
            f"{_optional(m.other_load_cores):>6}"
        )
    print()
    for operation, summary in summaries.items():
        rounds = ", ".join(f"{e['throughput_cost']:+.1%}" for e in summary["per_round"])
        pooled = summary["pooled_requests_per_s"]
        added = summary["median_total_cpu_ms_per_request_added"]
        app = summary["median_app_cpu_ms_per_request_added"]
        collecting = summary["median_gc_ms_per_request_added"]
        print(
            f"{OPERATIONS[operation].label}: appending costs {rounds} of throughput, median "
            f"{summary['median_throughput_cost']:+.1%} (pooled: on {pooled['on']:.1f} req/s, off "
            f"{pooled['off']:.1f}, {summary['pooled_throughput_cost']:+.1%}); median CPU per "
            f"request added: app + db {_signed(added)} ms, app {_signed(app)} ms, of which the "
            f"garbage collector {_signed(collecting)} ms"
        )
        if "target" in summary:
            print(
                f"  read target: under {summary['target']:.0%}: "
                f"{'met' if summary['target_met'] else 'NOT met'}",
                flush=True,
            )


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    # Ctrl-C and SIGTERM both stop the servers (even when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, harness._raise_interrupt)
    wrk = harness.ensure_wrk() if not args.skip_http else ""
    database_url = f"{args.postgres}/{args.database}"

    with tempfile.TemporaryDirectory(prefix="membrane-bench-audit-") as work:
        work_dir = Path(work)
        keys_dir = work_dir / "keys"
        env = {
            **os.environ,
            "MEMBRANE_ENV": "development",
            "MEMBRANE_DEV_MODE": "true",
            "MEMBRANE_DATABASE_URL": database_url,
            "MEMBRANE_KEYS_DIR": str(keys_dir),
            "MEMBRANE_SQL_ECHO": "false",
            "MEMBRANE_AUDIT_CHECKPOINT_EVERY": str(args.checkpoint_every),
            "MEMBRANE_AUDIT_CHECKPOINT_SECONDS": str(args.checkpoint_seconds),
        }
        asyncio.run(harness._ensure_database(args.postgres, args.database))
        policy_bench.membrane_cli(env, "db", "upgrade")  # what `membrane serve` does first
        seeded = harness.prepare_database(args, database_url, env)
        if asyncio.run(_tenant_id(database_url, APPEND_TENANT)) is None:
            print(f"creating the tenant {APPEND_TENANT}", flush=True)
            policy_bench.membrane_cli(
                env, "tenants", "create", APPEND_TENANT, "--name", "audit append benchmark"
            )
        append_tenant = asyncio.run(_tenant_id(database_url, APPEND_TENANT))
        demo_tenant = asyncio.run(_tenant_id(database_url, harness.TENANT))
        if append_tenant is None or demo_tenant is None:
            raise harness.BenchError(f"no tenant {APPEND_TENANT} or {harness.TENANT}")
        if args.clear_audit:
            print("deleting the demo and audit-bench tenants' audit rows", flush=True)
            asyncio.run(_clear_audit(database_url, [demo_tenant, append_tenant]))
        token = policy_bench.mint_token(env, VIEWER)  # creates the token signing keys
        # The audit signing key, made once here: the servers (and this process) load it
        # instead of each making its own at start-up.
        public_keys = audit_keys.load_or_create(audit_keys.audit_keys_dir(keys_dir)).jwks()

        failures: list[str] = []
        results: dict[str, Any] = {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([".venv/bin/python", "bench/audit.py", *sys.argv[1:]]),
            "config": {
                "rounds": args.rounds,
                "duration_s": args.duration,
                "connections": args.connections,
                "wrk_threads": 1,
                "warmup_s": args.warmup,
                "operations": args.operations,
                "append_duration_s": args.append_duration,
                "writers": args.writers,
                "batches": args.batches,
                "checkpoint_every": args.checkpoint_every,
                "checkpoint_seconds": args.checkpoint_seconds,
                "scale": args.scale,
                "database": args.database,
                "reseeded": seeded,
                "viewer": VIEWER,
            },
            "environment": {
                **harness.environment(database_url, wrk),
                **working_tree(),
            },
        }

        if not args.skip_append:
            print(f"append throughput (tenant {APPEND_TENANT})", flush=True)
            append_runs = append_benchmark(args, append_tenant, keys_dir)
            print_append(append_runs)
            chain = verify_chain(database_url, append_tenant, public_keys)
            print(f"\n{APPEND_TENANT} chain: {_chain_line(chain)}", flush=True)
            failures += [f"{APPEND_TENANT} chain: {problem}" for problem in chain["problems"]]
            results["append"] = {
                "profile": getattr(args, "profiled", None),
                "tenant": APPEND_TENANT,
                "event": "updateTask-shaped, about 220 bytes of details",
                "runs": [asdict(run) for run in append_runs],
                "chain": chain,
            }

        if not args.skip_http:
            http = http_benchmark(args, wrk, env, token, demo_tenant, work_dir, failures)
            results["http"] = http
            chain = verify_chain(database_url, demo_tenant, public_keys)
            print(f"\n{harness.TENANT} chain: {_chain_line(chain)}", flush=True)
            failures += [f"{harness.TENANT} chain: {problem}" for problem in chain["problems"]]
            results["http"]["chain"] = chain

        results["ok"] = not failures
        results["failures"] = failures
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nraw results: {args.output}")
        if failures:
            print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
            return 1
        return 0


def working_tree() -> dict[str, Any]:
    """What of membrane/ differs from the commit measured: a digest of `git diff HEAD` and
    the untracked files (read without touching the index)."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=harness.ROOT,
            capture_output=True,
            check=False,
            timeout=30,
        )
        return done.stdout.decode(errors="replace") if done.returncode == 0 else ""

    diff = git("diff", "HEAD", "--", "membrane")
    changed = git("diff", "HEAD", "--stat", "--", "membrane").strip().splitlines()
    untracked = git("ls-files", "--others", "--exclude-standard", "--", "membrane").split()
    return {
        "membrane_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
        "membrane_changed": changed[:-1],
        "membrane_untracked": untracked,
    }


def _chain_line(chain: dict[str, Any]) -> str:
    return (
        f"{chain['events']} events, seq {chain['first_seq']}..{chain['last_seq']} "
        f"(span {chain['span']}, {chain['distinct_seq']} distinct), {chain['broken_links']} "
        f"broken links, head at {chain['head_seq']}, {chain['checkpoints']} checkpoints; "
        f"rehashed the newest {chain['rehashed_events']} events and verified "
        f"{chain['verified_signatures']} signatures: "
        + ("ok" if not chain["problems"] else "; ".join(chain["problems"]))
    )


def http_benchmark(
    args: argparse.Namespace,
    wrk: str,
    env: dict[str, str],
    token: str,
    tenant_id: uuid.UUID,
    work_dir: Path,
    failures: list[str],
) -> dict[str, Any]:
    database_url = f"{args.postgres}/{args.database}"
    tasks = asyncio.run(_mutated_tasks(database_url, MANY_TASKS))
    try:
        with contextlib.ExitStack() as stack:
            servers = {
                build: stack.enter_context(
                    harness.running(
                        f"audit-{build}",
                        [sys.executable, str(SERVER_SCRIPT), "--audit", build, "--gc-stats"],
                        env,
                        work_dir,
                    )
                )
                for build in BUILDS
            }
            try:
                return measure_http(args, wrk, servers, token, tenant_id, tasks, work_dir, failures)
            except BaseException:
                for server in servers.values():
                    tail = server.log_tail(20)
                    if tail:
                        print(f"--- last lines of the {server.name} log ---\n{tail}")
                raise
    finally:
        asyncio.run(_restore_titles(database_url, tasks.titles))
        print(f"  restored the titles of the {len(tasks.titles)} updated tasks", flush=True)


def measure_http(
    args: argparse.Namespace,
    wrk: str,
    servers: dict[str, harness.Server],
    token: str,
    tenant_id: uuid.UUID,
    tasks: MutatedTasks,
    work_dir: Path,
    failures: list[str],
) -> dict[str, Any]:
    for server in servers.values():
        harness.wait_healthy(server)
    appends = {build: audit_build(server) for build, server in servers.items()}
    print(f"  AuditLog.append in use: {appends}", flush=True)
    if any(appends[build] != build for build in BUILDS):
        raise harness.BenchError(f"the servers do not append as their builds should: {appends}")
    print("checking the builds", flush=True)
    prepared, sanity = check_builds(args, servers, token, tenant_id, tasks, work_dir)

    def once(operation: str, build: str, duration: int, number: int) -> Measured:
        return measure_once(
            args,
            wrk,
            servers[build],
            build,
            prepared[operation],
            token,
            tenant_id,
            work_dir,
            duration,
            number,
        )

    warmups: list[Measured] = []
    if args.warmup:
        print("warming up", flush=True)
        for operation in args.operations:
            for build in BUILDS:
                run = once(operation, build, args.warmup, 0)
                warmups.append(run)
                failures += [f"warm-up {operation} {build}: {p}" for p in run.problems]
    runs: list[Measured] = []
    for number in range(1, args.rounds + 1):
        print(f"round {number} of {args.rounds}", flush=True)
        # Each round starts with the other build: on first in odd rounds.
        order = list(BUILDS) if number % 2 else list(reversed(BUILDS))
        for operation in args.operations:
            for build in order:
                run = once(operation, build, args.duration, number)
                runs.append(run)
                failures += [f"round {number} {operation} {build}: {p}" for p in run.problems]
                # Requests wrk left in flight at the end may add one batch each.
                expected = prepared[operation].events_per_request if build == "on" else 0
                if run.requests and not (
                    expected * run.requests
                    <= run.events_written
                    <= expected * (run.requests + args.connections)
                ):
                    failures.append(
                        f"round {number} {operation} {build}: {run.events_written} events for "
                        f"{run.requests} requests"
                    )
    for build, server in servers.items():
        if server.process.poll() is not None:
            failures.append(f"{build} exited during the benchmark")
    memory = {build: server.memory_kib() for build, server in servers.items()}
    summaries = {operation: summarise(runs, operation) for operation in args.operations}
    print_http(runs, summaries)
    return {
        "documents": {"list": harness.LIST_QUERY, "mutation": MUTATION},
        "mutated_tasks": [str(task_id) for task_id in tasks.ids],
        "sanity": sanity,
        "summary": summaries,
        "runs": [asdict(run) for run in runs],
        "warmups": [asdict(run) for run in warmups],
        "memory_kib": memory,
    }


if __name__ == "__main__":
    harness.run_main(main)
