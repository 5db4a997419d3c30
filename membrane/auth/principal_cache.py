"""Principals remembered between requests, forgotten the moment their source rows change.

Loading the principal costs a database round trip on every request. On PostgreSQL a
trigger announces every change to tenants, organizations, users and user roles
(`NOTIFY membrane_principals`, delivered at commit); while this process listens, it may
serve principals from memory and drops the affected ones when told. When it does not
listen (SQLite, or the listening connection was lost), the cache is off and every request
reads the database, so a suspension always takes effect at once.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from membrane.auth.principal import Principal

CHANNEL = "membrane_principals"


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    expires_at: float


class PrincipalCache:
    def __init__(self, *, ttl_seconds: float = 60.0, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: OrderedDict[tuple[uuid.UUID, uuid.UUID], _Entry] = OrderedDict()
        self._tenant_of_user: dict[uuid.UUID, uuid.UUID] = {}
        self._listening = False
        self.generation = 0

    def listening(self, active: bool) -> None:
        """Called when the change feed starts or stops; stopping forgets everything."""
        self._listening = active
        self.clear()

    def get(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Principal | None:
        if not self._listening:
            return None
        entry = self._entries.get((tenant_id, user_id))
        if entry is None:
            return None
        if entry.expires_at < time.monotonic():
            self._entries.pop((tenant_id, user_id), None)
            return None
        return entry.principal

    def put(self, principal: Principal, generation: int) -> None:
        """Remember a principal loaded when `generation` was current, unless a change
        arrived meanwhile (it might have been loaded before that change)."""
        if not self._listening or generation != self.generation:
            return
        key = (principal.tenant_id, principal.user_id)
        self._entries[key] = _Entry(principal, time.monotonic() + self._ttl)
        self._entries.move_to_end(key)
        self._tenant_of_user[principal.user_id] = principal.tenant_id
        if len(self._entries) > self._max:
            (_, old_user), _ = self._entries.popitem(last=False)
            self._tenant_of_user.pop(old_user, None)

    def changed(self, payload: str) -> None:
        """Handle one notification: `user:<id>` drops that user's principal; anything else
        (`organization:<id>`, `tenant:<id>`: rare administrative changes) drops them all."""
        self.generation += 1
        kind, _, raw_id = payload.partition(":")
        if kind != "user":
            self._entries.clear()
            return
        try:
            user_id = uuid.UUID(raw_id)
        except ValueError:
            self._entries.clear()
            return
        tenant_id = self._tenant_of_user.pop(user_id, None)
        if tenant_id is not None:
            self._entries.pop((tenant_id, user_id), None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._tenant_of_user.clear()
