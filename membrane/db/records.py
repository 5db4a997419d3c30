"""Plain records for hot read paths: rows read without building ORM objects.

A joined row carries the columns of its main table under their own names and chosen
columns of each joined table under a prefix; `Record.take` lifts one prefixed part out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Label
from sqlalchemy.engine import Row
from sqlalchemy.sql import FromClause


def prefixed(table: FromClause, prefix: str, fields: Sequence[str]) -> list[Label[Any]]:
    return [table.c[field].label(f"{prefix}{field}") for field in fields]


class Record:
    """Attribute access to one table's part of a joined row (the ORM model's attribute names)."""

    __slots__ = ("__dict__",)

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @classmethod
    def take(cls, row: Any, prefix: str, fields: Sequence[str]) -> Record | None:
        """The `prefix`ed `fields` of `row` (a SQLAlchemy row or a `PlainRow`), or None when
        the outer join found nothing."""
        mapping = row._mapping if isinstance(row, Row) else row
        if mapping[f"{prefix}id"] is None:
            return None
        return cls({field: mapping[f"{prefix}{field}"] for field in fields})


def columns_of(selectable: FromClause, table: FromClause) -> list[ColumnElement[Any]]:
    """The columns of `table` as they appear in `selectable` (e.g. a ranked subquery)."""
    return [selectable.c[column.key] for column in table.columns]
