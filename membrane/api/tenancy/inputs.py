"""Input objects of the tenant administration mutations (one input object per mutation)."""

from __future__ import annotations

import strawberry

from membrane.tenancy.enums import OrganizationStatus, TenantRole, UserStatus


@strawberry.input(description="One value of the groups claim and the tenant role it grants.")
class RoleMappingInput:
    group: str = strawberry.field(description="A value of the provider's groups claim.")
    role: TenantRole = strawberry.field(description="The tenant role people of that group hold.")


@strawberry.input(description="An OpenID Provider to register for an organization.")
class RegisterIdentityProviderInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    issuer: str = strawberry.field(
        description="The issuer URL, exactly as in ID tokens' `iss` (https in production)."
    )
    client_id: str = strawberry.field(description="Membrane's client id at the provider.")
    client_secret: str | None = strawberry.field(
        default=None,
        description=(
            "The client secret, stored encrypted and never returned; "
            "omit it for a public client (PKCE only)."
        ),
    )
    discovery_url: str | None = strawberry.field(
        default=None,
        description="Where the provider's metadata is; default: the issuer's well-known URL.",
    )
    scopes: list[str] = strawberry.field(
        default_factory=lambda: ["openid", "email", "profile"],
        description="Scopes asked for at sign-in; must include openid.",
    )
    algorithms: list[str] = strawberry.field(
        default_factory=lambda: ["RS256", "ES256"],
        description="Signing algorithms accepted for ID tokens: asymmetric ones only.",
    )
    email_claim: str = strawberry.field(
        default="email", description="Claim holding the person's email."
    )
    name_claim: str = strawberry.field(
        default="name", description="Claim holding the person's display name."
    )
    groups_claim: str | None = strawberry.field(
        default=None, description="Claim holding the person's groups; required by roleMapping."
    )
    trust_email: bool = strawberry.field(
        default=False,
        description=(
            "Trust the email claim without email_verified=true (it provisions people and "
            "accepts invitations); only for providers whose users cannot change their email."
        ),
    )
    role_mapping: list[RoleMappingInput] = strawberry.field(
        default_factory=list, description="Groups that grant tenant roles."
    )


@strawberry.input(description="Allow or stop sign-ins through an identity provider.")
class SetIdentityProviderEnabledInput:
    identity_provider_id: strawberry.ID = strawberry.field(description="The provider.")
    enabled: bool = strawberry.field(description="Whether people may sign in through it.")


@strawberry.input(description="An email domain an organization has proven it owns.")
class AddOrganizationDomainInput:
    organization_id: strawberry.ID = strawberry.field(description="The organization.")
    domain: str = strawberry.field(
        description="The domain, e.g. `acme.example`; a domain belongs to one organization."
    )


@strawberry.input(description="Suspend or reactivate an organization.")
class SetOrganizationStatusInput:
    organization_id: strawberry.ID = strawberry.field(
        description="The organization; the host organization cannot be suspended."
    )
    status: OrganizationStatus = strawberry.field(
        description="SUSPENDED refuses its people's tokens from their next request."
    )


@strawberry.input(description="Suspend, reactivate or deprovision a user.")
class SetUserStatusInput:
    user_id: strawberry.ID = strawberry.field(description="The user; not the caller.")
    status: UserStatus = strawberry.field(
        description="Anything but ACTIVE refuses the user's tokens from their next request."
    )
