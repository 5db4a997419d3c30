"""Configuration read from `MEMBRANE_*` environment variables (the table in README.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class TenantSource(StrEnum):
    """Where a request names its tenant."""

    HEADER = "header"  # the `MEMBRANE_TENANT_HEADER` header (else the token's tenant)
    HOST = "host"  # the host name, `{tenant}.MEMBRANE_TENANT_DOMAIN`


class ConfigurationError(ValueError):
    """A configuration variable holds a value Membrane cannot use."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _int(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return value


def _url(name: str, default: str) -> str:
    raw = (os.environ.get(name) or default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ConfigurationError(f"{name} must be an http(s) URL without a query, not {raw!r}")
    return raw


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./membrane.db"
    keys_dir: Path = Path("./.membrane/keys")
    dev_mode: bool = False
    issuer: str = "http://localhost:8000"
    audience: str = "membrane"
    dev_token_ttl_seconds: int = 8 * 3600
    frontend_url: str = "http://localhost:3000"
    access_token_ttl_seconds: int = 600
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    session_max_age_seconds: int = 30 * 24 * 3600
    refresh_reuse_grace_seconds: int = 0
    provider_timeout_seconds: int = 5
    provider_refetch_seconds: int = 30
    token_leeway_seconds: int = 30
    tenant_header: str = "X-Membrane-Tenant"
    tenant_source: TenantSource = TenantSource.HEADER
    tenant_domain: str | None = None
    secret_keys: tuple[str, ...] = ()
    silo_engines_max: int = 32
    silo_pool_size: int = 2
    store_connect_timeout_seconds: int = 5
    database_pool_size: int = 20
    database_role: str | None = "membrane_app"
    log_level: str = "INFO"
    sql_echo: bool = False
    audit_checkpoint_every: int = 100
    audit_checkpoint_seconds: int = 300
    # Columns whose values audit events never carry, as `table.column` (secrets always).
    audit_redacted: tuple[str, ...] = ()

    @property
    def production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @classmethod
    def from_env(cls) -> Settings:
        raw_env = os.environ.get("MEMBRANE_ENV", Environment.DEVELOPMENT.value).strip().lower()
        try:
            env = Environment(raw_env)
        except ValueError:
            raise ConfigurationError(
                f"MEMBRANE_ENV must be 'development' or 'production', not {raw_env!r}"
            ) from None
        dev_mode = _bool("MEMBRANE_DEV_MODE", env is Environment.DEVELOPMENT)
        if dev_mode and env is Environment.PRODUCTION:
            raise ConfigurationError("MEMBRANE_DEV_MODE cannot be enabled in production mode")
        d = cls()
        raw_source = (os.environ.get("MEMBRANE_TENANT_SOURCE") or d.tenant_source).strip().lower()
        try:
            tenant_source = TenantSource(raw_source)
        except ValueError:
            raise ConfigurationError(
                f"MEMBRANE_TENANT_SOURCE must be 'header' or 'host', not {raw_source!r}"
            ) from None
        tenant_domain = (os.environ.get("MEMBRANE_TENANT_DOMAIN") or "").strip().lower() or None
        if tenant_source is TenantSource.HOST and tenant_domain is None:
            raise ConfigurationError("MEMBRANE_TENANT_SOURCE=host needs MEMBRANE_TENANT_DOMAIN")
        secret_keys = tuple(
            key.strip()
            for key in os.environ.get("MEMBRANE_SECRET_KEYS", "").split(",")
            if key.strip()
        )
        return cls(
            env=env,
            database_url=os.environ.get("MEMBRANE_DATABASE_URL") or d.database_url,
            keys_dir=Path(os.environ.get("MEMBRANE_KEYS_DIR") or d.keys_dir),
            dev_mode=dev_mode,
            issuer=os.environ.get("MEMBRANE_ISSUER") or d.issuer,
            audience=os.environ.get("MEMBRANE_AUDIENCE") or d.audience,
            dev_token_ttl_seconds=_int(
                "MEMBRANE_DEV_TOKEN_TTL", d.dev_token_ttl_seconds, minimum=30
            ),
            frontend_url=_url("MEMBRANE_FRONTEND_URL", d.frontend_url),
            access_token_ttl_seconds=_int(
                "MEMBRANE_ACCESS_TOKEN_TTL", d.access_token_ttl_seconds, minimum=30
            ),
            refresh_token_ttl_seconds=_int(
                "MEMBRANE_REFRESH_TOKEN_TTL", d.refresh_token_ttl_seconds, minimum=60
            ),
            session_max_age_seconds=_int(
                "MEMBRANE_SESSION_MAX_AGE", d.session_max_age_seconds, minimum=60
            ),
            refresh_reuse_grace_seconds=_int(
                "MEMBRANE_REFRESH_REUSE_GRACE", d.refresh_reuse_grace_seconds, minimum=0
            ),
            provider_timeout_seconds=_int("MEMBRANE_IDP_TIMEOUT", d.provider_timeout_seconds),
            provider_refetch_seconds=_int(
                "MEMBRANE_IDP_REFETCH_INTERVAL", d.provider_refetch_seconds
            ),
            token_leeway_seconds=_int("MEMBRANE_TOKEN_LEEWAY", d.token_leeway_seconds, minimum=0),
            audit_checkpoint_every=_int(
                "MEMBRANE_AUDIT_CHECKPOINT_EVERY", d.audit_checkpoint_every
            ),
            audit_checkpoint_seconds=_int(
                "MEMBRANE_AUDIT_CHECKPOINT_SECONDS", d.audit_checkpoint_seconds
            ),
            audit_redacted=tuple(
                item.strip().lower()
                for item in os.environ.get("MEMBRANE_AUDIT_REDACT", "").split(",")
                if item.strip()
            ),
            tenant_header=os.environ.get("MEMBRANE_TENANT_HEADER") or d.tenant_header,
            tenant_source=tenant_source,
            tenant_domain=tenant_domain,
            secret_keys=secret_keys,
            silo_engines_max=_int("MEMBRANE_SILO_ENGINES_MAX", d.silo_engines_max),
            silo_pool_size=_int("MEMBRANE_SILO_POOL_SIZE", d.silo_pool_size),
            store_connect_timeout_seconds=_int(
                "MEMBRANE_STORE_CONNECT_TIMEOUT", d.store_connect_timeout_seconds
            ),
            database_pool_size=_int("MEMBRANE_DATABASE_POOL_SIZE", d.database_pool_size),
            database_role=os.environ.get("MEMBRANE_DATABASE_ROLE", d.database_role or "").strip()
            or None,
            log_level=(os.environ.get("MEMBRANE_LOG_LEVEL") or d.log_level).upper(),
            sql_echo=_bool("MEMBRANE_SQL_ECHO", False),
        )
