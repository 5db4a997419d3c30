"""Payload types returned by the tenant administration mutations."""

from __future__ import annotations

import strawberry

from membrane.api.tenancy.admin_types import IdentityProvider, OrganizationDomain
from membrane.api.tenancy.types import Organization, User


@strawberry.type(description="Result of registerIdentityProvider.")
class RegisterIdentityProviderPayload:
    identity_provider: IdentityProvider = strawberry.field(description="The provider registered.")
    organization: Organization = strawberry.field(description="The organization it serves.")


@strawberry.type(description="Result of setIdentityProviderEnabled.")
class SetIdentityProviderEnabledPayload:
    identity_provider: IdentityProvider = strawberry.field(description="The provider as saved.")


@strawberry.type(description="Result of addOrganizationDomain.")
class AddOrganizationDomainPayload:
    organization: Organization = strawberry.field(description="The organization.")
    domain: OrganizationDomain = strawberry.field(description="The domain added.")


@strawberry.type(description="Result of setOrganizationStatus.")
class SetOrganizationStatusPayload:
    organization: Organization = strawberry.field(description="The organization as saved.")


@strawberry.type(description="Result of setUserStatus.")
class SetUserStatusPayload:
    user: User = strawberry.field(description="The user as saved.")
