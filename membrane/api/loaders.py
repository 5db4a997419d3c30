"""Per-request DataLoaders: one batched query per relation and query level.

`ByIdLoader` loads rows by primary key; `PageLoader` loads the first page of children of many
parents in one statement. Both resolve synchronously when a value is already known, so fields
whose data was batched earlier do not pay for an awaitable.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from membrane.engagements.pagination import Page, PageRequest

RowT = TypeVar("RowT")
ExtraT = TypeVar("ExtraT", bound=Hashable)

FetchByIds = Callable[[Sequence[uuid.UUID]], Awaitable[Sequence[Any]]]
FetchPages = Callable[
    [Sequence[uuid.UUID], PageRequest, Any], Awaitable[dict[uuid.UUID, Page[Any]]]
]


def known(loader: DataLoader[Any, Any], key: Any) -> tuple[bool, Any]:
    """The value of a key already loaded, without creating an awaitable."""
    future = loader.cache_map.get(key)
    if future is not None and future.done() and not future.cancelled():
        error = future.exception()
        if error is None:
            return True, future.result()
    return False, None


def then(found: Any, convert: Callable[[Any], Any]) -> Any:
    """`convert(found)` now when `found` is a loaded value, else an awaitable of it: fields
    whose data was batched earlier resolve without an awaitable."""
    if isinstance(found, asyncio.Future):
        return _then(found, convert)
    return convert(found)


async def _then(pending: Awaitable[Any], convert: Callable[[Any], Any]) -> Any:
    return convert(await pending)


class ByIdLoader(DataLoader[uuid.UUID, RowT | None], Generic[RowT]):
    def __init__(self, fetch: FetchByIds) -> None:
        self._fetch = fetch

        async def load(keys: list[uuid.UUID]) -> list[RowT | None]:
            rows = await fetch(keys)
            found = {row.id: row for row in rows}
            return [found.get(key) for key in keys]

        super().__init__(load_fn=load)

    async def one(self, key: uuid.UUID) -> RowT | None:
        """One row, fetched at once rather than batched (a root field asks for one object,
        so there is nothing to wait for), and remembered for later fields."""
        if self.cache_map.get(key) is not None:
            return await self.load(key)
        rows = await self._fetch([key])
        row: RowT | None = rows[0] if rows else None
        self.prime(key, row)
        return row

    def get(self, key: uuid.UUID) -> RowT | Awaitable[RowT | None] | None:
        hit, value = known(self, key)
        return value if hit else self.load(key)

    def remember(self, rows: Sequence[Any]) -> None:
        for row in rows:
            if self.cache_map.get(row.id) is None:
                self.prime(row.id, row)


GroupT = TypeVar("GroupT", bound=Hashable)
ValueT = TypeVar("ValueT")


async def _per_parent(
    keys: Sequence[tuple[uuid.UUID, GroupT]],
    fetch: Callable[[list[uuid.UUID], GroupT], Awaitable[Mapping[uuid.UUID, ValueT]]],
) -> list[ValueT]:
    """Each key's value, fetched with one call per group for all the group's parents (one
    statement per page size and filter, and per level of nesting)."""
    groups: dict[GroupT, list[uuid.UUID]] = {}
    for parent_id, group in keys:
        groups.setdefault(group, []).append(parent_id)
    fetched = {group: await fetch(parent_ids, group) for group, parent_ids in groups.items()}
    return [fetched[group][parent_id] for parent_id, group in keys]


PageKey = tuple[uuid.UUID, PageRequest, Hashable]


class PageLoader(DataLoader[PageKey, Page[RowT]], Generic[RowT]):
    def __init__(self, fetch: FetchPages) -> None:
        async def load(keys: list[PageKey]) -> list[Page[RowT]]:
            return await _per_parent(
                [(parent_id, (page, extra)) for parent_id, page, extra in keys],
                lambda parent_ids, group: fetch(parent_ids, *group),
            )

        super().__init__(load_fn=load)

    def fetch(
        self, parent_id: uuid.UUID, page: PageRequest, extra: Hashable = None
    ) -> Awaitable[Page[RowT]]:
        return self.load((parent_id, page, extra))

    def get(
        self, parent_id: uuid.UUID, page: PageRequest, extra: Hashable = None
    ) -> Page[RowT] | Awaitable[Page[RowT]]:
        key = (parent_id, page, extra)
        hit, value = known(self, key)
        return value if hit else self.load(key)


CountKey = tuple[uuid.UUID, Hashable]
FetchCounts = Callable[[Sequence[uuid.UUID], Any], Awaitable[dict[uuid.UUID, int]]]


class CountLoader(DataLoader[CountKey, int]):
    """How many children each parent has within the viewer's scope, per filter: one
    grouped statement per filter and level."""

    def __init__(self, fetch: FetchCounts) -> None:
        async def load(keys: list[CountKey]) -> list[int]:
            return await _per_parent(keys, fetch)

        super().__init__(load_fn=load)
