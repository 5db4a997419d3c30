"""The process's clients of registered providers: one per provider, each with its own small
connection pool and timeout, so a provider that hangs holds only its own connections and
slows only its own organization's sign-ins."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

import httpx

from membrane.auth.federation.models import IdentityProvider
from membrane.auth.federation.provider_client import ProviderClient

_Key = tuple[uuid.UUID, str, str]


class ProviderClients:
    def __init__(
        self,
        *,
        timeout_seconds: float,
        refetch_interval_seconds: float = 30.0,
        max_clients: int = 256,
    ) -> None:
        self._timeout = timeout_seconds
        self._refetch_interval = refetch_interval_seconds
        self._max = max_clients
        self._clients: OrderedDict[_Key, tuple[ProviderClient, httpx.AsyncClient]] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def client_for(self, provider: IdentityProvider) -> ProviderClient:
        # A changed issuer or discovery URL makes a new client (and forgets cached keys).
        key = (provider.id, provider.issuer, provider.discovery_url)
        found = self._clients.get(key)
        if found is not None:
            self._clients.move_to_end(key)
            return found[0]
        http = httpx.AsyncClient(
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            follow_redirects=False,
        )
        client = ProviderClient(
            issuer=provider.issuer,
            discovery_url=provider.discovery_url,
            http=http,
            timeout_seconds=self._timeout,
            refetch_interval_seconds=self._refetch_interval,
        )
        self._clients[key] = (client, http)
        if len(self._clients) > self._max:
            _, (_, old_http) = self._clients.popitem(last=False)
            task = asyncio.get_running_loop().create_task(old_http.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return client

    async def close(self) -> None:
        for _, http in self._clients.values():
            await http.aclose()
        self._clients.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
