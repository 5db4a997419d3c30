"""The Strawberry schemas, one per audience, assembled from the per-domain queries and
mutations.

Host principals are served the full schema. Partner principals are served a schema in which
the fields no partner may ever read or set do not exist (introspection included), and with
them the types only those fields lead to. Both are checked at start-up: a field without a
policy stops the process before it serves anything.
"""

from __future__ import annotations

import enum

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from membrane.api import enums as _enums  # noqa: F401  (registers enum descriptions)
from membrane.api.engagements.mutations import EngagementMutations
from membrane.api.engagements.queries import EngagementQueries
from membrane.api.engagements.zone_mutations import ZoneMutations
from membrane.api.policies import policy_of
from membrane.api.policy_check import check_policies
from membrane.api.scalars import MONEY_SCALAR, Money
from membrane.api.tenancy.mutations import TenancyMutations
from membrane.api.tenancy.queries import TenancyQueries
from membrane.auth.principal import Principal


class Audience(enum.StrEnum):
    HOST = "host"
    PARTNER = "partner"


def audience_of(principal: Principal) -> Audience:
    return Audience.HOST if principal.is_host else Audience.PARTNER


@strawberry.type(description="Entry points for reading.")
class Query(TenancyQueries, EngagementQueries):
    pass


@strawberry.type(description="Entry points for changing data; each mutation is one transaction.")
class Mutation(EngagementMutations, ZoneMutations, TenancyMutations):
    pass


class PartnerSchema(strawberry.Schema):
    """The schema without what no partner principal may ever read or set."""

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        return [field for field in type_definition.fields if _partner_may(field)]


def _partner_may(field: StrawberryField) -> bool:
    policy = policy_of(field)
    return policy is None or policy.partner_may_read()


def _config() -> StrawberryConfig:
    return StrawberryConfig(auto_camel_case=True, scalar_map={Money: MONEY_SCALAR})


def build_schema(audience: Audience = Audience.HOST) -> strawberry.Schema:
    cls = strawberry.Schema if audience is Audience.HOST else PartnerSchema
    built = cls(query=Query, mutation=Mutation, config=_config())
    check_policies(built)
    return built


schema = build_schema(Audience.HOST)
partner_schema = build_schema(Audience.PARTNER)
SCHEMAS = {Audience.HOST: schema, Audience.PARTNER: partner_schema}
