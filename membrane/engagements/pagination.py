"""Keyset pages over time-ordered ids: `first` rows after a given id, plus whether more follow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from membrane.errors import InvalidInputError

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.first < 0:
            raise InvalidInputError("first must not be negative", field="first")
        if self.first > MAX_PAGE_SIZE:
            raise InvalidInputError(f"first must be at most {MAX_PAGE_SIZE}", field="first")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    has_previous: bool = False

    @classmethod
    def from_rows(cls, rows: list[T], request: PageRequest) -> Page[T]:
        return cls(
            items=rows[: request.first],
            has_next=len(rows) > request.first,
            has_previous=request.after is not None,
        )
