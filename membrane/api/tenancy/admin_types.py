"""GraphQL types of tenant administration: identity providers and verified domains.

Only host ADMINs ever receive them (decision 0016); a provider's client secret is never
exposed, only whether it has one.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from membrane.api.policies import ADMIN_ROWS, field
from membrane.auth.federation.models import IdentityProvider as IdentityProviderRow
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.models import OrganizationDomain as OrganizationDomainRow


@strawberry.type(description="One value of the groups claim and the tenant role it grants.")
class RoleMapping:
    group: str = field(ADMIN_ROWS, description="A value of the provider's groups claim.")
    role: TenantRole = field(ADMIN_ROWS, description="The tenant role people of that group hold.")


@strawberry.type(
    description=(
        "An organization's OpenID Provider, through which its people sign in. "
        "Only ADMINs of the host organization can read it."
    )
)
class IdentityProvider(relay.Node):
    id: relay.NodeID[str]
    issuer: str = field(ADMIN_ROWS, description="The issuer URL; ID tokens' `iss` must equal it.")
    discovery_url: str = field(ADMIN_ROWS, description="Where the provider's metadata is read.")
    client_id: str = field(ADMIN_ROWS, description="Membrane's client id at the provider.")
    has_client_secret: bool = field(
        ADMIN_ROWS,
        description="Whether a client secret is stored (encrypted; it is never returned).",
    )
    scopes: list[str] = field(ADMIN_ROWS, description="Scopes asked for at sign-in.")
    algorithms: list[str] = field(
        ADMIN_ROWS, description="Signing algorithms accepted for ID tokens (asymmetric only)."
    )
    email_claim: str = field(ADMIN_ROWS, description="Claim holding the person's email.")
    name_claim: str = field(ADMIN_ROWS, description="Claim holding the person's display name.")
    groups_claim: str | None = field(
        ADMIN_ROWS, description="Claim holding the person's groups, if roles are mapped from them."
    )
    role_mapping: list[RoleMapping] = field(
        ADMIN_ROWS, description="Groups that grant tenant roles."
    )
    enabled: bool = field(ADMIN_ROWS, description="Whether people may sign in through it.")
    trust_email: bool = field(
        ADMIN_ROWS, description="Whether its email claim counts without email_verified=true."
    )

    @classmethod
    def from_row(cls, row: IdentityProviderRow) -> IdentityProvider:
        return cls(
            id=str(row.id),
            issuer=row.issuer,
            discovery_url=row.discovery_url,
            client_id=row.client_id,
            has_client_secret=row.client_secret_secret is not None,
            scopes=row.scopes.split(),
            algorithms=[a for a in row.allowed_algorithms.split(",") if a],
            email_claim=row.email_claim,
            name_claim=row.name_claim,
            groups_claim=row.groups_claim,
            role_mapping=[
                RoleMapping(group=group, role=TenantRole(role))
                for group, role in sorted(row.role_mapping.items())
            ],
            enabled=row.enabled,
            trust_email=row.trust_email,
        )


@strawberry.type(
    description="An email domain an organization has proven it owns (home-realm discovery)."
)
class OrganizationDomain:
    domain: str = field(ADMIN_ROWS, description="The domain, lower case, e.g. `acme.example`.")
    verified_at: datetime | None = field(ADMIN_ROWS, description="When it was verified (UTC).")

    @classmethod
    def from_row(cls, row: OrganizationDomainRow) -> OrganizationDomain:
        return cls(domain=row.domain, verified_at=row.verified_at)
