"""Identifier types that only trusted code may create.

A `TenantId` comes from the resolved request context (or a CLI command naming its tenant);
repositories require one, so no query can forget its tenant.
"""

import uuid
from typing import NewType

TenantId = NewType("TenantId", uuid.UUID)
