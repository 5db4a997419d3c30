"""Plain SQL for ground truths, with UUID parameters bound portably (SQLite stores hex)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from sqlalchemy import TextClause, Uuid, bindparam, text


def sql(statement: str, **params: Any) -> tuple[TextClause, dict[str, Any]]:
    clause = text(statement)
    values: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = uuid.UUID(value)
        if isinstance(value, uuid.UUID) and f":{name}" in statement:
            clause = clause.bindparams(bindparam(name, type_=Uuid()))
        if f":{name}" in statement:
            values[name] = value
    return clause, values


def as_uuid(value: Any) -> uuid.UUID:
    """A UUID column read through plain SQL (a UUID on PostgreSQL, 32 hex digits on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
