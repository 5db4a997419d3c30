"""`membrane token`: mint an access token for a demo user. Dev mode only; never in production."""

from __future__ import annotations

from membrane.auth import keys
from membrane.auth.errors import DevModeDisabledError
from membrane.auth.tokens import TokenService
from membrane.config import Settings
from membrane.db.engine import create_engine, session_factory
from membrane.tenancy import service
from membrane.tenancy.ids import TenantId


async def mint_dev_token(settings: Settings, *, tenant: str, email: str) -> str:
    if settings.production or not settings.dev_mode:
        raise DevModeDisabledError(
            "membrane token needs dev mode (MEMBRANE_DEV_MODE) and refuses production mode"
        )
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            found = await service.find_tenant_by_slug(session, tenant)
            if found is None:
                raise LookupError(f"no tenant {tenant!r}")
            user = await service.find_user_by_email(session, TenantId(found.id), email)
            if user is None:
                raise LookupError(f"no user {email!r} in tenant {tenant!r}")
    finally:
        await engine.dispose()
    tokens = TokenService(
        keys.load_or_create(settings.keys_dir), issuer=settings.issuer, audience=settings.audience
    )
    return tokens.mint(
        subject=user.id,
        tenant_id=found.id,
        organization_id=user.organization_id,
        ttl_seconds=settings.dev_token_ttl_seconds,
    )
