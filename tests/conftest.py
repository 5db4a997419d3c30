"""Test configuration: fixtures are registered by domain, explicitly."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.demo",
    "tests.fixtures.api",
    "tests.fixtures.tenants",
    "tests.fixtures.openid_providers",
    "tests.fixtures.federation",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres_only` exist for PostgreSQL alone: their SQLite twin is not
    collected at all (rather than skipped), so every collected test runs."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        backend = params.get("database_url") or params.get("databases")
        if item.get_closest_marker("postgres_only") and backend == "sqlite":
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
