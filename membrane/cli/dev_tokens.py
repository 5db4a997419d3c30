"""`membrane token`: mint an access token for a demo user. Dev mode only; never in production."""

from __future__ import annotations

from membrane.auth import keys
from membrane.auth.errors import DevModeDisabledError
from membrane.auth.tokens import TokenService
from membrane.config import Settings
from membrane.errors import NotFoundError
from membrane.secrets import secret_box
from membrane.tenancy import service
from membrane.tenancy.ids import TenantId
from membrane.tenancy.provisioning import tenant_session


async def mint_dev_token(settings: Settings, *, tenant: str, email: str) -> str:
    if settings.production or not settings.dev_mode:
        raise DevModeDisabledError(
            "membrane token needs dev mode (MEMBRANE_DEV_MODE) and refuses production mode"
        )
    try:
        async with tenant_session(settings, secret_box(settings), tenant) as (found, session):
            user = await service.find_user_by_email(session, TenantId(found.id), email)
    except NotFoundError:
        raise LookupError(f"no tenant {tenant!r}") from None
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
