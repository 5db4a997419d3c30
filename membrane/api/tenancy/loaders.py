"""Loaders of users and organizations, by id, within what the viewer may see; and of what
tenant admins read about organizations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from membrane.api.loaders import ByIdLoader
from membrane.auth.federation.models import IdentityProvider
from membrane.auth.principal import Principal
from membrane.engagements import service
from membrane.engagements.scope import VisibilityScope
from membrane.tenancy import administration
from membrane.tenancy.models import Organization, OrganizationDomain, User


class TenancyLoaders:
    __slots__ = ("led_by_viewer", "organization_by_id", "user_by_id")

    def __init__(self, session: AsyncSession, scope: VisibilityScope) -> None:
        async def users(ids: Sequence[uuid.UUID]) -> list[User]:
            return await service.visible_users(session, scope, ids)

        async def organizations(ids: Sequence[uuid.UUID]) -> list[Organization]:
            return await service.visible_organizations(session, scope, ids)

        async def led(ids: list[uuid.UUID]) -> list[bool]:
            found = await service.users_led_by_viewer(session, scope, ids)
            return [key in found for key in ids]

        self.user_by_id: ByIdLoader[User] = ByIdLoader(users)
        self.organization_by_id: ByIdLoader[Organization] = ByIdLoader(organizations)
        # Whether the viewer leads an engagement the user takes part in (`User.email`).
        self.led_by_viewer: DataLoader[uuid.UUID, bool] = DataLoader(load_fn=led)

    def remember(self, people: service.People) -> None:
        """Keep users and organizations another query brought along, for later fields."""
        self.user_by_id.remember(people.users)
        self.organization_by_id.remember(people.organizations)


class AdministrationLoaders:
    """Loaders of what tenant admins read (providers, domains), each made on first use;
    the service returns nothing to anyone else."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self._session = session
        self._principal = principal

    @cached_property
    def identity_provider_by_id(self) -> ByIdLoader[IdentityProvider]:
        session, principal = self._session, self._principal

        async def providers(ids: Sequence[uuid.UUID]) -> list[IdentityProvider]:
            return await administration.providers_by_ids(session, principal, ids)

        return ByIdLoader(providers)

    @cached_property
    def identity_providers_by_organization(
        self,
    ) -> DataLoader[uuid.UUID, list[IdentityProvider]]:
        session, principal = self._session, self._principal

        async def providers(ids: list[uuid.UUID]) -> list[list[IdentityProvider]]:
            rows = await administration.providers_of(session, principal, ids)
            return [[row for row in rows if row.organization_id == key] for key in ids]

        return DataLoader(load_fn=providers)

    @cached_property
    def domains_by_organization(self) -> DataLoader[uuid.UUID, list[OrganizationDomain]]:
        session, principal = self._session, self._principal

        async def domains(ids: list[uuid.UUID]) -> list[list[OrganizationDomain]]:
            rows = await administration.domains_of(session, principal, ids)
            return [[row for row in rows if row.organization_id == key] for key in ids]

        return DataLoader(load_fn=domains)
