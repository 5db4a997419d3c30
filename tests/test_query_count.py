"""No N+1: the engagement list page costs a fixed number of SQL statements, whatever its size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.demo import DemoData

LIST_PAGE = """
query EngagementListPage($first: Int!, $tasks: Int!) {
  engagements(first: $first) { edges { node { id name
    tasks(first: $tasks, zone: SHARED) { edges { node { id title status
      assignee { displayName organization { name } } } } } } } }
}
"""
STATEMENT_BOUND = 8


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        # The savepoints are the test's own (each request runs inside its transaction).
        if "SAVEPOINT" not in args[2]:
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def _audit(statements: list[str]) -> list[str]:
    return [s for s in statements if "audit_" in s]


def _page(statements: list[str]) -> list[str]:
    """The page's own statements: without the audit event's, nor its session's binding."""
    page = [s for s in statements if "audit_" not in s]
    bindings = [index for index, s in enumerate(page) if "set_config" in s]
    return [s for index, s in enumerate(page) if index not in bindings[1:]]


async def test_list_page_statement_count_does_not_grow(
    as_user: Any, demo_data: DemoData, engine: AsyncEngine
) -> None:
    # given a host lead of the 21 engagements of the scaled tenant
    alice = as_user("alice", tenant=demo_data.scaled)
    # (the tenant's audit chain exists and has its first checkpoint)
    await alice(LIST_PAGE, {"first": 20, "tasks": 10})
    # when the list page is asked small and at full size (20 engagements x 10 tasks)
    with counting(engine) as small:
        small_body = await alice(LIST_PAGE, {"first": 2, "tasks": 2})
    with counting(engine) as full:
        full_body = await alice(LIST_PAGE, {"first": 20, "tasks": 10})
    # then the full page really is full, and costs no more statements than the small one
    edges = full_body["data"]["engagements"]["edges"]
    assert "errors" not in full_body and "errors" not in small_body
    assert len(edges) == 20
    assert all(len(e["node"]["tasks"]["edges"]) == 10 for e in edges)
    assert all(
        t["node"]["assignee"]["organization"]["name"]
        for e in edges
        for t in e["node"]["tasks"]["edges"]
    )
    assert len(_page(full)) == len(_page(small)) <= STATEMENT_BOUND, full
    # and the operation's one audit event (it reads partners' shared tasks) costs three:
    # move the chain's head, insert the event, record the new head
    assert len(_audit(full)) == 3, full
