"""Relay plumbing: global ids, opaque cursors and connections built from domain pages."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.relay.types import NodeType

from membrane.api.policies import VISIBLE, field
from membrane.engagements.pagination import Page, PageRequest
from membrane.errors import InvalidInputError

NodeT = TypeVar("NodeT", bound=relay.Node)

# Connection arguments, described once for every connection field.
First = Annotated[
    int | None, strawberry.argument(description="Page size: 20 when omitted, at most 100.")
]
After = Annotated[
    str | None,
    strawberry.argument(description="Cursor of the last item of the previous page."),
]
RowT = TypeVar("RowT")

_CURSOR_PREFIX = "c:"
DEFAULT_PAGE_SIZE = 20


def decode_global_id(
    value: relay.GlobalID | str, *, expected: str | Iterable[str], field: str
) -> uuid.UUID:
    """The UUID inside a global id of one of the expected types, or a BAD_USER_INPUT error."""
    allowed = {expected} if isinstance(expected, str) else set(expected)
    try:
        global_id = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(value)
        node_id = uuid.UUID(global_id.node_id)
    except (ValueError, TypeError):
        raise InvalidInputError(f"{field} is not a valid id", field=field) from None
    if global_id.type_name not in allowed:
        names = " or ".join(sorted(allowed))
        article = "an" if names[0] in "AEIOU" else "a"
        raise InvalidInputError(f"{field} must be the id of {article} {names}", field=field)
    return node_id


def decode_optional_global_id(
    value: relay.GlobalID | str | None, *, expected: str | Iterable[str], field: str
) -> uuid.UUID | None:
    """As `decode_global_id`, for an argument that may be left out (None)."""
    return None if value is None else decode_global_id(value, expected=expected, field=field)


def encode_cursor(row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{row_id.hex}".encode()).decode()


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        return uuid.UUID(hex=raw[len(_CURSOR_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("after is not a valid cursor", field="after") from None


def page_request(first: int | None, after: str | None) -> PageRequest:
    return PageRequest(
        first=DEFAULT_PAGE_SIZE if first is None else first, after=decode_cursor(after)
    )


@strawberry.type(
    name="Connection",
    description="A page of a list, and how many items the viewer may see in the whole list.",
)
class CountedConnection(relay.Connection[NodeType]):
    counter: strawberry.Private[Callable[[], Any]]

    @field(
        VISIBLE,
        description=(
            "How many items of the whole list (with its filters) the viewer may see; "
            "counted only when asked for."
        ),
    )
    def total_count(self) -> int:
        return self.counter()  # type: ignore[no-any-return]  # an int or an awaitable of one


def _edges(
    page: Page[RowT], to_node: Callable[[RowT], Any], cursor_id: Callable[[RowT], uuid.UUID]
) -> tuple[list[relay.Edge[Any]], relay.PageInfo]:
    edges = [
        relay.Edge(cursor=encode_cursor(cursor_id(row)), node=to_node(row)) for row in page.items
    ]
    page_info = relay.PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return edges, page_info


def connection(
    page: Page[RowT],
    to_node: Callable[[RowT], Any],
    cursor_id: Callable[[RowT], uuid.UUID],
) -> relay.Connection[Any]:
    edges, page_info = _edges(page, to_node, cursor_id)
    return relay.Connection(edges=edges, page_info=page_info)


def counted_connection(
    page: Page[RowT],
    to_node: Callable[[RowT], Any],
    cursor_id: Callable[[RowT], uuid.UUID],
    counter: Callable[[], Any],
) -> CountedConnection[Any]:
    """A connection whose `totalCount` calls `counter` (a loader's `load`) when asked for."""
    edges, page_info = _edges(page, to_node, cursor_id)
    return CountedConnection(edges=edges, page_info=page_info, counter=counter)
