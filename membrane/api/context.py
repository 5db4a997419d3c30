"""The typed request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info as StrawberryInfo

from membrane.api.engagements.loaders import EngagementLoaders
from membrane.api.tenancy.loaders import TenancyLoaders
from membrane.auth.principal import Principal
from membrane.engagements.scope import VisibilityScope, visibility_scope


@dataclass(slots=True)
class Context:
    session: AsyncSession
    principal: Principal
    scope: VisibilityScope
    tenancy: TenancyLoaders
    engagements: EngagementLoaders

    @classmethod
    def create(cls, session: AsyncSession, principal: Principal) -> Context:
        scope = visibility_scope(principal)
        tenancy = TenancyLoaders(session, scope)
        return cls(
            session=session,
            principal=principal,
            scope=scope,
            tenancy=tenancy,
            engagements=EngagementLoaders(session, scope, tenancy.remember),
        )

    def reset_loaders(self) -> None:
        """Forget everything loaded so far (after a rollback it may be stale)."""
        self.tenancy = TenancyLoaders(self.session, self.scope)
        self.engagements = EngagementLoaders(self.session, self.scope, self.tenancy.remember)


Info = StrawberryInfo[Context, None]
