"""Parsed and validated GraphQL documents, cached by query text.

Parsing and validation cost about a millisecond per request; clients send the same few
documents over and over, so each distinct text is parsed and validated once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: dict[str | None, OperationType]

    def operation_type(self, operation_name: str | None) -> OperationType | None:
        if operation_name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(operation_name)


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, *, size: int = 1000) -> None:
        self._schema = schema
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
        entry = self._prepare(query)
        if not entry.errors:  # only documents that will run are worth remembering
            self._entries[query] = entry
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def _prepare(self, query: str) -> PreparedDocument:
        if len(query) > MAX_QUERY_LENGTH:
            error = GraphQLError(f"The query is longer than {MAX_QUERY_LENGTH} characters.")
            return PreparedDocument(None, (error,), {})
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            return PreparedDocument(None, (error,), {})
        errors = validate(self._schema, document, self._rules)
        operations = {
            (definition.name.value if definition.name else None): definition.operation
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        }
        return PreparedDocument(document, tuple(errors), operations)
