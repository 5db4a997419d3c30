"""Custom scalars: amounts of money in minor units need more than GraphQL's 32-bit `Int`."""

from __future__ import annotations

from typing import Any, NewType

import strawberry

MIN_MONEY = 0
MAX_MONEY = 2**53 - 1  # exact in every JSON reader (JavaScript numbers included)


def _parse_money(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a whole number of minor units is expected")
    if not MIN_MONEY <= value <= MAX_MONEY:
        raise ValueError(f"must be between {MIN_MONEY} and {MAX_MONEY}")
    return value


Money = NewType("Money", int)

MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description=(
        "An amount in minor units of its currency (cents), a whole number from 0 to "
        "2^53 - 1, sent as a JSON number."
    ),
    serialize=int,
    parse_value=_parse_money,
)
