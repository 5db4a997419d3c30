"""Parsed and validated GraphQL documents, cached by query text and audience.

Parsing and validation cost about a millisecond per request; clients send the same few
documents over and over, so each distinct text is parsed and validated once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions.query_depth_limiter import create_validator
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

MAX_DEPTH = 12
MAX_TOKENS = 5000
MAX_QUERY_LENGTH = 100_000


@dataclass(slots=True)
class PreparedDocument:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: dict[str | None, OperationType]
    # Validation errors against each audience's schema, filled on first use.
    validated: dict[Hashable, tuple[GraphQLError, ...]] = field(default_factory=dict)

    def operation_type(self, operation_name: str | None) -> OperationType | None:
        if operation_name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(operation_name)


class DocumentCache:
    """Parsed documents by query text; each validated once per audience's schema.

    Parsing needs no schema, so it comes first (the operation type decides which database
    session a request takes); validation waits until the principal, and with it the
    audience, is known.
    """

    def __init__(self, schemas: Mapping[Hashable, GraphQLSchema], *, size: int = 1000) -> None:
        self._schemas = schemas
        self._size = size
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._rules = (
            *specified_rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
            create_validator(MAX_DEPTH, None, None),
        )

    def get(self, query: str) -> PreparedDocument:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            return entry
        entry = self._parse(query)
        if not entry.errors:  # only documents that parse are worth remembering
            self._entries[query] = entry
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def validate(self, entry: PreparedDocument, audience: Hashable) -> tuple[GraphQLError, ...]:
        """The document's errors against the audience's schema (none when it may run)."""
        errors = entry.validated.get(audience)
        if errors is None:
            assert entry.document is not None
            errors = tuple(validate(self._schemas[audience], entry.document, self._rules))
            entry.validated[audience] = errors
        return errors

    def _parse(self, query: str) -> PreparedDocument:
        if len(query) > MAX_QUERY_LENGTH:
            error = GraphQLError(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
            return PreparedDocument(None, (error,), {})
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), {})
        operations = {
            (definition.name.value if definition.name else None): definition.operation
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        }
        return PreparedDocument(document, (), operations)
