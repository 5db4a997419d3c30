"""Loaders of users and organizations, by id, within what the viewer may see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from membrane.api.loaders import ByIdLoader
from membrane.engagements import service
from membrane.engagements.scope import VisibilityScope
from membrane.tenancy.models import Organization, User


class TenancyLoaders:
    __slots__ = ("organization_by_id", "user_by_id")

    def __init__(self, session: AsyncSession, scope: VisibilityScope) -> None:
        async def users(ids: Sequence[uuid.UUID]) -> list[User]:
            return await service.visible_users(session, scope, ids)

        async def organizations(ids: Sequence[uuid.UUID]) -> list[Organization]:
            return await service.visible_organizations(session, scope, ids)

        self.user_by_id: ByIdLoader[User] = ByIdLoader(users)
        self.organization_by_id: ByIdLoader[Organization] = ByIdLoader(organizations)

    def remember(self, people: service.People) -> None:
        """Keep users and organizations another query brought along, for later fields."""
        self.user_by_id.remember(people.users)
        self.organization_by_id.remember(people.organizations)
