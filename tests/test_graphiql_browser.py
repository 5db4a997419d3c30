"""GraphiQL, served by a real `membrane serve`, renders in a real browser (headless Chromium)
with no network beyond the server: its scripts and styles are Membrane's own."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("graphiql")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEMBRANE_")},
        "MEMBRANE_DATABASE_URL": f"sqlite:///{folder / 'membrane.db'}",
        "MEMBRANE_KEYS_DIR": str(folder / "keys"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "membrane.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("membrane serve did not become healthy")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_graphiql_renders_in_chromium(server: str, tmp_path: Path) -> None:
    # given a running server and a browser with no network but loopback
    chromium = _chromium()
    # when the browser opens /graphql and runs its scripts
    done = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{server}/graphql",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = done.stdout
    # then GraphiQL has replaced the placeholder with its editor, set up for Membrane
    assert "graphiql-container" in dom, dom[:2000] or done.stderr[-2000:]
    assert "Loading GraphiQL" not in dom
    assert "Authorization" in dom


def test_graphiql_assets_are_served_locally(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"}).text
    assert "/graphql/assets/graphiql.min.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page loads something remote"
    script = httpx.get(f"{server}/graphql/assets/graphiql.min.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000


async def test_graphiql_is_not_served_in_production(tmp_path: Path) -> None:
    from membrane.api.app import create_app
    from membrane.config import Environment, Settings

    app = create_app(
        Settings(
            env=Environment.PRODUCTION,
            database_url=f"sqlite:///{tmp_path / 'm.db'}",
            keys_dir=tmp_path / "keys",
        )
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://m.test") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        asset = await client.get("/graphql/assets/graphiql.min.js")
    assert (page.status_code, asset.status_code) == (404, 404)
