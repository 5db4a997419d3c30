"""`/graphql` over HTTP (GraphQL-over-HTTP): GET and POST, GraphiQL outside production.

Authenticates the bearer token, parses the document, loads the principal, validates and runs
the document with graphql-core against the schema of the principal's audience (host or
partner), and serialises with orjson.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
from graphql import DocumentNode, ExecutionResult, OperationType, execute
from sqlalchemy.exc import ArgumentError, DBAPIError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema._graphql_core import execution_context_class_kwargs

from membrane.api.context import Context
from membrane.api.errors import format_error, request_error
from membrane.api.runtime import Runtime
from membrane.api.schema import SCHEMAS, audience_of, schema
from membrane.api.tenant_resolution import TenantRefusedError, resolve_tenant
from membrane.audit.recorder import Recorder
from membrane.audit.requests import actor_of
from membrane.auth import principals
from membrane.auth.errors import AuthenticationError
from membrane.errors import ErrorCode
from membrane.secrets import SecretError
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.stores import StoreUnavailableError

logger = logging.getLogger(__name__)
GRAPHQL_RESPONSE = "application/graphql-response+json"
STATIC = Path(__file__).resolve().parent / "static"
GRAPHIQL_HTML = (STATIC / "graphiql.html").read_text(encoding="utf-8")
JSON = "application/json"
_EXECUTION_KWARGS: dict[str, Any] = execution_context_class_kwargs(schema.execution_context_class)


def _json(payload: Any, status: int = 200, media_type: str = JSON, **headers: str) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, media_type=media_type, headers=headers
    )


def _response_media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if GRAPHQL_RESPONSE in accept and JSON not in accept.split(GRAPHQL_RESPONSE)[0]:
        return GRAPHQL_RESPONSE
    return JSON


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError("missing bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("authorization header must be 'Bearer <token>'")
    return token.strip()


class BadRequestError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


MAX_BODY_BYTES = 1_048_576


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused (413) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequestError(f"the request body is larger than {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequestError(f"the request body is larger than {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        raw_variables = params.get("variables")
        if raw_variables:
            try:
                params["variables"] = orjson.loads(raw_variables)
            except orjson.JSONDecodeError:
                raise BadRequestError("variables is not valid JSON") from None
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (JSON, ""):
        raise BadRequestError("POST bodies must be application/json", status=415)
    body = await read_body(request)
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequestError("the request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise BadRequestError("the request body must be a JSON object")
    return params


def _check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query = params.get("query")
    variables = params.get("variables")
    operation_name = params.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadRequestError("the request must carry a query string")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("variables must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequestError("operationName must be a string")
    return query, variables, operation_name


async def graphql_endpoint(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    if (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    ):
        if runtime.settings.production:
            return _json(
                request_error("GraphiQL is disabled in production", ErrorCode.NOT_FOUND), 404
            )
        return HTMLResponse(GRAPHIQL_HTML)

    media_type = _response_media_type(request)
    # Who asks comes first: nothing of the schema is parsed, validated or cached for
    # anonymous callers.
    try:
        claims = runtime.tokens.verify(_bearer(request))
    except AuthenticationError as error:
        return _unauthenticated(error, media_type)
    try:
        params = await _read_params(request)
        query, variables, operation_name = _check_params(params)
    except BadRequestError as error:
        return _json(
            request_error(error.message, ErrorCode.BAD_USER_INPUT), error.status, media_type
        )

    # GraphQL-over-HTTP: a well-formed request that GraphQL refuses answers 200 with
    # application/json, and 400 with application/graphql-response+json (no data).
    refused = 400 if media_type == GRAPHQL_RESPONSE else 200
    prepared = runtime.documents.get(query)
    if prepared.errors or prepared.document is None:
        errors = [format_error(e, prepared.document) for e in prepared.errors]
        return _json({"errors": errors}, refused, media_type)
    operation = prepared.operation_type(operation_name)
    if operation is None:
        return _json(
            request_error(
                "operationName does not name an operation of the document", ErrorCode.BAD_USER_INPUT
            ),
            refused,
            media_type,
        )
    if operation is OperationType.SUBSCRIPTION:
        return _json(
            request_error("subscriptions are not served over HTTP", ErrorCode.BAD_USER_INPUT),
            refused,
            media_type,
        )
    if request.method == "GET" and operation is not OperationType.QUERY:
        return _json(
            request_error("mutations must be sent with POST", ErrorCode.BAD_USER_INPUT),
            405,
            media_type,
            allow="POST",
        )

    try:
        tenant = await resolve_tenant(request, runtime, claims.tenant_id)
    except TenantRefusedError as error:
        extra = {"retry-after": "5"} if error.status == 503 else {}
        return _json(request_error(error.message, error.code), error.status, media_type, **extra)
    try:
        store = runtime.stores.store_for(tenant)
    except (StoreUnavailableError, SecretError, ValueError, ArgumentError):
        logger.exception("the store of tenant %s cannot be opened", tenant.slug)
        return _store_unavailable(tenant.slug, media_type)
    sessions = store.sessions if operation is OperationType.MUTATION else store.read_sessions
    async with sessions() as session:
        bind_tenant(session, tenant.id)
        try:
            # Root fields run concurrently; the session must not be first used by two of
            # them at once, so it takes its connection before any resolver runs.
            await session.connection()
        except (DBAPIError, OSError, TimeoutError):
            logger.warning("the store of tenant %s is unreachable", tenant.slug)
            return _store_unavailable(tenant.slug, media_type)
        principal = (
            runtime.principals.get(claims.tenant_id, claims.subject)
            if store.announces_changes
            else None
        )
        if principal is None or principal.organization_id != claims.organization_id:
            generation = runtime.principals.generation
            try:
                principal = await principals.principal_for_claims(session, claims)
            except AuthenticationError as error:
                return _unauthenticated(error, media_type)
            if store.announces_changes:
                runtime.principals.put(principal, generation)
        audience = audience_of(principal)
        invalid = runtime.documents.validate(prepared, audience)
        if invalid:
            errors = [format_error(e, prepared.document) for e in invalid]
            return _json({"errors": errors}, refused, media_type)
        recorder = Recorder(
            actor_of(request, principal, "graphql"), runtime.settings.audit_redacted
        )
        context = Context.create(
            session,
            principal,
            secrets=runtime.stores.secrets,
            production=runtime.settings.production,
            audit=recorder,
            audit_log=runtime.audit,
        )
        result = execute(
            SCHEMAS[audience]._schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            **_EXECUTION_KWARGS,
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        assert isinstance(result, ExecutionResult)
    request_failed = _is_request_error(result)
    status = 400 if request_failed and media_type == GRAPHQL_RESPONSE else 200
    # Encoded before the read's events are awaited: the result's objects are then free.
    response = _json(_payload(result, prepared.document, request_failed), status, media_type)
    if operation is OperationType.QUERY:
        named = operation_name or next(iter(prepared.operations), None)
        drafts = recorder.read_drafts(named)
        del result, context, recorder
        if drafts:
            try:
                await runtime.audit.append_committed(store.sessions, tenant.id, drafts)
            except (DBAPIError, OSError, TimeoutError):
                # What may not be recorded is not delivered.
                logger.exception("the audit event of a read of tenant %s failed", tenant.slug)
                return _json(
                    request_error("the audit log cannot be written", ErrorCode.UNAVAILABLE),
                    503,
                    media_type,
                    **{"retry-after": "5"},
                )
    return response


def _is_request_error(result: ExecutionResult) -> bool:
    """Execution never started (variable coercion failed): errors only, none with a path.

    Errors raised while executing always carry the path of their field, even when they
    null the whole `data`.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def _payload(
    result: ExecutionResult, document: DocumentNode, request_failed: bool
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [format_error(error, document) for error in result.errors]
    if not request_failed:
        payload["data"] = result.data
    return payload


def _store_unavailable(slug: str, media_type: str) -> Response:
    return _json(
        request_error(f"the database of tenant {slug!r} is unavailable", ErrorCode.UNAVAILABLE),
        503,
        media_type,
        **{"retry-after": "5"},
    )


def _unauthenticated(error: AuthenticationError, media_type: str) -> Response:
    return _json(
        request_error(f"Not authenticated: {error.reason}", ErrorCode.UNAUTHENTICATED),
        401,
        media_type,
        **{"www-authenticate": 'Bearer error="invalid_token"'},
    )


__all__ = ["graphql_endpoint"]
