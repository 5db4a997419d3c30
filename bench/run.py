"""Benchmark Membrane against the floor (bench/floor.py) with wrk, in one run.

    .venv/bin/python bench/run.py [--duration 15] [--connections 32] [--scale 67]

Prepares the database and the demo seed, starts `membrane serve` and the floor (one process
each, on free loopback ports), checks that both answer the two reference operations with the
same JSON, warms both up, then measures with wrk: Membrane list page, floor list page, Membrane
lookup, floor lookup. Prints a table and the Membrane/floor ratios and writes the raw results to
bench/results/latest.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import httpx
import orjson

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
LUA_SCRIPT = BENCH_DIR / "post.lua"
FLOOR_SCRIPT = BENCH_DIR / "floor.py"
VENV_BIN = Path(sys.executable).parent

HOST = "127.0.0.1"
TENANT = "demo"
VIEWER = "alice@northwind.example"

LIST_QUERY = (
    "query EngagementListPage { engagements(first: 20) { edges { node { id name "
    "tasks(first: 10, zone: SHARED) { edges { node { id title status assignee { displayName "
    "organization { name } } } } } } } } }"
)
LOOKUP_QUERY = (
    "query TaskLookup($id: ID!) { node(id: $id) { ... on Task { id title status zone "
    "assignee { displayName } } } }"
)

STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0
WRK_TIMEOUT = "10s"  # per request; a slower answer counts as a timeout error


class BenchError(RuntimeError):
    """The benchmark cannot go on, or its results are not valid."""


# --- command line -----------------------------------------------------------------------------


def _bounded(low: int, high: int) -> Any:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=_bounded(1, 300), default=15, help="seconds per measured run"
    )
    parser.add_argument("--connections", type=_bounded(1, 1024), default=32, help="wrk connections")
    parser.add_argument(
        "--scale", type=_bounded(1, 500), default=67, help="`membrane demo --scale`"
    )
    parser.add_argument(
        "--warmup", type=_bounded(0, 60), default=3, help="seconds of load per warm-up run"
    )
    parser.add_argument(
        "--postgres",
        default=f"postgresql://root@{HOST}:5432",
        help="PostgreSQL server URL, without a database name",
    )
    parser.add_argument("--database", default="membrane_bench", help="database to use")
    parser.add_argument(
        "--reseed", action="store_true", help="re-seed the demo tenant even if it looks right"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.json", help="results file"
    )
    return parser.parse_args()


# --- wrk ----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("wrk is missing: installing it with apt-get", flush=True)
    install = [*apt, "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, check=False, timeout=600).returncode != 0:
        print("apt-get install failed: running apt-get update first", flush=True)
        subprocess.run([*apt, "update"], env=env, check=True, timeout=600)
        subprocess.run(install, env=env, check=True, timeout=600)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is still missing after apt-get install")
    return found


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False, timeout=10)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def environment(database_url: str, wrk: str | None) -> dict[str, Any]:
    """The machine, PostgreSQL, wrk and commit a run measured (for its results file)."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": asyncio.run(_postgres_version(database_url)),
        "wrk": wrk_version(wrk) if wrk else None,
        **git_revision(),
    }


def run_main(main: Callable[[], int]) -> NoReturn:
    """A bench's entry point: its exit status; a failure or an interruption in one line."""
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)


@dataclass
class WrkRun:
    name: str
    server: str
    operation: str
    url: str
    duration_s: int
    connections: int
    requests: int
    requests_per_s: float
    wrk_requests_per_s: float | None
    latency_ms: dict[str, float]
    non_2xx: int
    mismatched: int
    socket_errors: dict[str, int]
    transfer_bytes: int
    raw_output: str = field(repr=False)
    # CPU time the server process and the database's backends spent, per completed request.
    server_cpu_ms_per_request: float | None = None
    database_cpu_ms_per_request: float | None = None
    load_average_before: float | None = None

    def problems(self, *, warmup: bool = False) -> list[str]:
        problems = []
        if self.non_2xx:
            problems.append(f"{self.non_2xx} non-2xx responses")
        if self.mismatched:
            problems.append(f"{self.mismatched} responses of an unexpected length")
        errors = {kind: count for kind, count in self.socket_errors.items() if count}
        if errors:
            problems.append(f"socket errors {errors}")
        if self.requests == 0 and not warmup:
            problems.append("no request completed")
        return problems


_RESULT_LINE = re.compile(r"^BENCH_RESULT (\{.*\})$", re.MULTILINE)
_WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_WRK_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def run_wrk(
    wrk: str,
    *,
    name: str,
    server: str,
    operation: str,
    url: str,
    body_file: Path,
    expected_bytes: int,
    token: str,
    duration: int,
    connections: int,
    script: Path = LUA_SCRIPT,
) -> WrkRun:
    """One wrk run with `script` (post.lua, or a script taking the same three arguments and
    printing the same BENCH_RESULT line, such as mutate.lua)."""
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(script),
        url,
        "--",
        str(body_file),
        str(expected_bytes),
        token,
    ]
    print(f"  wrk {name}: {duration}s, {connections} connections ...", flush=True)
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=duration + 60
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise BenchError(f"wrk {name} exited with {done.returncode}:\n{output}")
    match = _RESULT_LINE.search(output)
    if match is None:
        raise BenchError(f"wrk {name}: no BENCH_RESULT line in its output:\n{output}")
    result = json.loads(match.group(1))
    wrk_rps = _WRK_RPS.search(output)
    wrk_non_2xx = _WRK_NON_2XX.search(output)
    latency = result["latency_us"]
    seconds = result["duration_us"] / 1_000_000
    return WrkRun(
        name=name,
        server=server,
        operation=operation,
        url=url,
        duration_s=duration,
        connections=connections,
        requests=result["requests"],
        requests_per_s=result["requests"] / seconds if seconds else 0.0,
        wrk_requests_per_s=float(wrk_rps.group(1)) if wrk_rps else None,
        latency_ms={key: value / 1000 for key, value in latency.items()},
        # The script counts every status outside 2xx; wrk itself only counts >= 400.
        non_2xx=max(result["non_2xx"], int(wrk_non_2xx.group(1)) if wrk_non_2xx else 0),
        mismatched=result["mismatched"],
        socket_errors={
            "connect": result["connect_errors"],
            "read": result["read_errors"],
            "write": result["write_errors"],
            "timeout": result["timeouts"],
        },
        transfer_bytes=result["bytes"],
        raw_output=output,
    )


# --- database and seed ------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    tenant_id: str
    user_id: str


def expected_engagements(scale: int) -> int:
    from membrane.demo.data import ENGAGEMENTS

    return scale * len(ENGAGEMENTS)


async def _ensure_database(server_url: str, database: str) -> None:
    connection = await asyncpg.connect(f"{server_url}/postgres")
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            print(f"creating database {database}", flush=True)
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def _seeded_engagements(database_url: str) -> int | None:
    connection = await asyncpg.connect(database_url)
    try:
        if await connection.fetchval("SELECT to_regclass('public.engagements')") is None:
            return None
        count: int = await connection.fetchval(
            "SELECT count(*) FROM engagements AS e JOIN tenants AS t ON t.id = e.tenant_id "
            "WHERE t.slug = $1",
            TENANT,
        )
        return count
    finally:
        await connection.close()


async def _viewer(database_url: str) -> Viewer:
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT u.tenant_id, u.id FROM users AS u JOIN tenants AS t ON t.id = u.tenant_id "
            "WHERE t.slug = $1 AND u.email = $2",
            TENANT,
            VIEWER,
        )
        if row is None:
            raise BenchError(f"no user {VIEWER} in tenant {TENANT!r}")
        return Viewer(tenant_id=str(row["tenant_id"]), user_id=str(row["id"]))
    finally:
        await connection.close()


async def _postgres_version(database_url: str) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def prepare_database(args: argparse.Namespace, database_url: str, env: dict[str, str]) -> bool:
    """Create the database and seed it unless it already holds the demo at this scale."""
    asyncio.run(_ensure_database(args.postgres, args.database))
    want = expected_engagements(args.scale)
    have = asyncio.run(_seeded_engagements(database_url))
    if have == want and not args.reseed:
        print(f"demo tenant already seeded ({have} engagements): not re-seeding", flush=True)
        return False
    print(f"seeding the demo tenant at scale {args.scale} ({want} engagements) ...", flush=True)
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "membrane"), "demo", "--scale", str(args.scale), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise BenchError(f"membrane demo failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout)
    counts = report["counts"]
    print(
        f"  seeded in {time.monotonic() - started:.1f}s: {counts['engagements']} engagements, "
        f"{counts['tasks']} tasks",
        flush=True,
    )
    if counts["engagements"] != want:
        raise BenchError(f"membrane demo made {counts['engagements']} engagements, not {want}")
    return True


def mint_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "membrane"), "token", "--tenant", TENANT, "--user", VIEWER],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise BenchError(f"membrane token failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout.strip()


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def memory_kib(self) -> dict[str, int]:
        """VmHWM (peak resident set) and VmRSS of the server process, in KiB."""
        found: dict[str, int] = {}
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(value.split()[0])
        return found

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        # The server runs in its own process group (start_new_session): signal only that group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def running(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "--host", HOST, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, port=port, process=process, log_path=log_path)
    try:
        yield server
    finally:
        server.stop()


def wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{server.base_url}/healthz").status_code == 200:
                    return
            time.sleep(0.2)
    raise BenchError(f"{server.name} not healthy after {STARTUP_TIMEOUT_S}s:\n{server.log_tail()}")


# --- CPU accounting -----------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """CPU time of each PostgreSQL backend serving `database` on this machine, by pid."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # A backend's title: "postgres: <version>/<cluster>: <user> <database> <host> ..."
            if title.startswith("postgres:") and f" {database} " in title:
                found[int(entry.name)] = process_cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


# --- the check: same JSON from both -------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One benchmarked request: where it goes, its body, and the answer it must get."""

    url: str
    body: bytes
    token: str
    response: bytes


def _post(client: httpx.Client, url: str, body: bytes, token: str) -> bytes:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = client.post(url, content=body, headers=headers)
    if response.status_code != 200:
        raise BenchError(f"POST {url} answered {response.status_code}: {response.text[:2000]}")
    return response.content


def _check_graphql(name: str, raw: bytes) -> dict[str, Any]:
    payload = orjson.loads(raw)
    if "errors" in payload:
        raise BenchError(
            f"Membrane answered {name} with errors:\n{orjson.dumps(payload['errors']).decode()}"
        )
    if not isinstance(payload.get("data"), dict):
        raise BenchError(f"Membrane answered {name} without data: {raw[:2000]!r}")
    return payload


def _first_difference(left: Any, right: Any, path: str = "$") -> str:
    if type(left) is not type(right):
        return f"{path}: {type(left).__name__} != {type(right).__name__}"
    if isinstance(left, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                return f"{path}.{key}: present in only one"
            if left[key] != right[key]:
                return _first_difference(left[key], right[key], f"{path}.{key}")
    if isinstance(left, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items != {len(right)} items"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path}: {left!r} != {right!r}"


def _compare(name: str, membrane: bytes, floor: bytes) -> None:
    membrane_json, floor_json = orjson.loads(membrane), orjson.loads(floor)
    if membrane_json != floor_json:
        raise BenchError(
            f"{name}: the floor's JSON differs from Membrane's at "
            f"{_first_difference(membrane_json, floor_json)}"
        )
    if membrane != floor:
        raise BenchError(f"{name}: same JSON value but different bytes (key order, spacing)")
    print(f"  {name}: floor == Membrane ({len(membrane)} bytes, identical)", flush=True)


def build_requests(
    membrane: Server, floor: Server, token: str, viewer: Viewer
) -> dict[tuple[str, str], Request]:
    """The four benchmarked requests, after checking that floor and Membrane agree."""
    graphql = f"{membrane.base_url}/graphql"
    list_body = orjson.dumps({"query": LIST_QUERY})
    viewer_body = {"tenant": viewer.tenant_id, "user": viewer.user_id}
    floor_list_body = orjson.dumps(viewer_body)
    with httpx.Client(timeout=30.0) as client:
        membrane_list = _post(client, graphql, list_body, token)
        page = _check_graphql("the list page", membrane_list)["data"]
        task_id = next(
            (
                task["node"]["id"]
                for edge in page["engagements"]["edges"]
                for task in edge["node"]["tasks"]["edges"]
            ),
            None,
        )
        if task_id is None:
            raise BenchError("the list page holds no task to look up")
        lookup_body = orjson.dumps({"query": LOOKUP_QUERY, "variables": {"id": task_id}})
        floor_lookup_body = orjson.dumps({**viewer_body, "id": task_id})
        membrane_lookup = _post(client, graphql, lookup_body, token)
        _check_graphql("the task lookup", membrane_lookup)
        floor_list = _post(client, f"{floor.base_url}/list", floor_list_body, "")
        floor_lookup = _post(client, f"{floor.base_url}/task", floor_lookup_body, "")
    _compare("list page", membrane_list, floor_list)
    _compare("task lookup", membrane_lookup, floor_lookup)
    return {
        ("membrane", "list page"): Request(graphql, list_body, token, membrane_list),
        ("floor", "list page"): Request(f"{floor.base_url}/list", floor_list_body, "", floor_list),
        ("membrane", "task lookup"): Request(graphql, lookup_body, token, membrane_lookup),
        ("floor", "task lookup"): Request(
            f"{floor.base_url}/task", floor_lookup_body, "", floor_lookup
        ),
    }


# --- report -----------------------------------------------------------------------------------

ORDER = [
    ("membrane", "list page"),
    ("floor", "list page"),
    ("membrane", "task lookup"),
    ("floor", "task lookup"),
]


def ratios(runs: dict[tuple[str, str], WrkRun]) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for operation in ("list page", "task lookup"):
        membrane, floor = runs[("membrane", operation)], runs[("floor", operation)]
        found[operation] = {
            "requests_per_s": membrane.requests_per_s / floor.requests_per_s,
            "p50": membrane.latency_ms["p50"] / floor.latency_ms["p50"],
            "p99": membrane.latency_ms["p99"] / floor.latency_ms["p99"],
        }
        if membrane.server_cpu_ms_per_request and floor.server_cpu_ms_per_request:
            found[operation]["app_cpu_per_request"] = (
                membrane.server_cpu_ms_per_request / floor.server_cpu_ms_per_request
            )
    return found


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(
    runs: dict[tuple[str, str], WrkRun],
    found_ratios: dict[str, dict[str, float]],
    memory: dict[str, dict[str, int]],
) -> None:
    print()
    print(
        f"{'operation':<13} {'server':<9} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} "
        f"{'app CPU ms/req':>15} {'db CPU ms/req':>14}"
    )
    print("-" * 84)
    for key in ORDER:
        run = runs[key]
        print(
            f"{run.operation:<13} {run.server:<9} {run.requests_per_s:>10.1f} "
            f"{run.latency_ms['p50']:>9.2f} {run.latency_ms['p99']:>9.2f} "
            f"{_optional(run.server_cpu_ms_per_request):>15} "
            f"{_optional(run.database_cpu_ms_per_request):>14}"
        )
    print()
    print("Membrane / floor")
    for operation, ratio in found_ratios.items():
        print(
            f"  {operation:<12} req/s {ratio['requests_per_s']:.3f} "
            f"(floor {1 / ratio['requests_per_s']:.2f}x the throughput), "
            f"p50 {ratio['p50']:.2f}x, p99 {ratio['p99']:.2f}x"
            + (
                f", app CPU per request {ratio['app_cpu_per_request']:.1f}x"
                if "app_cpu_per_request" in ratio
                else ""
            )
        )
    print()
    for name, values in memory.items():
        print(
            f"{name} peak RSS (VmHWM): {values['VmHWM'] / 1024:.1f} MiB "
            f"(at start {values['start_VmRSS'] / 1024:.1f} MiB)"
        )


def git_revision() -> dict[str, Any]:
    """The commit measured, read without touching the index."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return {}
    dirty = git("diff", "--quiet", "HEAD", "--", "membrane").returncode != 0
    return {"commit": head.stdout.strip(), "membrane_dirty": dirty}


# --- main -------------------------------------------------------------------------------------


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    # Ctrl-C and SIGTERM both stop the servers (even when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    wrk = ensure_wrk()
    database_url = f"{args.postgres}/{args.database}"

    with tempfile.TemporaryDirectory(prefix="membrane-bench-") as work:
        work_dir = Path(work)
        env = {
            **os.environ,
            "MEMBRANE_ENV": "development",
            "MEMBRANE_DEV_MODE": "true",
            "MEMBRANE_DATABASE_URL": database_url,
            "MEMBRANE_KEYS_DIR": str(work_dir / "keys"),
            "MEMBRANE_SQL_ECHO": "false",
        }
        seeded = prepare_database(args, database_url, env)
        viewer = asyncio.run(_viewer(database_url))
        token = mint_token(env)  # creates the signing keys the server then loads

        membrane_cmd = [str(VENV_BIN / "membrane"), "serve"]
        floor_cmd = [
            sys.executable,
            str(FLOOR_SCRIPT),
            "--database-url",
            database_url,
        ]
        with (
            running("membrane", membrane_cmd, env, work_dir) as membrane,
            running("floor", floor_cmd, env, work_dir) as floor,
        ):
            try:
                return measure(args, wrk, membrane, floor, token, viewer, work_dir, seeded)
            except BaseException:
                for server in (membrane, floor):
                    tail = server.log_tail(20)
                    if tail:
                        print(f"--- last lines of the {server.name} log ---\n{tail}")
                raise


def measure(
    args: argparse.Namespace,
    wrk: str,
    membrane: Server,
    floor: Server,
    token: str,
    viewer: Viewer,
    work_dir: Path,
    seeded: bool,
) -> int:
    database_url = f"{args.postgres}/{args.database}"
    wait_healthy(membrane)
    wait_healthy(floor)
    print(
        f"membrane pid {membrane.process.pid} on :{membrane.port}, "
        f"floor pid {floor.process.pid} on :{floor.port}",
        flush=True,
    )
    start_memory = {server.name: server.memory_kib() for server in (membrane, floor)}

    print("checking that the floor answers like Membrane", flush=True)
    requests = build_requests(membrane, floor, token, viewer)
    body_files: dict[tuple[str, str], Path] = {}
    for (server, operation), request in requests.items():
        path = work_dir / f"{server}-{operation.replace(' ', '-')}.json"
        path.write_bytes(request.body)
        body_files[(server, operation)] = path

    servers = {"membrane": membrane, "floor": floor}

    def wrk_run(key: tuple[str, str], duration: int, label: str) -> WrkRun:
        request = requests[key]
        load = os.getloadavg()[0]
        server_cpu = process_cpu_seconds(servers[key[0]].process.pid)
        database_cpu = backend_cpu_seconds(args.database)
        run = run_wrk(
            wrk,
            name=f"{label}{key[0]} {key[1]}",
            server=key[0],
            operation=key[1],
            url=request.url,
            body_file=body_files[key],
            expected_bytes=len(request.response),
            token=request.token,
            duration=duration,
            connections=args.connections,
        )
        run.load_average_before = load
        if run.requests:
            server_used = process_cpu_seconds(servers[key[0]].process.pid) - server_cpu
            database_used = _cpu_delta(database_cpu, backend_cpu_seconds(args.database))
            run.server_cpu_ms_per_request = server_used * 1000 / run.requests
            run.database_cpu_ms_per_request = database_used * 1000 / run.requests
        return run

    failures: list[str] = []
    warmups: list[WrkRun] = []
    if args.warmup:
        print("warming up", flush=True)
        for key in ORDER:
            run = wrk_run(key, args.warmup, "warm-up ")
            warmups.append(run)
            failures += [f"{run.name}: {problem}" for problem in run.problems(warmup=True)]

    print("measuring", flush=True)
    runs: dict[tuple[str, str], WrkRun] = {}
    for key in ORDER:
        run = wrk_run(key, args.duration, "")
        runs[key] = run
        failures += [f"{run.name}: {problem}" for problem in run.problems()]

    memory = {
        server.name: {**server.memory_kib(), "start_VmRSS": start_memory[server.name]["VmRSS"]}
        for server in (membrane, floor)
    }
    for server in (membrane, floor):
        if server.process.poll() is not None:
            failures.append(f"{server.name} exited during the benchmark")

    found_ratios = ratios(runs)
    print_report(runs, found_ratios, memory)

    results = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "ok": not failures,
        "failures": failures,
        "command": " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        "config": {
            "duration_s": args.duration,
            "connections": args.connections,
            "wrk_threads": 1,
            "warmup_s": args.warmup,
            "scale": args.scale,
            "database": args.database,
            "reseeded": seeded,
            "viewer": VIEWER,
            "membrane_pool_size": os.environ.get("MEMBRANE_DATABASE_POOL_SIZE", "10 (default)"),
            "floor_pool": "asyncpg min 10, max 20",
        },
        "environment": environment(database_url, wrk),
        "documents": {"list page": LIST_QUERY, "task lookup": LOOKUP_QUERY},
        "response_bytes": {
            "list page": len(requests[("membrane", "list page")].response),
            "task lookup": len(requests[("membrane", "task lookup")].response),
        },
        "runs": [asdict(runs[key]) for key in ORDER],
        "warmups": [asdict(run) for run in warmups],
        "ratios_membrane_over_floor": found_ratios,
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
    run_main(main)
