"""Payload types returned by the tenant administration mutations."""

from __future__ import annotations

import strawberry

from membrane.api.policies import VISIBLE, field
from membrane.api.tenancy.admin_types import IdentityProvider, OrganizationDomain
from membrane.api.tenancy.types import Organization, User


@strawberry.type(description="Result of registerIdentityProvider.")
class RegisterIdentityProviderPayload:
    identity_provider: IdentityProvider = field(VISIBLE, description="The provider registered.")
    organization: Organization = field(VISIBLE, description="The organization it serves.")


@strawberry.type(description="Result of setIdentityProviderEnabled.")
class SetIdentityProviderEnabledPayload:
    identity_provider: IdentityProvider = field(VISIBLE, description="The provider as saved.")


@strawberry.type(description="Result of addOrganizationDomain.")
class AddOrganizationDomainPayload:
    organization: Organization = field(VISIBLE, description="The organization.")
    domain: OrganizationDomain = field(VISIBLE, description="The domain added.")


@strawberry.type(description="Result of setOrganizationStatus.")
class SetOrganizationStatusPayload:
    organization: Organization = field(VISIBLE, description="The organization as saved.")


@strawberry.type(description="Result of setUserStatus.")
class SetUserStatusPayload:
    user: User = field(VISIBLE, description="The user as saved.")
