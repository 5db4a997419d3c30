"""The start-up check of field policies, and the policy table it reads.

Every field of every Membrane object type must declare a policy (deny by default): a schema
with one that does not is refused before anything is served. Exempt are the structural
types of Relay (`Connection`, `Edge`, `PageInfo`, and the `edges` and `pageInfo` a
connection inherits), which carry only what their parent field's policy already allowed,
and the `id` of a node, readable by whoever sees the row.
A field whose policy can refuse some readers must be nullable, so a refusal nulls the field
and not its parent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType
from strawberry import relay
from strawberry.types.base import StrawberryObjectDefinition, StrawberryOptional

from membrane.api.policies import VISIBLE, Policy, PolicyExtension, policy_of

_NODE_ID = "id"
_CONNECTION_FIELDS = frozenset({"edges", "pageInfo"})
# Relay's own types: they carry only what their parent field's policy allowed.
_RELAY_TYPES: tuple[type, ...] = (relay.Connection, relay.Edge, relay.PageInfo, relay.Node)


def _declared_in(definition: StrawberryObjectDefinition) -> type:
    """The class that declared a type (for `CountedConnection[Task]`, `CountedConnection`)."""
    generic = definition.concrete_of
    return (generic or definition).origin


def _relay_own(definition: StrawberryObjectDefinition) -> bool:
    """A type Relay declares itself (not a Membrane subclass such as `CountedConnection`)."""
    declared = _declared_in(definition)
    return declared in _RELAY_TYPES or (
        declared.__module__.startswith("strawberry.") and issubclass(declared, _RELAY_TYPES)
    )


def _structural(definition: StrawberryObjectDefinition, name: str) -> bool:
    """A node's id, and the edges and page info a connection inherits from Relay."""
    declared = _declared_in(definition)
    if name == _NODE_ID and issubclass(declared, relay.Node):
        return True
    return issubclass(declared, relay.Connection) and name in _CONNECTION_FIELDS


def _enforced(strawberry_field: Any, policy: Policy) -> bool:
    """A policy that can refuse is enforced by exactly one `PolicyExtension` carrying it."""
    if policy.always:
        return True
    enforcing = [e for e in strawberry_field.extensions if isinstance(e, PolicyExtension)]
    return len(enforcing) == 1 and enforcing[0].policy is policy


def _missing_attributes(definition: StrawberryObjectDefinition, policy: Policy) -> set[str]:
    """What a row-dependent policy reads from the object that the type does not have."""
    declared = _declared_in(definition)
    names = (
        {f.name for f in dataclasses.fields(declared)}
        if dataclasses.is_dataclass(declared)
        else set()
    )
    return {name for name in policy.reads() if name not in names and not hasattr(declared, name)}


class MissingPolicyError(RuntimeError):
    """The schema has fields without a policy, or with one that cannot be enforced."""


@dataclass(frozen=True, slots=True)
class PolicyRow:
    type_name: str
    field_name: str
    policy: Policy
    is_input: bool
    partner_visible: bool
    # in the schema of partners holding AUDITOR (the partner schema plus the audit log)
    partner_auditor_visible: bool

    @property
    def kind(self) -> str:
        if self.is_input:
            return "write"
        if self.type_name == "Mutation":
            return "call"
        return "row-dependent" if self.policy.row_dependent else "read"


def _membrane_types(
    schema: strawberry.Schema,
) -> list[tuple[str, StrawberryObjectDefinition, bool]]:
    found = []
    for name, graphql_type in sorted(schema._schema.type_map.items()):
        if name.startswith("__"):
            continue
        if not isinstance(
            graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            continue
        definition = schema.get_type_by_name(name)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        if _relay_own(definition):
            continue
        found.append((name, definition, isinstance(graphql_type, GraphQLInputObjectType)))
    return found


def _fields_of(schema: strawberry.Schema, type_name: str) -> dict[str, Any]:
    found = schema._schema.type_map.get(type_name)
    return getattr(found, "fields", {}) if found else {}


def policy_table(
    schema: strawberry.Schema,
    partner_schema: strawberry.Schema,
    partner_auditor_schema: strawberry.Schema | None = None,
) -> list[PolicyRow]:
    """Every policed field of the full schema, and whether the partner schemas have it."""
    rows = []
    for type_name, definition, is_input in _membrane_types(schema):
        graphql_fields = schema._schema.type_map[type_name].fields  # type: ignore[attr-defined]
        partner_fields = _fields_of(partner_schema, type_name)
        auditor_fields = _fields_of(partner_auditor_schema or partner_schema, type_name)
        seen: set[str] = set()
        for strawberry_field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(strawberry_field)
            if name not in graphql_fields or name in seen:
                continue
            seen.add(name)
            policy = policy_of(strawberry_field)
            if policy is None:
                if is_input:
                    continue  # an input field without a policy is settable by any writer
                if _structural(definition, name):
                    policy = VISIBLE
                else:
                    continue  # reported by check_policies
            rows.append(
                PolicyRow(
                    type_name,
                    name,
                    policy,
                    is_input,
                    name in partner_fields,
                    name in auditor_fields,
                )
            )
    return rows


def check_policies(schema: strawberry.Schema) -> None:
    """Refuse a schema with an unpoliced field, a policy nothing enforces or that reads what
    its type lacks, or a refusable field that is not nullable."""
    problems = []
    for type_name, definition, is_input in _membrane_types(schema):
        if is_input:
            continue
        graphql_fields = schema._schema.type_map[type_name].fields  # type: ignore[attr-defined]
        for strawberry_field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(strawberry_field)
            if name not in graphql_fields:
                continue  # private to the Python type
            policy = policy_of(strawberry_field)
            if policy is None:
                if not _structural(definition, name):
                    problems.append(f"{type_name}.{name} declares no policy")
                continue
            if not policy.always and not isinstance(strawberry_field.type, StrawberryOptional):
                problems.append(
                    f"{type_name}.{name} may be refused ({policy.describe()}) but is not nullable"
                )
            if not _enforced(strawberry_field, policy):
                problems.append(f"{type_name}.{name} declares a policy nothing enforces")
            missing = _missing_attributes(definition, policy)
            if missing:
                problems.append(
                    f"{type_name}.{name}: its policy reads {', '.join(sorted(missing))}, "
                    "which the type lacks"
                )
    if problems:
        raise MissingPolicyError(
            "every field needs a policy that can be enforced (membrane.api.policies):\n  "
            + "\n  ".join(problems)
        )
