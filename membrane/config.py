"""Configuration read from `MEMBRANE_*` environment variables (the table in README.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


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


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./membrane.db"
    keys_dir: Path = Path("./.membrane/keys")
    dev_mode: bool = False
    issuer: str = "http://localhost:8000"
    audience: str = "membrane"
    dev_token_ttl_seconds: int = 8 * 3600
    token_leeway_seconds: int = 30
    tenant_header: str = "X-Membrane-Tenant"
    database_pool_size: int = 20
    log_level: str = "INFO"
    sql_echo: bool = False

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
            token_leeway_seconds=_int("MEMBRANE_TOKEN_LEEWAY", d.token_leeway_seconds, minimum=0),
            tenant_header=os.environ.get("MEMBRANE_TENANT_HEADER") or d.tenant_header,
            database_pool_size=_int("MEMBRANE_DATABASE_POOL_SIZE", d.database_pool_size),
            log_level=(os.environ.get("MEMBRANE_LOG_LEVEL") or d.log_level).upper(),
            sql_echo=_bool("MEMBRANE_SQL_ECHO", False),
        )
