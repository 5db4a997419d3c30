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
from collections.abc import Iterator
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


@dataclass(frozen=True, slots=True)
class _Served:
    """A field a schema serves, with the type that declares it."""

    type_name: str
    definition: StrawberryObjectDefinition
    is_input: bool
    field: Any  # StrawberryField
    name: str


def _served_fields(schema: strawberry.Schema) -> Iterator[_Served]:
    """Each field of each Membrane type the schema serves, once (not private attributes)."""
    for type_name, definition, is_input in _membrane_types(schema):
        graphql_fields = schema._schema.type_map[type_name].fields  # type: ignore[attr-defined]
        seen: set[str] = set()
        for strawberry_field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(strawberry_field)
            if name in graphql_fields and name not in seen:
                seen.add(name)
                yield _Served(type_name, definition, is_input, strawberry_field, name)


def policy_table(
    schema: strawberry.Schema,
    partner_schema: strawberry.Schema,
    partner_auditor_schema: strawberry.Schema | None = None,
) -> list[PolicyRow]:
    """Every policed field of the full schema, and whether the partner schemas have it."""
    rows = []
    for served in _served_fields(schema):
        policy = policy_of(served.field)
        if policy is None:
            if served.is_input:
                continue  # an input field without a policy is settable by any writer
            if not _structural(served.definition, served.name):
                continue  # reported by check_policies
            policy = VISIBLE
        partner_fields = _fields_of(partner_schema, served.type_name)
        auditor_fields = _fields_of(partner_auditor_schema or partner_schema, served.type_name)
        rows.append(
            PolicyRow(
                served.type_name,
                served.name,
                policy,
                served.is_input,
                served.name in partner_fields,
                served.name in auditor_fields,
            )
        )
    return rows


def check_policies(schema: strawberry.Schema) -> None:
    """Refuse a schema with an unpoliced field, a policy nothing enforces or that reads what
    its type lacks, or a refusable field that is not nullable."""
    problems = []
    for served in _served_fields(schema):
        if served.is_input:
            continue
        where = f"{served.type_name}.{served.name}"
        policy = policy_of(served.field)
        if policy is None:
            if not _structural(served.definition, served.name):
                problems.append(f"{where} declares no policy")
            continue
        if not policy.always and not isinstance(served.field.type, StrawberryOptional):
            problems.append(f"{where} may be refused ({policy.describe()}) but is not nullable")
        if not _enforced(served.field, policy):
            problems.append(f"{where} declares a policy nothing enforces")
        missing = _missing_attributes(served.definition, policy)
        if missing:
            problems.append(
                f"{where}: its policy reads {', '.join(sorted(missing))}, which the type lacks"
            )
    if problems:
        raise MissingPolicyError(
            "every field needs a policy that can be enforced (membrane.api.policies):\n  "
            + "\n  ".join(problems)
        )
