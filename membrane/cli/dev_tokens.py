"""`membrane token`: mint an access token for a demo user. Dev mode only; never in production."""

from __future__ import annotations

from membrane.auth import keys
from membrane.auth.errors import DevModeDisabledError
from membrane.auth.tokens import TokenService
from membrane.config import Settings
from membrane.db.engine import create_engine, session_factory
from membrane.secrets import secret_box
from membrane.tenancy import catalog, service
from membrane.tenancy.ids import TenantId
from membrane.tenancy.provisioning import owner_engine, store_target


async def mint_dev_token(settings: Settings, *, tenant: str, email: str) -> str:
    if settings.production or not settings.dev_mode:
        raise DevModeDisabledError(
            "membrane token needs dev mode (MEMBRANE_DEV_MODE) and refuses production mode"
        )
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            found = await catalog.entry_by_slug(session, tenant)
    finally:
        await engine.dispose()
    if found is None:
        raise LookupError(f"no tenant {tenant!r}")
    target = store_target(settings, found, secret_box(settings))
    async with owner_engine(target.url) as store:
        bound = store.execution_options(schema_translate_map=target.translate)
        async with session_factory(bound)() as session:
            user = await service.find_user_by_email(session, TenantId(found.id), email)
    if user is None:
        raise LookupError(f"no user {email!r} in tenant {tenant!r}")
    tokens = TokenService(
        keys.load_or_create(settings.keys_dir), issuer=settings.issuer, audience=settings.audience
    )
    return tokens.mint(
        subject=user.id,
        tenant_id=found.id,
        organization_id=user.organization_id,
        ttl_seconds=settings.dev_token_ttl_seconds,
    )
