"""No event waits much longer than MEMBRANE_AUDIT_CHECKPOINT_SECONDS for a signature, even
when no other event follows it; a stopping app signs the tails it leaves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.applications import Starlette

from membrane.api.runtime import Runtime
from membrane.audit import keys
from membrane.audit.chain import Actor, AuditLog, CheckpointPolicy, Draft, Sessions
from membrane.audit.models import AuditCheckpoint, AuditHead
from membrane.audit.sealing import Sealer
from membrane.db.engine import session_factory
from membrane.tenancy.isolation import bind_tenant
from tests.fixtures.demo import DemoData
from tests.support.ids import gid

CREATE_TASK = """mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }"""


async def head_of(sessions: Sessions, tenant: uuid.UUID) -> AuditHead:
    async with sessions() as session:
        bind_tenant(session, tenant)
        head = await session.scalar(select(AuditHead).where(AuditHead.tenant_id == tenant))
        assert head is not None
        return head


async def test_an_unsigned_tail_is_signed_once_it_has_waited(
    engine: AsyncEngine, demo_data: DemoData, tmp_path: Path
) -> None:
    # given a chain signed every two seconds, whose head was just signed
    tenant = uuid.UUID(demo_data.other.tenant_id)
    log = AuditLog(keys.load_or_create(tmp_path / "audit"), CheckpointPolicy(every_seconds=2))
    sessions = session_factory(engine)

    async def chains(ids: Collection[uuid.UUID]) -> list[tuple[uuid.UUID, Sessions]]:
        return [(tenant, sessions)] if tenant in ids else []

    sealer = Sealer(log, chains)
    draft = Draft(action="test.append", actor=Actor(client="test"))
    async with sessions() as session:
        bind_tenant(session, tenant)
        await log.append(session, tenant, [draft], sign=True)
        await session.commit()
    # and a process that appended after that checkpoint
    await log.append_committed(sessions, tenant, [draft])
    head = await head_of(sessions, tenant)
    assert head.seq == head.checkpoint_seq + 1 and tenant in log.unsigned_tenants()
    # when the sealer looks at once, nothing has waited long enough
    assert await sealer.sweep() == {}
    assert tenant in log.unsigned_tenants()
    # but once the period has passed, the head is signed, and only once
    await asyncio.sleep(2.05)
    assert await sealer.sweep() == {tenant: head.seq}
    assert tenant not in log.unsigned_tenants()
    assert await sealer.sweep() == {}
    async with sessions() as session:
        bind_tenant(session, tenant)
        checkpoint = await session.scalar(
            select(AuditCheckpoint).where(
                AuditCheckpoint.tenant_id == tenant, AuditCheckpoint.seq == head.seq
            )
        )
    assert checkpoint is not None and checkpoint.hash == head.hash
    assert head.hash.encode() in keys.verify(checkpoint.jws, log.keys.jwks())


async def test_a_stopping_process_signs_the_tails_it_leaves(
    app: Starlette, as_user: Any, demo_data: DemoData, session: AsyncSession
) -> None:
    runtime: Runtime = app.state.runtime
    tenant = uuid.UUID(demo_data.demo.tenant_id)
    erp = demo_data.demo.engagement("Acme ERP rollout")["id"]
    engagement = gid("Engagement", erp)
    async with app.router.lifespan_context(app):
        # given mutations in a served tenant, the last of them after its checkpoint
        for title in ("One", "Two", "Three"):
            created = {"engagementId": engagement, "title": title, "zone": "INTERNAL"}
            await as_user("chloe")(CREATE_TASK, {"input": created})
            bind_tenant(session, tenant)
            head = await session.scalar(
                select(AuditHead)
                .where(AuditHead.tenant_id == tenant)
                .execution_options(populate_existing=True)
            )
            assert head is not None
            if head.seq > head.checkpoint_seq:
                break
        assert head.seq > head.checkpoint_seq
    # when the app stops, the head is signed
    await session.refresh(head)
    assert head.checkpoint_seq == head.seq
    assert runtime.audit.unsigned_tenants() == set()
