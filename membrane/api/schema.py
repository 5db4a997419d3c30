"""The Strawberry schema: root types assembled from the per-domain queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from membrane.api import enums as _enums  # noqa: F401  (registers enum descriptions)
from membrane.api.engagements.mutations import EngagementMutations
from membrane.api.engagements.queries import EngagementQueries
from membrane.api.scalars import MONEY_SCALAR, Money
from membrane.api.tenancy.mutations import TenancyMutations
from membrane.api.tenancy.queries import TenancyQueries


@strawberry.type(description="Entry points for reading.")
class Query(TenancyQueries, EngagementQueries):
    pass


@strawberry.type(description="Entry points for changing data; each mutation is one transaction.")
class Mutation(EngagementMutations, TenancyMutations):
    pass


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(auto_camel_case=True, scalar_map={Money: MONEY_SCALAR}),
    )


schema = build_schema()
