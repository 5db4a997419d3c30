"""Plain records for hot read paths: rows read without building ORM objects.

A joined row carries the columns of its main table under their own names and those of
each joined table under a prefix; `Record.take` lifts one prefixed part out of the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Label, Table
from sqlalchemy.engine import Row
from sqlalchemy.sql import FromClause


def prefixed(table: Table | FromClause, prefix: str) -> list[Label[Any]]:
    return [column.label(f"{prefix}{column.key}") for column in table.columns]


class Record:
    """Attribute access to one table's part of a joined row (the ORM model's attribute names)."""

    __slots__ = ("__dict__",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @classmethod
    def take(cls, row: Any, prefix: str, table: FromClause) -> Record | None:
        """The `prefix`ed columns of `table` in `row` (a SQLAlchemy row or a `PlainRow`)."""
        mapping = row._mapping if isinstance(row, Row) else row
        values = {column.key: mapping[f"{prefix}{column.key}"] for column in table.columns}
        if values.get("id") is None:
            return None
        return cls(values)


def columns_of(selectable: FromClause, table: FromClause) -> list[ColumnElement[Any]]:
    """The columns of `table` as they appear in `selectable` (e.g. a ranked subquery)."""
    return [selectable.c[column.key] for column in table.columns]
