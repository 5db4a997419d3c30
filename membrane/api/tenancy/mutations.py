"""Mutations of tenant administration: identity providers, verified domains, suspensions.

Each takes one input object, returns a payload and runs in one transaction. Only ADMINs of
the host organization may call them (decision 0016); the rules are the service's.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from membrane.api.context import Info
from membrane.api.policies import HOST_ADMIN, mutation
from membrane.api.relay import decode_global_id
from membrane.api.tenancy import inputs, payloads
from membrane.api.tenancy.admin_types import IdentityProvider, OrganizationDomain
from membrane.api.tenancy.types import Organization, User
from membrane.api.transactions import in_transaction
from membrane.tenancy import administration

INPUT = "What to change; see the input type."


@strawberry.type
class TenancyMutations:
    @mutation(HOST_ADMIN, description="Register an organization's OpenID Provider.")
    async def register_identity_provider(
        self,
        info: Info,
        input: Annotated[
            inputs.RegisterIdentityProviderInput, strawberry.argument(description=INPUT)
        ],
    ) -> payloads.RegisterIdentityProviderPayload | None:
        ctx = info.context
        organization_id = decode_global_id(
            input.organization_id, expected="Organization", field="organizationId"
        )
        provider = administration.NewProvider(
            issuer=input.issuer,
            client_id=input.client_id,
            client_secret=input.client_secret,
            discovery_url=input.discovery_url,
            scopes=input.scopes,
            algorithms=input.algorithms,
            email_claim=input.email_claim,
            name_claim=input.name_claim,
            groups_claim=input.groups_claim,
            role_mapping=[(entry.group, entry.role) for entry in input.role_mapping],
            trust_email=input.trust_email,
        )
        organization, row = await in_transaction(
            ctx,
            lambda: administration.register_provider(
                ctx.session,
                ctx.principal,
                ctx.secrets,
                organization_id=organization_id,
                provider=provider,
                production=ctx.production,
            ),
        )
        return payloads.RegisterIdentityProviderPayload(
            identity_provider=IdentityProvider.from_row(row),
            organization=Organization.from_row(organization),
        )

    @mutation(HOST_ADMIN, description="Allow or stop sign-ins through an identity provider.")
    async def set_identity_provider_enabled(
        self,
        info: Info,
        input: Annotated[
            inputs.SetIdentityProviderEnabledInput, strawberry.argument(description=INPUT)
        ],
    ) -> payloads.SetIdentityProviderEnabledPayload | None:
        ctx = info.context
        provider_id = decode_global_id(
            input.identity_provider_id, expected="IdentityProvider", field="identityProviderId"
        )
        row = await in_transaction(
            ctx,
            lambda: administration.set_provider_enabled(
                ctx.session, ctx.principal, provider_id=provider_id, enabled=input.enabled
            ),
        )
        return payloads.SetIdentityProviderEnabledPayload(
            identity_provider=IdentityProvider.from_row(row)
        )

    @mutation(HOST_ADMIN, description="Record an email domain an organization has proven it owns.")
    async def add_organization_domain(
        self,
        info: Info,
        input: Annotated[inputs.AddOrganizationDomainInput, strawberry.argument(description=INPUT)],
    ) -> payloads.AddOrganizationDomainPayload | None:
        ctx = info.context
        organization_id = decode_global_id(
            input.organization_id, expected="Organization", field="organizationId"
        )
        organization, record = await in_transaction(
            ctx,
            lambda: administration.add_domain(
                ctx.session, ctx.principal, organization_id=organization_id, domain=input.domain
            ),
        )
        return payloads.AddOrganizationDomainPayload(
            organization=Organization.from_row(organization),
            domain=OrganizationDomain.from_row(record),
        )

    @mutation(
        HOST_ADMIN,
        description=(
            "Suspend or reactivate an organization; a suspended one's people are refused "
            "from their next request."
        ),
    )
    async def set_organization_status(
        self,
        info: Info,
        input: Annotated[inputs.SetOrganizationStatusInput, strawberry.argument(description=INPUT)],
    ) -> payloads.SetOrganizationStatusPayload | None:
        ctx = info.context
        organization_id = decode_global_id(
            input.organization_id, expected="Organization", field="organizationId"
        )
        organization = await in_transaction(
            ctx,
            lambda: administration.set_organization_status(
                ctx.session, ctx.principal, organization_id=organization_id, status=input.status
            ),
        )
        return payloads.SetOrganizationStatusPayload(
            organization=Organization.from_row(organization)
        )

    @mutation(
        HOST_ADMIN,
        description=(
            "Suspend, reactivate or deprovision a user; one not ACTIVE is refused from their "
            "next request."
        ),
    )
    async def set_user_status(
        self,
        info: Info,
        input: Annotated[inputs.SetUserStatusInput, strawberry.argument(description=INPUT)],
    ) -> payloads.SetUserStatusPayload | None:
        ctx = info.context
        user_id = decode_global_id(input.user_id, expected="User", field="userId")
        user = await in_transaction(
            ctx,
            lambda: administration.set_user_status(
                ctx.session, ctx.principal, user_id=user_id, status=input.status
            ),
        )
        return payloads.SetUserStatusPayload(user=User.from_row(user))
