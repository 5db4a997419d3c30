"""Statements built once, and the parameters of one execution of them.

Building a SQLAlchemy statement costs more than compiling it (compilation is cached by
SQLAlchemy); repositories therefore build each statement shape once, with bound
parameters (`statement_shape`), and hand back the shape with this call's values (`Bound`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import Executable, bindparam

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Bound:
    statement: Executable
    params: dict[str, Any]


def statement_shape(build: Callable[P, R]) -> Callable[P, R]:
    """Memoise a statement builder on its (hashable) arguments: model classes and flags."""
    return cast(Callable[P, R], functools.cache(build))


def match_ids(column: Any, single: bool) -> Any:
    """`column = :id` for one id (no list to expand at execution), else `column IN :ids`."""
    return column == bindparam("id") if single else column.in_(bindparam("ids", expanding=True))


def ids_params(ids: Sequence[Any]) -> dict[str, Any]:
    return {"id": ids[0]} if len(ids) == 1 else {"ids": list(ids)}
