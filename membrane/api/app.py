"""The Starlette application: routes, lifespan and the runtime it holds."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from membrane.api.auth_routes import routes as auth_routes
from membrane.api.documents import DocumentCache
from membrane.api.graphql_http import STATIC, graphql_endpoint
from membrane.api.runtime import Runtime
from membrane.api.schema import SCHEMAS
from membrane.api.sealing import sealing
from membrane.audit.setup import audit_log
from membrane.auth import keys
from membrane.auth.federation.clients import ProviderClients
from membrane.auth.principal_cache import CHANNEL, PrincipalCache
from membrane.auth.tokens import TokenService
from membrane.config import ConfigurationError, Settings
from membrane.db.engine import create_engine, is_sqlite
from membrane.db.notifications import Listener
from membrane.db.row_security import bypass_reason
from membrane.secrets import secret_box
from membrane.tenancy.catalog import CatalogCache
from membrane.tenancy.stores import StoreRegistry

logger = logging.getLogger(__name__)


def build_runtime(settings: Settings) -> Runtime:
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        echo=settings.sql_echo,
        role=settings.database_role,
        connect_timeout=settings.store_connect_timeout_seconds,
    )
    tokens = TokenService(
        keys.load_or_create(settings.keys_dir),
        issuer=settings.issuer,
        audience=settings.audience,
        leeway_seconds=settings.token_leeway_seconds,
    )
    secrets = secret_box(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        stores=StoreRegistry(settings, engine, secrets),
        catalog=CatalogCache(),
        tokens=tokens,
        documents=DocumentCache({audience: built._schema for audience, built in SCHEMAS.items()}),
        principals=PrincipalCache(),
        secrets=secrets,
        providers=ProviderClients(
            timeout_seconds=settings.provider_timeout_seconds,
            refetch_interval_seconds=settings.provider_refetch_seconds,
        ),
        audit=audit_log(settings),
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def audit_keys(request: Request) -> Response:
    """The public keys that verify audit checkpoints (`membrane audit verify --keys`)."""
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(runtime.audit.keys.jwks(), headers={"cache-control": "public, max-age=300"})


async def jwks(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    return JSONResponse(runtime.tokens.jwks(), headers={"cache-control": "public, max-age=300"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Long-lived objects made at start-up (schema, statement shapes, modules) are moved
        # out of the collector's sight, so collections only walk what requests create.
        # Raising the thresholds as well was measured: faster, but the process then grew
        # past the 250 MB goal under load.
        listener = None
        if not is_sqlite(settings.database_url):
            reason = await bypass_reason(runtime.engine)
            if reason is not None:
                message = (
                    f"{reason}: row-level security would not confine tenants "
                    "(set MEMBRANE_DATABASE_ROLE, ADR 0011)"
                )
                if settings.production:
                    await runtime.stores.close()
                    raise ConfigurationError(f"refusing to serve: {message}")
                logger.warning("%s", message)
            principals, tenants = runtime.principals, runtime.catalog

            def changed(payload: str) -> None:
                principals.changed(payload)
                tenants.changed(payload)

            def listening(active: bool) -> None:
                principals.listening(active)
                tenants.listening(active)

            listener = Listener(runtime.engine, CHANNEL, changed, listening)
            await listener.start()
        gc.collect()
        gc.freeze()
        try:
            async with sealing(runtime):
                yield
        finally:
            if listener is not None:
                await listener.stop()
            await runtime.stores.close()
            await runtime.providers.close()

    routes: list[BaseRoute] = []
    if not settings.production:
        routes.append(Mount("/graphql/assets", StaticFiles(directory=STATIC / "graphiql")))
    app = Starlette(
        routes=[
            *routes,
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/.well-known/audit-keys.json", audit_keys, methods=["GET"]),
            *auth_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
