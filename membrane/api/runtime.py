"""What the HTTP app holds for its lifetime: settings, tenant stores, tokens, documents.

Each tenant's store offers `read_sessions`, which serve query operations in autocommit
mode (no BEGIN and ROLLBACK round trips for requests that change nothing), and `sessions`
for mutations (one transaction each).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from membrane.api.documents import DocumentCache
from membrane.audit.chain import AuditLog
from membrane.auth.federation.clients import ProviderClients
from membrane.auth.principal_cache import PrincipalCache
from membrane.auth.tokens import TokenService
from membrane.config import Settings
from membrane.secrets import SecretBox
from membrane.tenancy.catalog import CatalogCache
from membrane.tenancy.stores import StoreRegistry


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine  # the default database: tenant catalog and pooled tenants
    stores: StoreRegistry
    catalog: CatalogCache
    tokens: TokenService
    documents: DocumentCache
    principals: PrincipalCache
    secrets: SecretBox
    providers: ProviderClients  # clients of organizations' identity providers
    audit: AuditLog  # appends to tenants' audit chains and signs their checkpoints
