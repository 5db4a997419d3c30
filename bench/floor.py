"""The floor: the two reference operations hand-written in Starlette + asyncpg, no GraphQL.

It answers with byte-for-byte the JSON Membrane returns for

* `EngagementListPage` (`POST /list`, body `{"tenant": ..., "user": ...}`): the viewer's first
  20 engagements by id, each with its first 10 SHARED tasks by id, their assignee and the
  assignee's organization, in one statement with a window function;
* `TaskLookup` (`POST /task`, body `{"tenant": ..., "user": ..., "id": <global id>}`): one task
  by Relay global id, visible to the viewer, with its assignee, in one single-row join.

It skips what Membrane does around the data (bearer token verification, loading the
principal, parsing GraphQL): the difference between the two is the cost of that machinery.

Run: `.venv/bin/python bench/floor.py --port 18081 --database-url postgresql://...`
"""

from __future__ import annotations

import argparse
import base64
import binascii
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

LIST_ENGAGEMENTS = 20
LIST_TASKS = 10

# Engagements the viewer is a member of, first page by id; then the first SHARED tasks of each
# (row_number over the page's engagements), with assignee and assignee's organization.
LIST_PAGE_SQL = """
WITH page AS (
    SELECT e.id, e.name
    FROM engagements AS e
    WHERE e.tenant_id = $1
      AND e.id IN (
          SELECT m.engagement_id FROM engagement_members AS m
          WHERE m.tenant_id = $1 AND m.user_id = $2
      )
    ORDER BY e.id
    LIMIT $3
), ranked AS (
    SELECT t.engagement_id, t.id, t.title, t.status, t.assignee_id,
           row_number() OVER (PARTITION BY t.engagement_id ORDER BY t.id) AS position
    FROM tasks AS t
    WHERE t.tenant_id = $1
      AND t.zone = 'SHARED'
      AND t.engagement_id IN (SELECT id FROM page)
)
SELECT p.id AS engagement_id, p.name AS engagement_name,
       r.id AS task_id, r.title, r.status,
       u.id AS assignee_id, u.display_name, o.name AS organization_name
FROM page AS p
LEFT JOIN ranked AS r ON r.engagement_id = p.id AND r.position <= $4
LEFT JOIN users AS u ON u.id = r.assignee_id AND u.tenant_id = $1
LEFT JOIN organizations AS o ON o.id = u.organization_id AND o.tenant_id = $1
ORDER BY p.id, r.id
"""

# One task, visible to the viewer: its engagement is one of the viewer's, and it is SHARED or
# owned by the viewer's organization.
TASK_SQL = """
SELECT t.id, t.title, t.status, t.zone, u.id AS assignee_id, u.display_name
FROM tasks AS t
LEFT JOIN users AS u ON u.id = t.assignee_id AND u.tenant_id = $1
WHERE t.id = $3
  AND t.tenant_id = $1
  AND t.engagement_id IN (
      SELECT m.engagement_id FROM engagement_members AS m
      WHERE m.tenant_id = $1 AND m.user_id = $2
  )
  AND (
      t.zone = 'SHARED'
      OR t.owner_organization_id = (SELECT v.organization_id FROM users AS v WHERE v.id = $2)
  )
"""


def global_id(type_name: str, row_id: object) -> str:
    """Relay global id as Strawberry makes it: standard base64 of `Type:uuid`."""
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def parse_global_id(value: str, expected: str) -> uuid.UUID:
    try:
        type_name, _, raw = base64.b64decode(value, validate=True).decode().partition(":")
        if type_name != expected:
            raise ValueError(value)
        return uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadInputError(f"id is not a valid {expected} id") from None


class BadInputError(Exception):
    pass


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def _viewer(request: Request) -> tuple[dict[str, Any], uuid.UUID, uuid.UUID]:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict):
        raise BadInputError("the body must be a JSON object")
    try:
        return body, uuid.UUID(body["tenant"]), uuid.UUID(body["user"])
    except (KeyError, TypeError, ValueError):
        raise BadInputError("tenant and user must be UUIDs") from None


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def list_page(request: Request) -> Response:
    try:
        _body, tenant_id, user_id = await _viewer(request)
    except (BadInputError, orjson.JSONDecodeError) as error:
        return _json({"error": str(error)}, 400)
    rows = await _pool(request).fetch(
        LIST_PAGE_SQL, tenant_id, user_id, LIST_ENGAGEMENTS, LIST_TASKS
    )
    edges: list[dict[str, Any]] = []
    current: uuid.UUID | None = None
    tasks: list[dict[str, Any]] = []
    for row in rows:
        if row["engagement_id"] != current:
            current = row["engagement_id"]
            tasks = []
            edges.append(
                {
                    "node": {
                        "id": global_id("Engagement", current),
                        "name": row["engagement_name"],
                        "tasks": {"edges": tasks},
                    }
                }
            )
        if row["task_id"] is None:
            continue
        assignee = None
        if row["assignee_id"] is not None:
            assignee = {
                "displayName": row["display_name"],
                "organization": {"name": row["organization_name"]},
            }
        tasks.append(
            {
                "node": {
                    "id": global_id("Task", row["task_id"]),
                    "title": row["title"],
                    "status": row["status"],
                    "assignee": assignee,
                }
            }
        )
    return _json({"data": {"engagements": {"edges": edges}}})


async def task_lookup(request: Request) -> Response:
    try:
        body, tenant_id, user_id = await _viewer(request)
        task_id = parse_global_id(str(body.get("id", "")), "Task")
    except (BadInputError, orjson.JSONDecodeError) as error:
        return _json({"error": str(error)}, 400)
    row = await _pool(request).fetchrow(TASK_SQL, tenant_id, user_id, task_id)
    if row is None:
        return _json({"data": {"node": None}})
    assignee = None if row["assignee_id"] is None else {"displayName": row["display_name"]}
    node = {
        "id": global_id("Task", row["id"]),
        "title": row["title"],
        "status": row["status"],
        "zone": row["zone"],
        "assignee": assignee,
    }
    return _json({"data": {"node": node}})


async def healthz(request: Request) -> Response:
    return _json({"status": "ok"})


def create_app(database_url: str, *, pool_min: int = 10, pool_max: int = 20) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            database_url,
            min_size=pool_min,
            max_size=pool_max,
            server_settings={"application_name": "membrane-bench-floor"},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Starlette(
        routes=[
            Route("/list", list_page, methods=["POST"]),
            Route("/task", task_lookup, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--database-url", required=True, help="postgresql://user@host:port/db")
    # Membrane's engine: pool_size 10 with max_overflow 10, so at most 20 connections.
    parser.add_argument("--pool-min", type=int, default=10)
    parser.add_argument("--pool-max", type=int, default=20)
    args = parser.parse_args()
    app = create_app(args.database_url, pool_min=args.pool_min, pool_max=args.pool_max)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
