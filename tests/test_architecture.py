"""Layers point one way: domain packages never import the transport (`membrane.api`)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "membrane"
DOMAINS = ["tenancy", "auth", "engagements", "db", "demo", "migrations"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_packages_do_not_import_the_api() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for domain in DOMAINS
        for path in (PACKAGE / domain).rglob("*.py")
        for name in _imports(path)
        if name == "membrane.api" or name.startswith("membrane.api.")
    ]
    assert not offenders, offenders


def test_the_check_sees_imports() -> None:
    assert "membrane.api.schema" in _imports(PACKAGE / "cli" / "main.py")
