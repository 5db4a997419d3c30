"""Mapping of every error to one GraphQL error with `extensions.code`; internals are masked."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from graphql import GraphQLError

from membrane.errors import DomainError, ErrorCode

logger = logging.getLogger("membrane.api")

_DEPTH_MESSAGE = "exceeds maximum operation depth"


def _input_argument(error: GraphQLError) -> str | None:
    """`input` when the failing field takes one input object (a mutation)."""
    for node in error.nodes or ():
        arguments = getattr(node, "arguments", None) or ()
        if any(argument.name.value == "input" for argument in arguments):
            return "input"
    return None


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path is not None:
        formatted["path"] = list(error.path)
    extensions: dict[str, Any]
    if original is None:
        code = (
            ErrorCode.QUERY_TOO_COMPLEX
            if _DEPTH_MESSAGE in error.message
            else ErrorCode.BAD_USER_INPUT
        )
        extensions = {"code": code.value}
        if error.extensions:
            extensions = {**error.extensions, **extensions}
    elif isinstance(original, DomainError):
        extensions = {"code": original.code.value}
        formatted["message"] = original.message
        if original.field is not None:
            prefix = _input_argument(error)
            extensions["field"] = f"{prefix}.{original.field}" if prefix else original.field
    elif error.extensions and "code" in error.extensions:
        extensions = dict(error.extensions)
    else:
        error_id = uuid.uuid4().hex
        logger.error(
            "internal error %s at %s: %s",
            error_id,
            ".".join(str(part) for part in error.path or ()),
            type(original).__name__,
        )
        formatted["message"] = "Internal server error"
        extensions = {"code": ErrorCode.INTERNAL.value, "errorId": error_id}
    formatted["extensions"] = extensions
    return formatted


def request_error(message: str, code: ErrorCode) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code.value}}]}
