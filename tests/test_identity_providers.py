"""Registering organizations' identity providers: the settings' rules, secrets encrypted at
rest, and the `membrane orgs` commands on tenants of every strategy."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import re
import uuid
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from membrane.auth.federation.models import IdentityProvider
from membrane.auth.federation.registry import (
    ProviderSettings,
    check_settings,
    register_provider,
    set_enabled,
)
from membrane.cli.main import main
from membrane.errors import ConflictError, InvalidInputError
from membrane.secrets import SecretBox
from membrane.tenancy.isolation import bind_tenant
from membrane.tenancy.provisioning import tenant_session
from tests.fixtures.demo import DemoData
from tests.fixtures.tenants import TenantWorld

GOOD = ProviderSettings(issuer="https://login.acme.example/", client_id="membrane")


@pytest.mark.parametrize(
    ("change", "production", "field"),
    [
        ({"algorithms": "none"}, False, "algorithms"),
        ({"algorithms": "RS256,HS256"}, False, "algorithms"),
        ({"algorithms": ""}, False, "algorithms"),
        ({"scopes": "email profile"}, False, "scopes"),
        ({"issuer": "http://login.acme.example"}, True, "issuer"),
        ({"issuer": "ftp://login.acme.example"}, False, "issuer"),
        ({"issuer": "https://login.acme.example/?x=1"}, False, "issuer"),
        ({"client_id": " "}, False, "clientId"),
        ({"role_mapping": {"admins": "ADMIN"}}, False, "groupsClaim"),
        ({"role_mapping": {"admins": "OWNER"}, "groups_claim": "groups"}, False, "roleMapping"),
        ({"discovery_url": "http://login.acme.example/.well-known"}, True, "discoveryUrl"),
    ],
)
def test_settings_that_are_refused(change: dict[str, Any], production: bool, field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_settings(dataclasses.replace(GOOD, **change), production=production)
    assert refused.value.field == field


def test_settings_are_normalised() -> None:
    checked = check_settings(
        dataclasses.replace(
            GOOD,
            issuer="http://127.0.0.1:9000/",
            scopes="openid  email openid",
            algorithms="ES256, RS256,ES256",
            groups_claim="groups",
            role_mapping={"finance": "FINANCE"},
        ),
        production=False,
    )
    # the issuer is kept exactly (tokens' `iss` must equal it); discovery is derived from it
    assert checked.issuer == "http://127.0.0.1:9000/"
    assert checked.discovery_url == "http://127.0.0.1:9000/.well-known/openid-configuration"
    assert checked.scopes == "openid email"
    assert checked.algorithms == "ES256,RS256"


async def test_providers_are_registered_with_their_secret_encrypted(
    sessions: async_sessionmaker[AsyncSession], demo_data: DemoData
) -> None:
    box = SecretBox([Fernet.generate_key()])
    tenant = uuid.UUID(demo_data.demo.tenant_id)
    acme = uuid.UUID(demo_data.demo.organization("acme")["id"])
    settings = dataclasses.replace(GOOD, client_secret="s3cret-value")
    async with sessions() as session:
        bind_tenant(session, tenant)
        provider = await register_provider(
            session, box, tenant_id=tenant, organization_id=acme, settings=settings, production=True
        )
        stored = await session.scalar(
            select(IdentityProvider.client_secret_secret).where(IdentityProvider.id == provider.id)
        )
        assert stored is not None and "s3cret" not in stored
        assert box.decrypt(stored) == "s3cret-value"
        assert "s3cret" not in repr(settings)
        with pytest.raises(ConflictError):
            await register_provider(
                session, box, tenant_id=tenant, organization_id=acme, settings=GOOD, production=True
            )
        disabled = await set_enabled(
            session,
            tenant_id=tenant,
            organization_id=acme,
            issuer="https://login.acme.example/",
            enabled=False,
        )
        assert disabled.enabled is False
        await session.rollback()


def test_orgs_commands_on_tenants_of_every_strategy(
    tenant_world: TenantWorld,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = tenant_world.settings
    monkeypatch.setenv("MEMBRANE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MEMBRANE_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", ",".join(settings.secret_keys))
    for slug in ("pool-a", "bridge-c", "silo-d"):
        base = ["orgs"]
        assert (
            main([*base, "add-domain", "--tenant", slug, "--org", "acme", "Acme-Partners.Example"])
            == 0
        )
        monkeypatch.setattr("sys.stdin", io.StringIO("top-secret\n"))
        argv = [
            *base,
            "add-idp",
            "--tenant",
            slug,
            "--org",
            "acme",
            "--issuer",
            "https://login.acme.example",
            "--client-id",
            "membrane-app",
            "--client-secret-stdin",
            "--groups-claim",
            "groups",
            "--role",
            "acme-admins=admin",
        ]
        assert main(argv) == 0
        assert (
            main(
                [
                    *base,
                    "disable-idp",
                    "--tenant",
                    slug,
                    "--org",
                    "acme",
                    "--issuer",
                    "https://login.acme.example",
                ]
            )
            == 0
        )
        capsys.readouterr()
        assert main([*base, "list", "--tenant", slug, "--json"]) == 0
        listed = {o["slug"]: o for o in json.loads(capsys.readouterr().out)}
        assert "acme-partners.example" in listed["acme"]["domains"]
        (provider,) = listed["acme"]["identityProviders"]
        redirect_uri = provider.pop("redirectUri")
        assert provider == {
            "issuer": "https://login.acme.example",
            "clientId": "membrane-app",
            "hasClientSecret": True,
            "scopes": "openid email profile",
            "algorithms": "RS256,ES256",
            "enabled": False,
            "trustEmail": False,
        }
        assert re.fullmatch(r"http://localhost:8000/auth/callback/[0-9a-f-]{36}", redirect_uri)
        assert listed["globex"]["identityProviders"] == []
        # refused input: exit 2 and a message naming the problem; nothing stored
        assert (
            main(
                [
                    *base,
                    "add-idp",
                    "--tenant",
                    slug,
                    "--org",
                    "globex",
                    "--issuer",
                    "https://idp.globex.example",
                    "--client-id",
                    "x",
                    "--algorithms",
                    "HS256",
                ]
            )
            == 2
        )
        assert (
            main(
                [*base, "add-domain", "--tenant", slug, "--org", "globex", "acme-partners.example"]
            )
            == 1
        )
        assert main([*base, "add-domain", "--tenant", slug, "--org", "nobody", "x.example"]) == 1
        monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
        empty_secret = [*base, "add-idp", "--tenant", slug, "--org", "globex"]
        empty_secret += ["--issuer", "https://idp.globex.example", "--client-id", "x"]
        assert main([*empty_secret, "--client-secret-stdin"]) == 2
        err = capsys.readouterr().err
        assert "asymmetric" in err and "already" in err and "no organization 'nobody'" in err
        assert "client secret read from standard input is empty" in err
        assert "top-secret" not in err
    assert main(["orgs", "list", "--tenant", "ghost"]) == 1
    # the client secret sits in each tenant's own store, encrypted
    for slug in ("pool-a", "bridge-c", "silo-d"):
        stored = asyncio.run(_stored_secrets(tenant_world, slug))
        assert stored and all("top-secret" not in value for value in stored)
        assert {tenant_world.secrets.decrypt(value) for value in stored} == {"top-secret"}
    # and rotating the keys re-encrypts them there too
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", ",".join([new, *settings.secret_keys]))
    assert main(["tenants", "rotate-secrets"]) == 0
    for slug in ("pool-a", "bridge-c", "silo-d"):
        stored = asyncio.run(_stored_secrets(tenant_world, slug, SecretBox([new.encode()])))
        assert {SecretBox([new.encode()]).decrypt(value) for value in stored} == {"top-secret"}
    monkeypatch.setenv("MEMBRANE_SECRET_KEYS", ",".join([*settings.secret_keys, new]))
    assert main(["tenants", "rotate-secrets"]) == 0


async def _stored_secrets(world: TenantWorld, slug: str, box: SecretBox | None = None) -> list[str]:
    async with tenant_session(world.settings, box or world.secrets, slug) as (_, session):
        values = await session.scalars(select(IdentityProvider.client_secret_secret))
        return [value for value in values if value is not None]
