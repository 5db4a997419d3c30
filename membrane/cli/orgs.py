"""`membrane orgs`: organizations' verified domains and identity providers, per tenant."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from membrane.auth.federation import login, registry
from membrane.auth.federation.registry import ProviderSettings
from membrane.cli import failures
from membrane.cli.audited import audited
from membrane.config import Settings
from membrane.errors import InvalidInputError
from membrane.secrets import secret_box
from membrane.tenancy import service
from membrane.tenancy.enums import OrganizationStatus, UserStatus
from membrane.tenancy.ids import TenantId
from membrane.tenancy.models import Organization, OrganizationDomain
from membrane.tenancy.provisioning import tenant_session


def _read_secret() -> str:
    """The client secret from standard input: typed without echo on a terminal."""
    if sys.stdin.isatty():
        secret = getpass.getpass("client secret: ")
    else:
        secret = sys.stdin.readline().strip()
    if not secret:
        raise InvalidInputError(
            "the client secret read from standard input is empty", field="clientSecret"
        )
    return secret


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    async with tenant_session(settings, secret_box(settings), args.tenant) as (entry, session):
        organizations = (
            await session.scalars(select(Organization).order_by(Organization.slug))
        ).all()
        domains = (await session.scalars(select(OrganizationDomain))).all()
        providers = await registry.providers_of(session, entry.id)
    listing: list[dict[str, Any]] = [
        {
            "slug": org.slug,
            "name": org.name,
            "kind": org.kind.value,
            "status": org.status.value,
            "domains": sorted(d.domain for d in domains if d.organization_id == org.id),
            "identityProviders": [
                {
                    "issuer": p.issuer,
                    "clientId": p.client_id,
                    "hasClientSecret": p.client_secret_secret is not None,
                    "scopes": p.scopes,
                    "algorithms": p.allowed_algorithms,
                    "enabled": p.enabled,
                    "trustEmail": p.trust_email,
                    "redirectUri": login.callback_url(
                        login.callback_base(settings, entry.slug), p.id
                    ),
                }
                for p in providers
                if p.organization_id == org.id
            ],
        }
        for org in organizations
    ]
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for org in listing:
        print(f"{org['slug']:<20} {org['kind']:<8} {org['status']:<10} {' '.join(org['domains'])}")
        for provider in org["identityProviders"]:
            state = "enabled" if provider["enabled"] else "disabled"
            print(f"    idp {provider['issuer']} ({provider['clientId']}, {state})")
            print(f"        redirect URI {provider['redirectUri']}")
    return 0


async def _add_domain(settings: Settings, args: argparse.Namespace) -> int:
    async with (
        tenant_session(settings, secret_box(settings), args.tenant) as (entry, session),
        audited(settings, entry, session, "orgs.add-domain"),
    ):
        organization = await registry.organization_by_slug(session, entry.id, args.org)
        record = await service.add_verified_domain(
            session, TenantId(entry.id), organization.id, args.domain
        )
    print(f"{record.domain} is a verified domain of {args.org!r}")
    return 0


def _role_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        group, separator, role = pair.partition("=")
        if not separator or not group or not role:
            raise InvalidInputError(f"--role takes GROUP=ROLE, not {pair!r}", field="roleMapping")
        mapping[group] = role.upper()
    return mapping


async def _add_idp(settings: Settings, args: argparse.Namespace) -> int:
    secret = _read_secret() if args.client_secret_stdin else None
    provider_settings = ProviderSettings(
        issuer=args.issuer,
        client_id=args.client_id,
        client_secret=secret,
        discovery_url=args.discovery_url,
        scopes=args.scopes,
        algorithms=args.algorithms,
        email_claim=args.email_claim,
        name_claim=args.name_claim,
        groups_claim=args.groups_claim,
        role_mapping=_role_mapping(args.role),
        trust_email=args.trust_email,
    )
    box = secret_box(settings)
    async with (
        tenant_session(settings, box, args.tenant) as (entry, session),
        audited(settings, entry, session, "orgs.add-idp"),
    ):
        organization = await registry.organization_by_slug(session, entry.id, args.org)
        provider = await registry.register_provider(
            session,
            box,
            tenant_id=entry.id,
            organization_id=organization.id,
            settings=provider_settings,
            production=settings.production,
        )
    print(f"identity provider {provider.issuer} registered for {args.org!r}")
    redirect_uri = login.callback_url(login.callback_base(settings, entry.slug), provider.id)
    print(f"redirect URI to register at the provider: {redirect_uri}")
    return 0


async def _set_enabled(settings: Settings, args: argparse.Namespace, enabled: bool) -> int:
    async with (
        tenant_session(settings, secret_box(settings), args.tenant) as (entry, session),
        audited(settings, entry, session, "orgs.set-idp-enabled"),
    ):
        organization = await registry.organization_by_slug(session, entry.id, args.org)
        provider = await registry.set_enabled(
            session,
            tenant_id=entry.id,
            organization_id=organization.id,
            issuer=args.issuer,
            enabled=enabled,
        )
    print(f"identity provider {provider.issuer} {'enabled' if enabled else 'disabled'}")
    return 0


async def _set_org_status(settings: Settings, args: argparse.Namespace, active: bool) -> int:
    status = OrganizationStatus.ACTIVE if active else OrganizationStatus.SUSPENDED
    async with (
        tenant_session(settings, secret_box(settings), args.tenant) as (entry, session),
        audited(settings, entry, session, "orgs.set-status"),
    ):
        organization = await registry.organization_by_slug(session, entry.id, args.org)
        await service.set_organization_status(session, TenantId(entry.id), organization, status)
    print(f"organization {args.org!r} is {status.value}")
    return 0


async def _set_user_status(settings: Settings, args: argparse.Namespace, active: bool) -> int:
    status = UserStatus.ACTIVE if active else UserStatus.SUSPENDED
    async with (
        tenant_session(settings, secret_box(settings), args.tenant) as (entry, session),
        audited(settings, entry, session, "orgs.set-user-status"),
    ):
        user = await service.user_by_email(session, TenantId(entry.id), args.email)
        await service.set_user_status(session, user, status)
    print(f"user {user.email!r} is {status.value}")
    return 0


def add_parsers(commands: Any, settings: Any) -> None:
    orgs = commands.add_parser("orgs", help="organizations' domains and identity providers")
    org_commands = orgs.add_subparsers(dest="orgs_command", required=True)

    def command(name: str, help_text: str, work: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = org_commands.add_parser(name, help=help_text)
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.set_defaults(handler=lambda args: failures.run(work(settings(), args)))
        return parser

    listing = command("list", "organizations, their domains and providers", _list)
    listing.add_argument("--json", action="store_true")

    domain = command("add-domain", "record a verified email domain of an organization", _add_domain)
    domain.add_argument("--org", required=True, help="organization slug")
    domain.add_argument("domain")

    idp = command("add-idp", "register an organization's OpenID Provider", _add_idp)
    idp.add_argument("--org", required=True, help="organization slug")
    idp.add_argument("--issuer", required=True, help="the provider's issuer URL")
    idp.add_argument("--client-id", required=True)
    idp.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from standard input (never from the command line)",
    )
    idp.add_argument("--discovery-url", help="default: ISSUER/.well-known/openid-configuration")
    idp.add_argument("--scopes", default="openid email profile")
    idp.add_argument("--algorithms", default="RS256,ES256", help="allowed ID token algorithms")
    idp.add_argument("--email-claim", default="email")
    idp.add_argument("--name-claim", default="name")
    idp.add_argument("--groups-claim")
    idp.add_argument(
        "--role", action="append", default=[], metavar="GROUP=ROLE", help="groups → tenant role"
    )
    idp.add_argument(
        "--trust-email",
        action="store_true",
        help="trust the email claim without email_verified=true (only for providers whose "
        "users cannot change their email)",
    )

    for name, active in (("suspend", False), ("resume", True)):
        org_status = command(
            name,
            "refuse every token of an organization's people, at once"
            if not active
            else "let a suspended organization's people in again",
            lambda s, a, on=active: _set_org_status(s, a, on),
        )
        org_status.add_argument("--org", required=True, help="organization slug")
        user_status = command(
            f"{name}-user",
            "refuse a user's tokens, at once" if not active else "let a suspended user in again",
            lambda s, a, on=active: _set_user_status(s, a, on),
        )
        user_status.add_argument("email")

    for name, enabled in (("enable-idp", True), ("disable-idp", False)):
        toggle = command(
            name,
            f"{'allow' if enabled else 'stop'} sign-ins through a provider",
            lambda s, a, on=enabled: _set_enabled(s, a, on),
        )
        toggle.add_argument("--org", required=True, help="organization slug")
        toggle.add_argument("--issuer", required=True)
