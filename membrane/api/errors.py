"""Mapping of every error to one GraphQL error with `extensions.code`; internals are masked."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectFieldNode,
    ObjectValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    visit,
)
from graphql.language import Visitor

from membrane.errors import DomainError, ErrorCode

logger = logging.getLogger("membrane.api")

# Limits on the size of a document (documents.py and graphql-core's parser) and its depth.
_TOO_COMPLEX_MESSAGES = (
    "exceeds maximum operation depth",
    "tokens. Parsing aborted.",
    "The query is longer than",
)
_INPUT_PATH_STEP = re.compile(r"\.([_A-Za-z][_0-9A-Za-z]*)|\[(\d+)\]")
_UNKNOWN_INPUT_FIELD = re.compile(
    r"^Expected value of type '[_0-9A-Za-z]+' not to include unknown field "
    r"'([_A-Za-z][_0-9A-Za-z]*)'"
)


def _input_argument(error: GraphQLError) -> str | None:
    """`input` when the failing field takes one input object (a mutation)."""
    for node in error.nodes or ():
        arguments = getattr(node, "arguments", None) or ()
        if any(argument.name.value == "input" for argument in arguments):
            return "input"
    return None


def _values_in(
    value: ValueNode, path: tuple[str, ...]
) -> Iterator[tuple[ValueNode, tuple[str, ...]]]:
    """Every value inside an argument's literal, with its path (`input`, `title`, ...)."""
    yield value, path
    if isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _values_in(field.value, (*path, field.name.value))
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _values_in(item, (*path, str(index)))


def _argument_values(document: DocumentNode) -> Iterator[tuple[ValueNode, tuple[str, ...]]]:
    arguments: list[ArgumentNode] = []

    class _Arguments(Visitor):
        def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
            arguments.append(node)

    visit(document, _Arguments())
    for argument in arguments:
        yield from _values_in(argument.value, (argument.name.value,))


def _literal_path(document: DocumentNode, target: Node) -> tuple[str, ...] | None:
    for value, path in _argument_values(document):
        if value is target:
            return path
    return None


def _variable_path(document: DocumentNode, name: str) -> tuple[str, ...] | None:
    for value, path in _argument_values(document):
        if isinstance(value, VariableNode) and value.name.value == name:
            return path
    return None


def _path_inside_variable(error: GraphQLError, name: str) -> tuple[str, ...]:
    """The path inside the variable's value that graphql-core names in its message.

    graphql-core reports it only as text: "Variable '$i' has invalid value at .zone: ...";
    an unknown key is reported at its object, so its name is taken from the inner message.
    """
    original = error.original_error
    prefix = f"Variable '${name}' has invalid value"
    if not isinstance(original, GraphQLError) or not error.message.startswith(prefix):
        return ()
    suffix = f": {original.message}"
    if not error.message.endswith(suffix):
        return ()
    printed = error.message[len(prefix) : len(error.message) - len(suffix)]
    if printed and not printed.startswith(" at "):
        return ()
    steps = [key or index for key, index in _INPUT_PATH_STEP.findall(printed[len(" at ") :])]
    unknown = _UNKNOWN_INPUT_FIELD.match(original.message)
    if unknown:
        steps.append(unknown.group(1))
    return tuple(steps)


def _request_error_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """The argument path (`input.zone`) of a literal or variable value that failed."""
    if document is None or not error.nodes:
        return None
    node = error.nodes[0]
    if isinstance(node, VariableDefinitionNode):
        name = node.variable.name.value
        used_at = _variable_path(document, name)
        if used_at is None:
            return None
        path = (*used_at, *_path_inside_variable(error, name))
    elif isinstance(node, ArgumentNode):
        path = (node.name.value,)
    elif isinstance(node, ObjectFieldNode):
        found = _literal_path(document, node.value)
        if found is None:
            return None
        path = found
    else:
        found = _literal_path(document, node)
        if found is None:
            return None
        path = found
    return ".".join(path)


def _internal(error: GraphQLError) -> dict[str, Any]:
    error_id = uuid.uuid4().hex
    original = error.original_error
    logger.error(
        "internal error %s at %s: %s",
        error_id,
        ".".join(str(part) for part in error.path or ()),
        type(original).__name__ if original is not None else error.message,
    )
    return {"code": ErrorCode.INTERNAL.value, "errorId": error_id}


def format_error(error: GraphQLError, document: DocumentNode | None = None) -> dict[str, Any]:
    """One error as sent to the client.

    Errors without a path were raised before execution (parsing, validation, variable
    coercion): they are the client's, BAD_USER_INPUT (or QUERY_TOO_COMPLEX), with the
    offending argument path in `extensions.field` when it can be told from `document`.
    Errors during execution keep a domain error's code; anything unexpected is masked.
    """
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = list(error.path)
    extensions: dict[str, Any]
    if error.path is None:
        too_complex = any(text in error.message for text in _TOO_COMPLEX_MESSAGES)
        code = ErrorCode.QUERY_TOO_COMPLEX if too_complex else ErrorCode.BAD_USER_INPUT
        extensions = {**(error.extensions or {}), "code": code.value}
        field = _request_error_field(error, document)
        if field is not None:
            extensions["field"] = field
    elif isinstance(original, DomainError):
        extensions = {"code": original.code.value}
        formatted["message"] = original.message
        if original.field is not None:
            prefix = _input_argument(error)
            extensions["field"] = f"{prefix}.{original.field}" if prefix else original.field
    elif error.extensions and "code" in error.extensions:
        extensions = dict(error.extensions)
    else:
        formatted["message"] = "Internal server error"
        extensions = _internal(error)
    formatted["extensions"] = extensions
    return formatted


def request_error(message: str, code: ErrorCode) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code.value}}]}
