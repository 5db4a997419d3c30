"""The `membrane` command line, run for real as a subprocess against a temporary SQLite file.

One demo seed is shared by the module; these tests do not depend on the database backend.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from membrane.api.app import create_app
from membrane.auth import keys
from membrane.auth.tokens import TokenService
from membrane.config import Settings

ERIN = "erin@acme.example"


@dataclass(frozen=True)
class Installation:
    folder: Path
    database: Path
    keys_dir: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`membrane ARGS` with this installation's database and keys, and nothing inherited."""
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MEMBRANE_")}
        environment.update(
            MEMBRANE_DATABASE_URL=self.database_url, MEMBRANE_KEYS_DIR=str(self.keys_dir), **env
        )
        return subprocess.run(
            [sys.executable, "-m", "membrane.cli.main", *args],
            cwd=self.folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _installation(folder: Path) -> Installation:
    return Installation(folder, folder / "membrane.db", folder / "keys")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Installation, dict[str, Any]]:
    """One installation with the demo tenant, and the report `membrane demo --json` printed."""
    installation = _installation(tmp_path_factory.mktemp("cli"))
    result = installation.run("demo", "--json")
    assert result.returncode == 0, result.stderr
    return installation, json.loads(result.stdout)


def test_demo_prints_what_it_created(seeded: tuple[Installation, dict[str, Any]]) -> None:
    # given `membrane demo --json` has run
    _, report = seeded
    # then it printed the tenant, its organizations, users and engagements
    assert report["tenant"]["slug"] == "demo"
    uuid.UUID(report["tenant"]["id"])
    assert len(report["organizations"]) == 3
    assert len(report["users"]) == 8
    assert len(report["engagements"]) == 3
    slugs = {org["slug"]: org["kind"] for org in report["organizations"]}
    assert slugs == {"northwind": "HOST", "acme": "PARTNER", "globex": "PARTNER"}
    # and each user with an email, an organization of the tenant and their roles
    for user in report["users"]:
        assert "@" in user["email"]
        assert user["organization"] in slugs
        assert isinstance(user["roles"], list)
    erin = next(user for user in report["users"] if user["email"] == ERIN)
    assert (erin["organization"], erin["roles"]) == ("acme", ["ADMIN"])
    assert {e["name"] for e in report["engagements"]} == {
        "Acme ERP rollout",
        "Globex route optimisation",
        "Joint supply-chain pilot",
    }


async def test_token_is_accepted_by_the_app(seeded: tuple[Installation, dict[str, Any]]) -> None:
    installation, report = seeded
    # when a token is minted for erin
    result = installation.run("token", "--tenant", "demo", "--user", ERIN)
    # then stdout holds the JWT alone
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert len(token.split(".")) == 3
    # and Membrane's keys verify it as erin's
    settings = Settings(database_url=installation.database_url, keys_dir=installation.keys_dir)
    tokens = TokenService(
        keys.load_or_create(installation.keys_dir),
        issuer=settings.issuer,
        audience=settings.audience,
    )
    erin = next(user for user in report["users"] if user["email"] == ERIN)
    claims = tokens.verify(token)
    assert str(claims.subject) == erin["id"]
    assert str(claims.tenant_id) == report["tenant"]["id"]
    # and the app serves erin with it
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://membrane.test"
        ) as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ viewer { user { email } organization { slug } } }"},
                headers={"authorization": f"Bearer {token}"},
            )
    finally:
        await app.state.runtime.engine.dispose()
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"viewer": {"user": {"email": ERIN}, "organization": {"slug": "acme"}}}
    }


def test_token_refuses_production(seeded: tuple[Installation, dict[str, Any]]) -> None:
    installation, _ = seeded
    # when a token is asked for in production mode
    result = installation.run(
        "token", "--tenant", "demo", "--user", ERIN, MEMBRANE_ENV="production"
    )
    # then the command fails, says why, and prints no token
    assert result.returncode != 0
    assert result.stdout == ""
    assert "production" in result.stderr
    assert "eyJ" not in result.stderr


def test_token_refuses_dev_mode_in_production(
    seeded: tuple[Installation, dict[str, Any]],
) -> None:
    installation, _ = seeded
    # when dev mode is forced on in production
    result = installation.run(
        "token",
        "--tenant",
        "demo",
        "--user",
        ERIN,
        MEMBRANE_ENV="production",
        MEMBRANE_DEV_MODE="true",
    )
    # then the configuration is refused and no token is printed
    assert result.returncode != 0
    assert result.stdout == ""
    assert "MEMBRANE_DEV_MODE" in result.stderr


def test_demo_refuses_production(tmp_path: Path) -> None:
    # given an empty installation in production mode
    installation = _installation(tmp_path)
    # when the demo is asked for
    result = installation.run("demo", MEMBRANE_ENV="production")
    # then the command fails, says why, and creates no database
    assert result.returncode != 0
    assert "production" in result.stderr
    assert not installation.database.exists()


def test_token_for_unknown_user(seeded: tuple[Installation, dict[str, Any]]) -> None:
    installation, _ = seeded
    # when a token is asked for someone who does not exist
    result = installation.run("token", "--tenant", "demo", "--user", "nobody@acme.example")
    # then the command fails with a message naming them, and prints no token
    assert result.returncode != 0
    assert result.stdout == ""
    assert "nobody@acme.example" in result.stderr


def test_schema_export() -> None:
    # when the schema is exported (it needs no database)
    result = subprocess.run(
        [sys.executable, "-m", "membrane.cli.main", "schema", "export"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # then stdout is the SDL
    assert result.returncode == 0, result.stderr
    assert "type Query {" in result.stdout
    assert "type Mutation {" in result.stdout
    assert "input CreateTaskInput {" in result.stdout


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    installation = _installation(tmp_path)

    def state() -> tuple[list[tuple[str, ...]], list[str]]:
        with sqlite3.connect(installation.database) as connection:
            versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            tables = connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            ).fetchall()
        connection.close()
        return versions, [name for (name,) in tables]

    # when the database is upgraded twice
    first = installation.run("db", "upgrade")
    assert first.returncode == 0, first.stderr
    after_first = state()
    second = installation.run("db", "upgrade")
    # then both succeed and the second changes nothing
    assert second.returncode == 0, second.stderr
    assert state() == after_first
    versions, tables = after_first
    assert len(versions) == 1
    assert {"tenants", "users", "engagements", "tasks"} <= set(tables)
