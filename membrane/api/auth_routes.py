"""`/auth/*`: sign-in through organizations' identity providers, refresh, token exchange
and sign-out (docs/federation.md has the sequence and the lifetimes).

Two flows share the endpoints. The browser flow keeps everything in cookies and
redirects: `/auth/login…` sets a short-lived `membrane_login` cookie holding the state
and redirects to the provider; `/auth/callback` checks the cookie, signs the person in,
sets the `membrane_refresh` cookie (`HttpOnly`, `SameSite=Strict`, path `/auth`,
`Secure` outside plain-HTTP development) and redirects to `MEMBRANE_FRONTEND_URL`. The
API flow (`Accept: application/json`) answers JSON: the login gives the authorization URL,
the callback relays the provider's code and state to the front end, which posts them to
`/auth/callback` and receives the tokens in the body. Errors are JSON in the API flow and
a redirect to the front end with `error` and `error_description` in the browser flow.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from membrane.api import auth_audit
from membrane.api.graphql_http import BadRequestError, read_body
from membrane.api.runtime import Runtime
from membrane.api.tenant_resolution import (
    TenantRefusedError,
    named_tenant,
    named_tenant_entry,
    tenant_by_slug,
)
from membrane.audit.models import Outcome
from membrane.audit.recorder import Recorder
from membrane.audit.requests import actor_of
from membrane.auth import refresh_tokens
from membrane.auth.federation import exchange, login
from membrane.auth.federation.errors import SignInError
from membrane.auth.federation.identities import user_for_identity
from membrane.config import TenantSource
from membrane.secrets import SecretError
from membrane.tenancy.catalog import CatalogEntry
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.stores import StoreUnavailableError

logger = logging.getLogger(__name__)
LOGIN_COOKIE = "membrane_login"
REFRESH_COOKIE = "membrane_refresh"
_FORM_LIMIT = 65_536
_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
_TENANT_REASONS = {
    400: "tenant_required",
    403: "tenant_suspended",
    404: "unknown_tenant",
    503: "tenant_unavailable",
}


def routes() -> list[Route]:
    return [
        Route("/auth/login", sign_in, methods=["GET"]),
        Route("/auth/login/{org}", sign_in, methods=["GET"]),
        Route("/auth/callback", callback, methods=["POST"]),
        Route("/auth/callback/{provider}", callback, methods=["GET"]),
        Route("/auth/token", token, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
    ]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _redirect_uri(runtime: Runtime, tenant: CatalogEntry, provider_id: uuid.UUID) -> str:
    return login.callback_url(login.callback_base(runtime.settings, tenant.slug), provider_id)


def _secure(runtime: Runtime) -> bool:
    return runtime.settings.production or runtime.settings.issuer.startswith("https://")


def _return_to(raw: str | None) -> str:
    value = raw or "/"
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or len(value) > 1000
        or any(ord(c) < 0x21 for c in value)
    ):
        raise SignInError("invalid_return_to", "return_to must be a path of the front end")
    return value


def _tenant_refused(error: TenantRefusedError) -> SignInError:
    return SignInError(
        _TENANT_REASONS.get(error.status, "unknown_tenant"),
        error.message,
        status=error.status,
        error="invalid_request",
    )


@asynccontextmanager
async def _session(runtime: Runtime, tenant: CatalogEntry) -> AsyncIterator[AsyncSession]:
    """A session of the tenant's store; an unreachable store is a 503, not a stack trace."""
    unavailable = SignInError(
        "tenant_unavailable",
        f"the database of tenant {tenant.slug!r} is unavailable",
        status=503,
        error="temporarily_unavailable",
    )
    try:
        store = runtime.stores.store_for(tenant)
    except (StoreUnavailableError, SecretError, ValueError, ArgumentError):
        logger.exception("the store of tenant %s cannot be opened", tenant.slug)
        raise unavailable from None
    try:
        async with store.sessions() as session:
            bind_tenant(session, tenant.id)
            yield session
    except IntegrityError:
        # Two sign-ins of one new person at the same moment: one provisioned them.
        raise SignInError(
            "conflict", "a simultaneous sign-in changed the same person; try again", status=409
        ) from None
    except (DBAPIError, OSError, PoolTimeoutError) as error:
        logger.warning("the store of tenant %s failed: %s", tenant.slug, type(error).__name__)
        raise unavailable from None


async def _params(request: Request) -> dict[str, str]:
    """Form (RFC 6749) or JSON parameters of a POST, strings only."""
    try:
        body = await read_body(request, _FORM_LIMIT)
    except BadRequestError as error:
        raise SignInError("invalid_request", error.message, status=error.status) from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            parsed: Any = orjson.loads(body or b"{}")
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            items = list(parsed.items())
        elif content_type in ("application/x-www-form-urlencoded", ""):
            items = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        else:
            raise SignInError(
                "invalid_request",
                "send application/x-www-form-urlencoded or application/json",
                status=415,
                error="invalid_request",
            )
    except (ValueError, UnicodeDecodeError):
        raise SignInError(
            "invalid_request", "the body is not a form or JSON object", error="invalid_request"
        ) from None
    return {str(k): v for k, v in items if isinstance(v, str)}


def _refused(request: Request, error: SignInError, *, browser: bool) -> Response:
    logger.warning(
        "%s %s refused: %s (%s)", request.method, request.url.path, error.reason, error.message
    )
    if browser:
        query = urlencode({"error": error.reason, "error_description": error.message})
        response: Response = RedirectResponse(
            f"{_runtime(request).settings.frontend_url}/?{query}", 303
        )
        response.delete_cookie(LOGIN_COOKIE, path="/auth/callback")
        return response
    return JSONResponse(
        {"error": error.error, "reason": error.reason, "error_description": error.message},
        error.status,
        headers=_NO_STORE,
    )


async def sign_in(request: Request) -> Response:
    runtime = _runtime(request)
    browser = not _wants_json(request)
    email = request.query_params.get("email")
    org_slug = request.path_params.get("org")
    try:
        try:
            tenant = await named_tenant_entry(request, runtime)
        except TenantRefusedError as error:
            raise _tenant_refused(error) from None
        return_to = _return_to(request.query_params.get("return_to"))
        async with _session(runtime, tenant) as session:
            if org_slug is not None:
                organization = await login.organization_by_slug(session, tenant.id, org_slug)
            elif email:
                organization = await login.organization_for_email(session, email)
            else:
                raise SignInError(
                    "invalid_request",
                    "name the organization (/auth/login/{org}) or give ?email=",
                    error="invalid_request",
                )
            provider = await login.provider_of(session, organization)
            await session.commit()  # no connection is held while the provider answers
            metadata = await login.metadata_of(runtime.providers, provider)
            started = await login.start_login(
                session,
                runtime.secrets,
                tenant_slug=tenant.slug,
                organization=organization,
                provider=provider,
                metadata=metadata,
                redirect_uri=_redirect_uri(runtime, tenant, provider.id),
                flow=login.BROWSER if browser else login.API,
                return_to=return_to,
                login_hint=email or request.query_params.get("login_hint"),
            )
            await session.commit()
    except SignInError as error:
        return _refused(request, error, browser=browser)
    if not browser:
        return JSONResponse(
            {
                "authorization_url": started.authorization_url,
                "state": started.state,
                "expires_in": started.expires_in,
            },
            headers=_NO_STORE,
        )
    response = RedirectResponse(started.authorization_url, 302)
    response.set_cookie(
        LOGIN_COOKIE,
        started.state,
        max_age=started.expires_in,
        path="/auth/callback",
        secure=_secure(runtime),
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
    )
    return response


def _tokens_body(
    runtime: Runtime, tenant: CatalogEntry, user_id: uuid.UUID, organization_id: uuid.UUID
) -> dict[str, Any]:
    """A new access token, as the token endpoint answers it (RFC 6749, section 5.1)."""
    ttl = runtime.settings.access_token_ttl_seconds
    access = runtime.tokens.mint(
        subject=user_id, tenant_id=tenant.id, organization_id=organization_id, ttl_seconds=ttl
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl}


def _set_refresh_cookie(
    runtime: Runtime, response: Response, issued: refresh_tokens.IssuedRefreshToken
) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        issued.token,
        max_age=runtime.settings.refresh_token_ttl_seconds,
        path="/auth",
        secure=_secure(runtime),
        httponly=True,
        samesite="strict",
    )


async def callback(request: Request) -> Response:
    """`GET /auth/callback/{provider}` (where the provider sends the browser back) and
    `POST /auth/callback` (the API flow's front end, with the relayed code and state)."""
    runtime = _runtime(request)
    settings = runtime.settings
    path_provider = request.path_params.get("provider")
    browser = request.method == "GET" and not _wants_json(request)
    tenant: CatalogEntry | None = None
    try:
        params = dict(request.query_params) if request.method == "GET" else await _params(request)
        state = params.get("state") or ""
        if not state:
            raise SignInError("invalid_state", "the callback carries no state")
        tenant = await _callback_tenant(request, runtime, state)
        async with _session(runtime, tenant) as session:
            attempt = await login.attempt_by_state(session, state)
            if attempt is None:
                raise SignInError("invalid_state", "the sign-in state is unknown; start again")
            if attempt.used_at is not None:
                raise SignInError(
                    "state_replayed", "this sign-in was already completed; start again"
                )
            if path_provider is not None and path_provider != str(attempt.provider_id):
                raise SignInError(
                    "provider_mismatch",
                    "the response came back through another provider than the sign-in's",
                )
            if attempt.flow == login.API and request.method == "GET":
                return _relay(settings.frontend_url, attempt.return_to, params)
            if attempt.flow == login.BROWSER:
                browser = True
                cookie = request.cookies.get(LOGIN_COOKIE, "")
                if request.method != "GET" or not hmac.compare_digest(cookie, state):
                    raise SignInError(
                        "state_mismatch", "this browser did not start the sign-in; start again"
                    )
            try:
                await login.claim_attempt(session, attempt)
            finally:
                await session.commit()  # a used state stays used, whatever follows
            if params.get("error"):
                raise SignInError(
                    "provider_refused",
                    "the identity provider refused the sign-in "
                    f"({_provider_error(params['error'])})",
                    status=403,
                )
            code = params.get("code") or ""
            if not code or len(code) > 2048:
                raise SignInError("invalid_request", "the callback carries no usable code")
            redemption = await login.prepare_redemption(session, runtime.secrets, attempt.id)
            await session.commit()  # no connection is held while the provider answers
            claims = await login.redeem(
                runtime.providers,
                redemption,
                code=code,
                redirect_uri=_redirect_uri(runtime, tenant, redemption.provider.id),
                issuer=params.get("iss"),
            )
            # Who the sign-in provisions, which roles it maps, which invitations it
            # accepts: recorded with the sign-in's event.
            provisioning = Recorder(actor_of(request, None, "auth"), settings.audit_redacted)
            provisioning.begin("auth.sign_in")
            with provisioning.tracking(session):
                user = await user_for_identity(
                    session,
                    tenant_id=redemption.tenant_id,
                    provider=redemption.provider,
                    organization=redemption.organization,
                    claims=claims,
                )
                await session.flush()
            issued = await refresh_tokens.issue(
                session,
                tenant_slug=tenant.slug,
                tenant_id=tenant.id,
                user_id=user.id,
                organization_id=user.organization_id,
                ttl_seconds=settings.refresh_token_ttl_seconds,
                family_max_age_seconds=settings.session_max_age_seconds,
            )
            body = _tokens_body(runtime, tenant, user.id, user.organization_id)
            signed_in = auth_audit.draft(
                request,
                "auth.sign_in",
                user_id=user.id,
                organization_id=user.organization_id,
                details={
                    "provider": str(redemption.provider.id),
                    "flow": attempt.flow,
                    "changes": provisioning.changes(),
                },
            )
            await auth_audit.record(runtime, session, tenant, signed_in)
            await session.commit()
    except SignInError as error:
        await auth_audit.record_refusal(runtime, request, tenant, "auth.sign_in", error)
        return _refused(request, error, browser=browser)
    logger.info("user %s of tenant %s signed in", user.id, tenant.slug)
    if browser:
        response: Response = RedirectResponse(
            f"{settings.frontend_url}{attempt.return_to}", 303, headers=_NO_STORE
        )
        response.delete_cookie(LOGIN_COOKIE, path="/auth/callback")
        _set_refresh_cookie(runtime, response, issued)
        return response
    return JSONResponse(
        {
            **body,
            "refresh_token": issued.token,
            "refresh_expires_in": settings.refresh_token_ttl_seconds,
        },
        headers=_NO_STORE,
    )


async def _callback_tenant(request: Request, runtime: Runtime, state: str) -> CatalogEntry:
    """The tenant the state names, which must be the one the request is for when tenants
    have host names of their own."""
    slug = state.partition(".")[0]
    if runtime.settings.tenant_source is TenantSource.HOST:
        try:
            named = named_tenant(request, runtime)
        except TenantRefusedError as error:
            raise _tenant_refused(error) from None
        if named is None or named.lower() != slug.lower():
            raise SignInError("invalid_state", "the sign-in state is of another tenant")
    return await _tenant_named_by(
        runtime, slug, SignInError("invalid_state", "the sign-in state is unknown")
    )


async def _tenant_named_by(runtime: Runtime, slug: str, unknown: SignInError) -> CatalogEntry:
    """The tenant a state or refresh token names; `unknown` when there is none (a client
    learns nothing of which tenants exist from a made-up value)."""
    try:
        return await tenant_by_slug(runtime, slug)
    except TenantRefusedError as error:
        if error.status == 404:
            raise unknown from None
        raise _tenant_refused(error) from None


def _relay(frontend_url: str, return_to: str, params: dict[str, str]) -> Response:
    """API flow: hand the provider's answer to the front end in the URL fragment (never sent
    to a server, nor in a Referer), which finishes with `POST /auth/callback`."""
    relay: dict[str, str] = {k: params[k] for k in ("code", "state", "iss") if k in params}
    if "error" in params:
        relay["error"] = _provider_error(params["error"])
    return RedirectResponse(
        f"{frontend_url}{return_to}#{urlencode(relay)}",
        303,
        headers={**_NO_STORE, "referrer-policy": "no-referrer"},
    )


# The error codes of RFC 6749 (4.1.2.1) and OpenID Connect Core (3.1.2.6) a provider may
# send back; anything else is reported as `unknown`, never echoed.
_PROVIDER_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)


def _provider_error(raw: str) -> str:
    return raw if raw in _PROVIDER_ERRORS else "unknown"


async def _refresh(request: Request, params: dict[str, str]) -> Response:
    runtime = _runtime(request)
    from_cookie = "refresh_token" not in params
    raw = request.cookies.get(REFRESH_COOKIE, "") if from_cookie else params["refresh_token"]
    if not raw:
        raise SignInError("invalid_request", "no refresh token", error="invalid_request")
    tenant = await _tenant_named_by(
        runtime,
        refresh_tokens.tenant_slug_of(raw),
        SignInError("unknown_refresh_token", "the refresh token is unknown", error="invalid_grant"),
    )
    async with _session(runtime, tenant) as session:
        rotation = await refresh_tokens.rotate(
            session,
            raw,
            tenant_slug=tenant.slug,
            ttl_seconds=runtime.settings.refresh_token_ttl_seconds,
            reuse_grace_seconds=runtime.settings.refresh_reuse_grace_seconds,
        )
        if rotation.refused is not None:
            refused = auth_audit.draft(
                request,
                "auth.refresh",
                outcome=Outcome.DENIED,
                details={"reason": rotation.refused.reason},
            )
            await auth_audit.record(runtime, session, tenant, refused)
        else:
            assert rotation.next is not None
            refreshed = auth_audit.draft(
                request,
                "auth.refresh",
                user_id=rotation.next.user_id,
                organization_id=rotation.next.organization_id,
            )
            await auth_audit.record(runtime, session, tenant, refreshed)
        await session.commit()
    if rotation.refused is not None:
        raise rotation.refused
    issued = rotation.next
    assert issued is not None
    body = _tokens_body(runtime, tenant, issued.user_id, issued.organization_id)
    if not from_cookie:
        body["refresh_token"] = issued.token
        body["refresh_expires_in"] = runtime.settings.refresh_token_ttl_seconds
    response = JSONResponse(body, headers=_NO_STORE)
    if from_cookie:
        _set_refresh_cookie(runtime, response, issued)
    return response


async def _exchange(request: Request, params: dict[str, str]) -> Response:
    runtime = _runtime(request)
    try:
        tenant = await named_tenant_entry(request, runtime)
    except TenantRefusedError as error:
        raise _tenant_refused(error) from None
    subject_token = params.get("subject_token") or ""
    if not subject_token:
        raise SignInError("invalid_request", "subject_token is missing", error="invalid_request")
    try:
        async with _session(runtime, tenant) as session:
            user = await exchange.exchange(
                session,
                runtime.providers,
                tenant_id=tenant.id,
                subject_token=subject_token,
                subject_token_type=params.get("subject_token_type") or "",
                requested_token_type=params.get("requested_token_type"),
            )
            exchanged = auth_audit.draft(
                request, "auth.exchange", user_id=user.id, organization_id=user.organization_id
            )
            await auth_audit.record(runtime, session, tenant, exchanged)
            await session.commit()
    except SignInError as error:
        await auth_audit.record_refusal(runtime, request, tenant, "auth.exchange", error)
        raise
    logger.info("user %s of tenant %s exchanged a provider token", user.id, tenant.slug)
    body = _tokens_body(runtime, tenant, user.id, user.organization_id)
    return JSONResponse(
        {**body, "issued_token_type": exchange.ACCESS_TOKEN_TYPE}, headers=_NO_STORE
    )


async def token(request: Request) -> Response:
    try:
        params = await _params(request)
        grant_type = params.get("grant_type")
        if grant_type == "refresh_token":
            return await _refresh(request, params)
        if grant_type == exchange.GRANT_TYPE:
            return await _exchange(request, params)
        raise SignInError(
            "unsupported_grant_type",
            f"grant_type must be refresh_token or {exchange.GRANT_TYPE}",
            error="unsupported_grant_type",
        )
    except SignInError as error:
        return _refused(request, error, browser=False)


async def logout(request: Request) -> Response:
    """Revoke the sign-in (the refresh token's whole family) and clear the cookie. Unknown
    tokens are not an error (RFC 7009, section 2.2): the answer is the same."""
    runtime = _runtime(request)
    try:
        params = await _params(request)
        raw = params.get("refresh_token") or request.cookies.get(REFRESH_COOKIE) or ""
        if raw:
            tenant = await tenant_by_slug(runtime, refresh_tokens.tenant_slug_of(raw))
            async with _session(runtime, tenant) as session:
                revoked = await refresh_tokens.revoke_family_of(session, raw)
                if revoked is not None:
                    signed_out = auth_audit.draft(
                        request,
                        "auth.logout",
                        user_id=revoked.user_id,
                        organization_id=revoked.organization_id,
                    )
                    await auth_audit.record(runtime, session, tenant, signed_out)
                await session.commit()
    except SignInError as error:
        if error.status >= 500:
            return _refused(request, error, browser=False)
    except TenantRefusedError:
        pass
    response = Response(status_code=204, headers=_NO_STORE)
    response.delete_cookie(REFRESH_COOKIE, path="/auth")
    return response
