"""The typed request context every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info as StrawberryInfo

from membrane.api.engagements.loaders import EngagementLoaders
from membrane.api.tenancy.loaders import AdministrationLoaders, TenancyLoaders
from membrane.audit.chain import AuditLog
from membrane.audit.recorder import Recorder
from membrane.auth.principal import Principal
from membrane.engagements.scope import VisibilityScope, visibility_scope
from membrane.secrets import SecretBox


@dataclass(slots=True)
class Context:
    session: AsyncSession
    principal: Principal
    scope: VisibilityScope
    tenancy: TenancyLoaders
    engagements: EngagementLoaders
    administration: AdministrationLoaders
    # What tenant administration needs: the box that encrypts providers' client secrets,
    # and whether the deployment runs in production (providers must then use https).
    secrets: SecretBox
    production: bool
    # What the request records for the audit log, and the log it appends to.
    audit: Recorder
    audit_log: AuditLog

    @classmethod
    def create(
        cls,
        session: AsyncSession,
        principal: Principal,
        *,
        secrets: SecretBox,
        production: bool,
        audit: Recorder,
        audit_log: AuditLog,
    ) -> Context:
        scope = visibility_scope(principal)
        tenancy = TenancyLoaders(session, scope)
        return cls(
            session=session,
            principal=principal,
            scope=scope,
            tenancy=tenancy,
            engagements=EngagementLoaders(session, scope, tenancy.remember, audit.rows_read),
            administration=AdministrationLoaders(session, principal),
            secrets=secrets,
            production=production,
            audit=audit,
            audit_log=audit_log,
        )

    def reset_loaders(self) -> None:
        """Forget everything loaded so far (after a rollback it may be stale)."""
        self.tenancy = TenancyLoaders(self.session, self.scope)
        self.engagements = EngagementLoaders(
            self.session, self.scope, self.tenancy.remember, self.audit.rows_read
        )
        self.administration = AdministrationLoaders(self.session, self.principal)


Info = StrawberryInfo[Context, None]
