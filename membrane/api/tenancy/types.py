"""GraphQL types of tenants, organizations, users and the viewer."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from strawberry import relay

from membrane.api.context import Info
from membrane.api.loaders import then
from membrane.api.policies import HOST_ADMIN, USER_EMAIL, VISIBLE, field
from membrane.api.tenancy.admin_types import IdentityProvider, OrganizationDomain
from membrane.tenancy.enums import OrganizationKind, OrganizationStatus, TenantRole, UserStatus
from membrane.tenancy.models import Organization as OrganizationRow
from membrane.tenancy.models import Tenant as TenantRow
from membrane.tenancy.models import User as UserRow


@strawberry.type(description="A company inside the tenant: the HOST or one of its PARTNERs.")
class Organization(relay.Node):
    id: relay.NodeID[str]
    slug: str = field(VISIBLE, description="Short unique name used in URLs, e.g. `acme`.")
    name: str = field(VISIBLE, description="Display name of the company.")
    kind: OrganizationKind = field(VISIBLE, description="HOST or PARTNER.")
    status: OrganizationStatus = field(
        VISIBLE, description="SUSPENDED organizations' people cannot sign in."
    )

    @field(HOST_ADMIN, description="The organization's OpenID Providers, by issuer.")
    async def identity_providers(self, info: Info) -> list[IdentityProvider] | None:
        loader = info.context.administration.identity_providers_by_organization
        rows = await loader.load(uuid.UUID(self.id))
        return [IdentityProvider.from_row(row) for row in rows]

    @field(HOST_ADMIN, description="Email domains the organization has proven it owns.")
    async def domains(self, info: Info) -> list[OrganizationDomain] | None:
        rows = await info.context.administration.domains_by_organization.load(uuid.UUID(self.id))
        return [OrganizationDomain.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        return cls(id=str(row.id), slug=row.slug, name=row.name, kind=row.kind, status=row.status)


def organization_or_none(row: OrganizationRow | None) -> Organization | None:
    return None if row is None else Organization.from_row(row)


@strawberry.type(description="A person, belonging to exactly one organization.")
class User(relay.Node):
    id: relay.NodeID[str]
    display_name: str = field(VISIBLE, description="Name shown to other members.")
    email: str | None = field(USER_EMAIL, description="Email address reported by the user's IdP.")
    status: UserStatus = field(VISIBLE, description="ACTIVE, SUSPENDED or DEPROVISIONED.")
    organization_uuid: strawberry.Private[uuid.UUID]

    @property
    def owner_uuid(self) -> uuid.UUID:
        """The organization a person's row belongs to (`SAME_ORGANIZATION`)."""
        return self.organization_uuid

    @field(VISIBLE, description="The organization the user belongs to.")
    def organization(
        self, info: Info
    ) -> Annotated[Organization, strawberry.lazy("membrane.api.tenancy.types")]:
        return load_organization(info, self.organization_uuid)  # type: ignore[return-value]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=str(row.id),
            display_name=row.display_name,
            email=row.email,
            status=row.status,
            organization_uuid=row.organization_id,
        )


def user_or_none(row: UserRow | None) -> User | None:
    return None if row is None else User.from_row(row)


def load_organization(info: Info, organization_id: uuid.UUID) -> object:
    """The organization as a value when already loaded, else an awaitable of it."""
    found = info.context.tenancy.organization_by_id.get(organization_id)
    return then(found, organization_or_none)


def load_user(info: Info, user_id: uuid.UUID | None) -> object:
    """The user as a value when already loaded, else an awaitable of it."""
    if user_id is None:
        return None
    return then(info.context.tenancy.user_by_id.get(user_id), user_or_none)


@strawberry.type(description="The workspace the request acts in.")
class Tenant:
    slug: str = field(VISIBLE, description="Short unique name of the tenant.")
    name: str = field(VISIBLE, description="Display name of the tenant.")

    @classmethod
    def from_row(cls, row: TenantRow) -> Tenant:
        return cls(slug=row.slug, name=row.name)


@strawberry.type(description="Who is asking: the signed-in user, their organization and roles.")
class Viewer:
    user: User = field(VISIBLE, description="The signed-in user.")
    organization: Organization = field(VISIBLE, description="The user's organization.")
    tenant: Tenant = field(VISIBLE, description="The tenant the request acts in.")
    roles: list[TenantRole] = field(
        VISIBLE, description="Tenant roles the user holds within their organization."
    )
