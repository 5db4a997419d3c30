"""Cost of field-level authorisation: the reference list page, with the policied fields in
it, served with the run-time policy checks and without them, in alternating rounds.

    .venv/bin/python bench/policies.py [--rounds 3] [--duration 15] [--connections 16]
                                       [--diagnose]

Prepares the database and the demo seed like bench/run.py (the same `membrane_bench`
database at `--scale 67`), then starts two servers with bench/policy_server.py: *checked*
(the normal build) and *unchecked* (`--checks none`: every field built without its
PermissionExtension, production code unchanged). Before measuring it checks that

- the unchecked build really checks nothing: a host user who is neither FINANCE nor a lead
  (chloe) reads `budgetCents` as a number there, and as null with a FORBIDDEN error from
  the checked build;
- every build answers the benchmarked page for the viewer (alice, host ADMIN and LEAD of
  every engagement, who passes every check) without errors, with every policied value
  present, and byte for byte the same.

Then it warms the servers up and measures them with wrk in rounds, each round starting one
build later (with two builds: checked first in odd rounds, unchecked first in even ones),
and reports per round requests/s, p50/p99 latency, CPU per request and the throughput the
checks cost. `--diagnose` adds two builds that keep the PermissionExtension on the same
fields but allow everyone without evaluating the policy, one with a plain `def` permission
(`sync-allow`) and one with an `async def` one (`async-allow`): they separate the cost of
the extension, of resolving the fields asynchronously, and of the policies themselves.
Results: bench/results/policies.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import run as harness

SERVER_SCRIPT = harness.BENCH_DIR / "policy_server.py"
VIEWER = harness.VIEWER  # alice: host ADMIN, LEAD of every engagement
# A host member who is neither FINANCE nor LEAD of any engagement: budgetCents is refused.
NOT_ALLOWED = "chloe@northwind.example"
# Build name -> `bench/policy_server.py --checks` value.
BUILDS = {"checked": "policies", "unchecked": "none"}
DIAGNOSTIC_BUILDS = {"sync-allow": "sync-allow", "async-allow": "async-allow"}
BASELINE = "unchecked"
TARGET = 0.15  # the checks may cost at most this share of the unchecked throughput

# The reference list page plus every policied field a host can read on it: per engagement
# budgetCents, per task internalNotes and costCents, per assignee email. For the viewer,
# budgetCents, internalNotes and costCents each ask the viewer's role in the row's engagement
# (one DataLoader batch per request); email is decided by the principal (host ADMIN).
LIST_QUERY = (
    "query PoliciedListPage { engagements(first: 20) { edges { node { id name budgetCents "
    "tasks(first: 10, zone: SHARED) { edges { node { id title status internalNotes costCents "
    "assignee { displayName email organization { name } } } } } } } } }"
)
SANITY_QUERY = "query Budget { engagements(first: 1) { edges { node { name budgetCents } } } }"


def parse_args() -> argparse.Namespace:
    bounded = harness._bounded
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=bounded(1, 20), default=3, help="rounds per build")
    parser.add_argument(
        "--duration", type=bounded(1, 300), default=15, help="seconds per measured run"
    )
    # 16, as bench/tenants.py: with 32 the checked build's slowest answers reach wrk's 10 s
    # timeout on this 2-core machine.
    parser.add_argument("--connections", type=bounded(1, 1024), default=16, help="wrk connections")
    parser.add_argument("--scale", type=bounded(1, 500), default=67, help="`membrane demo --scale`")
    parser.add_argument(
        "--warmup", type=bounded(0, 60), default=3, help="seconds of load per warm-up run"
    )
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
        "--diagnose",
        action="store_true",
        help="also measure the sync-allow and async-allow stand-in builds",
    )
    parser.add_argument(
        "--output", type=Path, default=harness.RESULTS_DIR / "policies.json", help="results file"
    )
    return parser.parse_args()


# --- preparation --------------------------------------------------------------------------------


def membrane_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(harness.VENV_BIN / "membrane"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise harness.BenchError(
            f"membrane {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-4000:]}"
        )
    return done.stdout.strip()


def mint_token(env: dict[str, str], user: str) -> str:
    return membrane_cli(env, "token", "--tenant", harness.TENANT, "--user", user)


_EXTENSIONS_LINE = re.compile(r"^POLICY_EXTENSIONS (\{.*\})$", re.MULTILINE)


def extension_counts(server: harness.Server) -> dict[str, Any]:
    """What bench/policy_server.py found in its schemas (printed before it serves)."""
    match = _EXTENSIONS_LINE.search(server.log_path.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        raise harness.BenchError(f"{server.name}: no POLICY_EXTENSIONS line in its log")
    counts: dict[str, Any] = json.loads(match.group(1))
    return counts


# --- checks before measuring --------------------------------------------------------------------


def sanity(servers: dict[str, harness.Server], token: str) -> dict[str, Any]:
    """chloe's budgetCents: refused by the checked build, a number from every other one."""
    body = orjson.dumps({"query": SANITY_QUERY})
    found: dict[str, Any] = {}
    with httpx.Client(timeout=30.0) as client:
        for build, server in servers.items():
            raw = harness._post(client, f"{server.base_url}/graphql", body, token)
            payload = orjson.loads(raw)
            budget = payload["data"]["engagements"]["edges"][0]["node"]["budgetCents"]
            codes = sorted(
                {
                    error.get("extensions", {}).get("code", "?")
                    for error in payload.get("errors", [])
                }
            )
            found[build] = {"budgetCents": budget, "error_codes": codes}
    print(
        f"  sanity ({NOT_ALLOWED}, host, not FINANCE, not a lead): budgetCents "
        + ", ".join(
            f"{build} = {answer['budgetCents']} {answer['error_codes']}"
            for build, answer in found.items()
        ),
        flush=True,
    )
    for build, answer in found.items():
        if build == "checked":
            if answer["budgetCents"] is not None or answer["error_codes"] != ["FORBIDDEN"]:
                raise harness.BenchError("the checked build did not refuse budgetCents")
        elif answer["budgetCents"] is None or answer["error_codes"]:
            raise harness.BenchError(f"the {build} build still checks budgetCents")
    return found


def policied_values(page: dict[str, Any]) -> dict[str, int]:
    """How many policied values the page holds (non-null), per field."""
    counts = {"budgetCents": 0, "internalNotes": 0, "costCents": 0, "email": 0, "tasks": 0}
    for edge in page["engagements"]["edges"]:
        node = edge["node"]
        counts["budgetCents"] += node["budgetCents"] is not None
        for task_edge in node["tasks"]["edges"]:
            task = task_edge["node"]
            counts["tasks"] += 1
            counts["internalNotes"] += task["internalNotes"] is not None
            counts["costCents"] += task["costCents"] is not None
            counts["email"] += bool(task["assignee"] and task["assignee"]["email"] is not None)
    return counts


def check_page(servers: dict[str, harness.Server], body: bytes, token: str) -> bytes:
    """Every build answers the page without errors, full, and with the same bytes."""
    answers: dict[str, bytes] = {}
    with httpx.Client(timeout=30.0) as client:
        for build, server in servers.items():
            answers[build] = harness._post(client, f"{server.base_url}/graphql", body, token)
    page = harness._check_graphql("the policied list page", answers["checked"])["data"]
    counts = policied_values(page)
    engagements = len(page["engagements"]["edges"])
    if engagements != 20 or counts["tasks"] != 200:
        raise harness.BenchError(f"the page is not full: {engagements} engagements, {counts}")
    if any(counts[name] != counts["tasks"] for name in ("internalNotes", "costCents", "email")):
        raise harness.BenchError(f"some policied task fields are null: {counts}")
    if counts["budgetCents"] != engagements:
        raise harness.BenchError(f"some budgets are null: {counts}")
    differing = [build for build, answer in answers.items() if answer != answers["checked"]]
    if differing:
        raise harness.BenchError(f"{differing} answer the page unlike the checked build")
    print(
        f"  page: {len(answers['checked'])} bytes, identical from every build; "
        f"{engagements} budgets, {counts['tasks']} x (internalNotes, costCents, email) "
        f"= {engagements + 3 * counts['tasks']} checked fields per request",
        flush=True,
    )
    return answers["checked"]


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Measured:
    build: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    server_cpu_ms_per_request: float | None
    database_cpu_ms_per_request: float | None
    load_average_before: float
    problems: list[str]
    raw_output: str


def measure_once(
    args: argparse.Namespace,
    wrk: str,
    server: harness.Server,
    build: str,
    body_file: Path,
    expected_bytes: int,
    token: str,
    duration: int,
    label: str,
    round_number: int,
) -> Measured:
    load = os.getloadavg()[0]
    server_cpu = harness.process_cpu_seconds(server.process.pid)
    database_cpu = harness.backend_cpu_seconds(args.database)
    run = harness.run_wrk(
        wrk,
        name=f"{label}{build}",
        server=build,
        operation="policied list page",
        url=f"{server.base_url}/graphql",
        body_file=body_file,
        expected_bytes=expected_bytes,
        token=token,
        duration=duration,
        connections=args.connections,
    )
    server_ms = database_ms = None
    if run.requests:
        server_used = harness.process_cpu_seconds(server.process.pid) - server_cpu
        database_used = harness._cpu_delta(database_cpu, harness.backend_cpu_seconds(args.database))
        server_ms = server_used * 1000 / run.requests
        database_ms = database_used * 1000 / run.requests
    return Measured(
        build=build,
        round=round_number,
        requests_per_s=run.requests_per_s,
        p50_ms=run.latency_ms["p50"],
        p99_ms=run.latency_ms["p99"],
        requests=run.requests,
        server_cpu_ms_per_request=server_ms,
        database_cpu_ms_per_request=database_ms,
        load_average_before=load,
        problems=run.problems(warmup=round_number == 0),
        raw_output=run.raw_output,
    )


def cost(checked: float, unchecked: float) -> float:
    """The share of the unchecked build's throughput the checks cost (positive: slower)."""
    return 1 - checked / unchecked


def compare(runs: list[Measured], build: str) -> dict[str, Any]:
    """A build against the unchecked one, round by round (same round, same conditions)."""
    by_key = {(m.build, m.round): m for m in runs}
    per_round = []
    for number in sorted({m.round for m in runs}):
        measured, baseline = by_key[(build, number)], by_key[(BASELINE, number)]
        entry: dict[str, Any] = {
            "round": number,
            "throughput_cost": cost(measured.requests_per_s, baseline.requests_per_s),
        }
        if measured.server_cpu_ms_per_request and baseline.server_cpu_ms_per_request:
            entry["cpu_per_request_increase"] = (
                measured.server_cpu_ms_per_request / baseline.server_cpu_ms_per_request - 1
            )
        per_round.append(entry)
    cpu_increases = [
        e["cpu_per_request_increase"] for e in per_round if "cpu_per_request_increase" in e
    ]
    return {
        "per_round": per_round,
        "median_throughput_cost": statistics.median(e["throughput_cost"] for e in per_round),
        "median_cpu_per_request_increase": statistics.median(cpu_increases)
        if cpu_increases
        else None,
    }


def pooled_requests_per_s(runs: list[Measured], build: str) -> float:
    """All of a build's requests over all of its measured time."""
    mine = [m for m in runs if m.build == build and m.requests_per_s]
    return sum(m.requests for m in mine) / sum(m.requests / m.requests_per_s for m in mine)


def summarise(runs: list[Measured], builds: list[str]) -> dict[str, Any]:
    pooled = {build: pooled_requests_per_s(runs, build) for build in builds}
    against = {build: compare(runs, build) for build in builds if build != BASELINE}
    median_cost = against["checked"]["median_throughput_cost"]
    return {
        **against["checked"],
        "pooled_requests_per_s": pooled,
        "pooled_throughput_cost": cost(pooled["checked"], pooled[BASELINE]),
        "target": TARGET,
        "target_met": median_cost < TARGET,
        "against_unchecked": against,
    }


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(runs: list[Measured], summary: dict[str, Any], builds: list[str]) -> None:
    print()
    print(
        f"{'round':>5} {'build':<12} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'app CPU ms/req':>15} {'db CPU ms/req':>14} {'load':>5}"
    )
    print("-" * 82)
    for m in sorted(runs, key=lambda m: (m.round, builds.index(m.build))):
        print(
            f"{m.round:>5} {m.build:<12} {m.requests_per_s:>8.1f} {m.p50_ms:>8.1f} "
            f"{m.p99_ms:>8.1f} {_optional(m.server_cpu_ms_per_request):>15} "
            f"{_optional(m.database_cpu_ms_per_request):>14} {m.load_average_before:>5.2f}"
        )
    print()
    for entry in summary["per_round"]:
        cpu = entry.get("cpu_per_request_increase")
        print(
            f"round {entry['round']}: the checks cost {entry['throughput_cost']:+.1%} of "
            f"throughput" + ("" if cpu is None else f", {cpu:+.1%} app CPU per request")
        )
    pooled = summary["pooled_requests_per_s"]
    print(
        f"median: {summary['median_throughput_cost']:+.1%} of throughput "
        f"(pooled over all rounds: checked {pooled['checked']:.1f} req/s, unchecked "
        f"{pooled['unchecked']:.1f}, {summary['pooled_throughput_cost']:+.1%})"
    )
    print(
        f"target: under {TARGET:.0%}: {'met' if summary['target_met'] else 'NOT met'}",
        flush=True,
    )
    for build, found in summary["against_unchecked"].items():
        if build == "checked":
            continue
        cpu = found["median_cpu_per_request_increase"]
        print(
            f"{build}: median {found['median_throughput_cost']:+.1%} of throughput"
            + ("" if cpu is None else f", {cpu:+.1%} app CPU per request")
            + " against unchecked"
        )


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    # Ctrl-C and SIGTERM both stop the servers (even when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, harness._raise_interrupt)
    wrk = harness.ensure_wrk()
    database_url = f"{args.postgres}/{args.database}"

    with tempfile.TemporaryDirectory(prefix="membrane-bench-policies-") as work:
        work_dir = Path(work)
        env = {
            **os.environ,
            "MEMBRANE_ENV": "development",
            "MEMBRANE_DEV_MODE": "true",
            "MEMBRANE_DATABASE_URL": database_url,
            "MEMBRANE_KEYS_DIR": str(work_dir / "keys"),
            "MEMBRANE_SQL_ECHO": "false",
        }
        asyncio.run(harness._ensure_database(args.postgres, args.database))
        membrane_cli(env, "db", "upgrade")  # what `membrane serve` does before serving
        seeded = harness.prepare_database(args, database_url, env)
        token = mint_token(env, VIEWER)  # creates the signing keys the servers then load
        refused_token = mint_token(env, NOT_ALLOWED)

        builds = {**BUILDS, **(DIAGNOSTIC_BUILDS if args.diagnose else {})}
        with contextlib.ExitStack() as stack:
            servers = {
                build: stack.enter_context(
                    harness.running(
                        build,
                        [sys.executable, str(SERVER_SCRIPT), "--checks", checks],
                        env,
                        work_dir,
                    )
                )
                for build, checks in builds.items()
            }
            try:
                return measure(
                    args, wrk, servers, token, refused_token, work_dir, seeded, database_url
                )
            except BaseException:
                for server in servers.values():
                    tail = server.log_tail(20)
                    if tail:
                        print(f"--- last lines of the {server.name} log ---\n{tail}")
                raise


def measure(
    args: argparse.Namespace,
    wrk: str,
    servers: dict[str, harness.Server],
    token: str,
    refused_token: str,
    work_dir: Path,
    seeded: bool,
    database_url: str,
) -> int:
    for server in servers.values():
        harness.wait_healthy(server)
    extensions = {build: extension_counts(server) for build, server in servers.items()}
    print(
        "  fields with a PermissionExtension (host schema): "
        + ", ".join(f"{build} {found['host']}" for build, found in extensions.items()),
        flush=True,
    )
    for build, found in extensions.items():
        if build != BASELINE and found["host"] != extensions["checked"]["host"]:
            raise harness.BenchError(f"{build} has not the checked build's extensions: {found}")
    print("checking the builds", flush=True)
    sanity_found = sanity(servers, refused_token)
    body = orjson.dumps({"query": LIST_QUERY})
    response = check_page(servers, body, token)
    body_file = work_dir / "policied-list-page.json"
    body_file.write_bytes(body)

    def once(build: str, duration: int, label: str, number: int) -> Measured:
        return measure_once(
            args,
            wrk,
            servers[build],
            build,
            body_file,
            len(response),
            token,
            duration,
            label,
            number,
        )

    builds = list(servers)
    failures: list[str] = []
    warmups: list[Measured] = []
    if args.warmup:
        print("warming up", flush=True)
        for build in builds:
            run = once(build, args.warmup, "warm-up ", 0)
            warmups.append(run)
            failures += [f"warm-up {build}: {problem}" for problem in run.problems]
    runs: list[Measured] = []
    for number in range(1, args.rounds + 1):
        print(f"round {number} of {args.rounds}", flush=True)
        # Each round starts one build later: checked first in odd rounds with two builds.
        shift = (number - 1) % len(builds)
        for build in builds[shift:] + builds[:shift]:
            run = once(build, args.duration, f"round {number} ", number)
            runs.append(run)
            failures += [f"round {number} {build}: {problem}" for problem in run.problems]
    for build, server in servers.items():
        if server.process.poll() is not None:
            failures.append(f"{build} exited during the benchmark")
    memory = {build: server.memory_kib() for build, server in servers.items()}

    summary = summarise(runs, builds)
    print_report(runs, summary, builds)

    results = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "ok": not failures,
        "failures": failures,
        "command": " ".join([".venv/bin/python", "bench/policies.py", *sys.argv[1:]]),
        "config": {
            "rounds": args.rounds,
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk_threads": 1,
            "warmup_s": args.warmup,
            "scale": args.scale,
            "database": args.database,
            "reseeded": seeded,
            "viewer": VIEWER,
            "builds": {**BUILDS, **(DIAGNOSTIC_BUILDS if args.diagnose else {})},
        },
        "environment": harness.environment(database_url, wrk),
        "document": LIST_QUERY,
        "response_bytes": len(response),
        "permission_extensions": extensions,
        "sanity": {"user": NOT_ALLOWED, "query": SANITY_QUERY, **sanity_found},
        "summary": summary,
        "runs": [asdict(run) for run in runs],
        "warmups": [asdict(run) for run in warmups],
        "memory_kib": memory,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nraw results: {args.output}")

    if failures:
        print("\nFAILED:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    harness.run_main(main)
