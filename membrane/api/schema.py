"""The Strawberry schemas, one per audience, assembled from the per-domain queries and
mutations.

Host principals are served the full schema. Partner principals are served a schema in which
the fields no partner may ever read or set do not exist (introspection included), and with
them the types only those fields lead to; the audit log exists there only for partners
holding AUDITOR (a third schema). All are checked at start-up: a field without a policy
stops the process before it serves anything.
"""

from __future__ import annotations

import enum

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from membrane.api import enums as _enums  # noqa: F401  (registers enum descriptions)
from membrane.api.audit.queries import AuditQueries
from membrane.api.audit.types import LONG_SCALAR, Long
from membrane.api.engagements.mutations import EngagementMutations
from membrane.api.engagements.queries import EngagementQueries
from membrane.api.engagements.zone_mutations import ZoneMutations
from membrane.api.policies import policy_of
from membrane.api.policy_check import check_policies
from membrane.api.scalars import MONEY_SCALAR, Money
from membrane.api.tenancy.mutations import TenancyMutations
from membrane.api.tenancy.queries import TenancyQueries
from membrane.auth.principal import Principal
from membrane.tenancy.enums import TenantRole


class Audience(enum.StrEnum):
    HOST = "host"
    PARTNER = "partner"
    # Partners holding AUDITOR: the partner schema and the audit log.
    PARTNER_AUDITOR = "partner-auditor"


def audience_of(principal: Principal) -> Audience:
    if principal.is_host:
        return Audience.HOST
    if principal.has_role(TenantRole.AUDITOR):
        return Audience.PARTNER_AUDITOR
    return Audience.PARTNER


@strawberry.type(description="Entry points for reading.")
class Query(TenancyQueries, EngagementQueries, AuditQueries):
    pass


@strawberry.type(description="Entry points for changing data; each mutation is one transaction.")
class Mutation(EngagementMutations, ZoneMutations, TenancyMutations):
    pass


class PartnerSchema(strawberry.Schema):
    """The schema without what no partner principal may ever read or set, nor what only
    partner auditors may (the audit log)."""

    auditor = False

    def get_fields(self, type_definition: StrawberryObjectDefinition) -> list[StrawberryField]:
        return [field for field in type_definition.fields if _partner_may(field, self.auditor)]


class PartnerAuditorSchema(PartnerSchema):
    """The partner schema with what partner auditors may read besides (the audit log)."""

    auditor = True


def _partner_may(field: StrawberryField, auditor: bool) -> bool:
    policy = policy_of(field)
    if policy is None:
        return True
    return policy.partner_may_read() and (auditor or not policy.partner_auditors_only())


def _config() -> StrawberryConfig:
    return StrawberryConfig(
        auto_camel_case=True, scalar_map={Money: MONEY_SCALAR, Long: LONG_SCALAR}
    )


_SCHEMA_CLASSES: dict[Audience, type[strawberry.Schema]] = {
    Audience.HOST: strawberry.Schema,
    Audience.PARTNER: PartnerSchema,
    Audience.PARTNER_AUDITOR: PartnerAuditorSchema,
}


def build_schema(audience: Audience = Audience.HOST) -> strawberry.Schema:
    built = _SCHEMA_CLASSES[audience](query=Query, mutation=Mutation, config=_config())
    check_policies(built)
    return built


schema = build_schema(Audience.HOST)
partner_schema = build_schema(Audience.PARTNER)
partner_auditor_schema = build_schema(Audience.PARTNER_AUDITOR)
SCHEMAS = {
    Audience.HOST: schema,
    Audience.PARTNER: partner_schema,
    Audience.PARTNER_AUDITOR: partner_auditor_schema,
}
