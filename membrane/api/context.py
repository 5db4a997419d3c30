"""The typed request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info as StrawberryInfo

from membrane.api.engagements.loaders import EngagementLoaders
from membrane.api.tenancy.loaders import TenancyLoaders
from membrane.auth.principal import Principal
from membrane.engagements.models import Task
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
        context = cls(
            session=session,
            principal=principal,
            scope=scope,
            tenancy=TenancyLoaders(session, principal),
            engagements=EngagementLoaders(session, scope),
        )
        context._link_loaders()
        return context

    def _link_loaders(self) -> None:
        """Tasks are almost always shown with their assignee and the assignee's organization:
        load both in one statement each right after a page of tasks."""
        tenancy = self.tenancy

        async def assignees(tasks: list[Task]) -> None:
            ids = list({task.assignee_id for task in tasks if task.assignee_id is not None})
            users = await tenancy.user_by_id.load_many(ids)
            org_ids = list({user.organization_id for user in users if user is not None})
            await tenancy.organization_by_id.load_many(org_ids)

        self.engagements.tasks.after_fetch = assignees

    def reset_loaders(self) -> None:
        """Forget everything loaded so far (after a rollback it may be stale)."""
        self.tenancy = TenancyLoaders(self.session, self.principal)
        self.engagements = EngagementLoaders(self.session, self.scope)
        self._link_loaders()


Info = StrawberryInfo[Context, None]
