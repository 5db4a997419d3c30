"""Seed (or re-seed) the demo tenant. `scale` multiplies engagements and content for benchmarks."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from membrane.db.base import uuid7
from membrane.demo.data import ENGAGEMENTS, ORGANIZATIONS, TASK_TITLES, USERS
from membrane.engagements.enums import EngagementStatus, MilestoneStatus, TaskStatus, Zone
from membrane.engagements.models import (
    Document,
    DocumentVersion,
    Engagement,
    Indicator,
    IndicatorValue,
    Membership,
    Message,
    Milestone,
    Participant,
    Task,
    Thread,
)
from membrane.tenancy.models import Organization, OrganizationDomain, Tenant, User, UserRole

DEMO_ISSUER = "membrane:demo"
_BATCH = 2000


@dataclass
class SeedReport:
    tenant: dict[str, Any]
    organizations: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    engagements: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "organizations": self.organizations,
            "users": self.users,
            "engagements": self.engagements,
            "counts": self.counts,
        }


def _zone_plan(
    index: int, host_id: uuid.UUID, partner_ids: list[uuid.UUID]
) -> tuple[Zone, uuid.UUID]:
    """Most content shared; some internal to the host; some internal to a partner."""
    slot = index % 8
    if slot in (0, 1, 2, 3, 4):
        return Zone.SHARED, (host_id if slot % 2 == 0 else partner_ids[slot % len(partner_ids)])
    if slot in (5, 6):
        return Zone.INTERNAL, host_id
    return Zone.INTERNAL, partner_ids[index % len(partner_ids)]


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        await session.execute(insert(model), rows[start : start + _BATCH])


async def seed_demo(session: AsyncSession, *, slug: str = "demo", scale: int = 1) -> SeedReport:
    if scale < 1:
        raise ValueError("scale must be at least 1")
    await session.execute(delete(Tenant).where(Tenant.slug == slug))
    tenant = Tenant(slug=slug, name="Northwind demo workspace")
    session.add(tenant)
    await session.flush()
    report = SeedReport(tenant={"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name})

    orgs: dict[str, Organization] = {}
    for demo_org in ORGANIZATIONS:
        org = Organization(
            tenant_id=tenant.id, slug=demo_org.slug, name=demo_org.name, kind=demo_org.kind
        )
        session.add(org)
        orgs[demo_org.slug] = org
    await session.flush()
    domains = {o.slug: o.domain for o in ORGANIZATIONS}
    for demo_org in ORGANIZATIONS:
        session.add(
            OrganizationDomain(
                tenant_id=tenant.id,
                organization_id=orgs[demo_org.slug].id,
                domain=demo_org.domain,
                verified_at=tenant.created_at,
            )
        )
        report.organizations.append(
            {
                "id": str(orgs[demo_org.slug].id),
                "slug": demo_org.slug,
                "name": demo_org.name,
                "kind": demo_org.kind.value,
                "domain": demo_org.domain,
            }
        )

    users: dict[str, User] = {}
    for demo_user in USERS:
        email = demo_user.email(domains[demo_user.organization])
        user = User(
            tenant_id=tenant.id,
            organization_id=orgs[demo_user.organization].id,
            issuer=DEMO_ISSUER,
            subject=email,
            email=email,
            display_name=demo_user.name,
        )
        session.add(user)
        users[demo_user.key] = user
    await session.flush()
    for demo_user in USERS:
        for role in demo_user.roles:
            session.add(UserRole(tenant_id=tenant.id, user_id=users[demo_user.key].id, role=role))
        report.users.append(
            {
                "id": str(users[demo_user.key].id),
                "email": users[demo_user.key].email,
                "name": demo_user.name,
                "organization": demo_user.organization,
                "roles": [r.value for r in demo_user.roles],
            }
        )
    await session.flush()

    host = orgs["northwind"]
    counts = dict.fromkeys(
        ("engagements", "tasks", "threads", "messages", "documents", "milestones", "indicators"), 0
    )
    rows: dict[Any, list[dict[str, Any]]] = {
        model: []
        for model in (
            Engagement,
            Participant,
            Membership,
            Task,
            Thread,
            Message,
            Document,
            DocumentVersion,
            Milestone,
            Indicator,
            IndicatorValue,
        )
    }
    tasks_per_engagement = len(TASK_TITLES) + 3 * (scale - 1)
    today = date(2026, 11, 23)
    for copy, demo in itertools.product(range(scale), ENGAGEMENTS):
        engagement_id = uuid7()
        name = demo.name if scale == 1 else f"{demo.name} #{copy + 1}"
        rows[Engagement].append(
            {
                "id": engagement_id,
                "tenant_id": tenant.id,
                "host_organization_id": host.id,
                "name": name,
                "description": demo.description,
                "status": EngagementStatus.ACTIVE,
                "starts_on": today - timedelta(days=30),
                "ends_on": today + timedelta(days=150),
                "budget_cents": 25_000_000,
                "created_at": tenant.created_at,
            }
        )
        report.engagements.append(
            {"id": str(engagement_id), "name": name, "partners": list(demo.partners)}
        )
        counts["engagements"] += 1
        partner_ids = [orgs[p].id for p in demo.partners]
        for org_id in [host.id, *partner_ids]:
            rows[Participant].append(
                {
                    "tenant_id": tenant.id,
                    "engagement_id": engagement_id,
                    "organization_id": org_id,
                    "created_at": tenant.created_at,
                }
            )
        members_by_org: dict[uuid.UUID, list[uuid.UUID]] = {}
        for key, engagement_role in demo.members:
            user = users[key]
            rows[Membership].append(
                {
                    "tenant_id": tenant.id,
                    "engagement_id": engagement_id,
                    "user_id": user.id,
                    "organization_id": user.organization_id,
                    "role": engagement_role,
                    "created_at": tenant.created_at,
                }
            )
            members_by_org.setdefault(user.organization_id, []).append(user.id)

        def content(
            index: int,
            engagement_id: uuid.UUID = engagement_id,
            partner_ids: list[uuid.UUID] = partner_ids,
            members_by_org: dict[uuid.UUID, list[uuid.UUID]] = members_by_org,
        ) -> dict[str, Any]:
            zone, owner = _zone_plan(index, host.id, partner_ids)
            creator = members_by_org[owner][index % len(members_by_org[owner])]
            return {
                "id": uuid7(),
                "tenant_id": tenant.id,
                "engagement_id": engagement_id,
                "owner_organization_id": owner,
                "zone": zone,
                "created_by_id": creator,
                "created_at": tenant.created_at,
            }

        for index in range(tasks_per_engagement):
            base = content(index)
            owner = base["owner_organization_id"]
            assignees = (
                members_by_org[owner]
                if base["zone"] is Zone.INTERNAL
                else [u for ids in members_by_org.values() for u in ids]
            )
            rows[Task].append(
                {
                    **base,
                    "title": TASK_TITLES[index % len(TASK_TITLES)],
                    "description": f"{TASK_TITLES[index % len(TASK_TITLES)]} for {name}.",
                    "status": list(TaskStatus)[index % len(TaskStatus)],
                    "assignee_id": assignees[index % len(assignees)],
                    "due_on": today + timedelta(days=7 + index),
                    "estimate_hours": 4.0 + index % 5,
                    "internal_notes": "Margin is thin here; keep scope tight."
                    if owner == host.id
                    else "",
                    "cost_cents": 40_000 + 1_000 * (index % 9),
                    "updated_at": None,
                }
            )
        counts["tasks"] += tasks_per_engagement
        for index in range(4):
            base = content(index * 3)
            rows[Thread].append({**base, "title": f"Weekly sync {index + 1}"})
            for number in range(3):
                rows[Message].append(
                    {
                        **content(0),
                        "id": uuid7(),
                        "thread_id": base["id"],
                        "owner_organization_id": base["owner_organization_id"],
                        "zone": base["zone"],
                        "created_by_id": base["created_by_id"],
                        "body": f"Update {number + 1} on {name}.",
                    }
                )
                counts["messages"] += 1
            counts["threads"] += 1
        for index in range(3):
            base = content(index * 2 + 1)
            body = f"Working notes {index + 1} for {name}."
            rows[Document].append(
                {
                    **base,
                    "title": f"Design note {index + 1}",
                    "current_version": 1,
                    "size_bytes": len(body.encode()),
                }
            )
            rows[DocumentVersion].append(
                {
                    **base,
                    "id": uuid7(),
                    "document_id": base["id"],
                    "number": 1,
                    "body": body,
                    "size_bytes": len(body.encode()),
                }
            )
            counts["documents"] += 1
        for index in range(2):
            rows[Milestone].append(
                {
                    **content(index * 5),
                    "title": f"Phase {index + 1} sign-off",
                    "due_on": today + timedelta(days=45 * (index + 1)),
                    "status": MilestoneStatus.PLANNED,
                }
            )
            counts["milestones"] += 1
        for index, (kpi, unit) in enumerate((("On-time delivery", "%"), ("Lead time", "days"))):
            base = content(index * 5)
            rows[Indicator].append(
                {
                    **base,
                    "name": kpi,
                    "unit": unit,
                    "target": 95.0 - 80 * index,
                    "current_value": 88.0 - 75 * index,
                }
            )
            rows[IndicatorValue].append(
                {**base, "id": uuid7(), "indicator_id": base["id"], "value": 88.0 - 75 * index}
            )
            counts["indicators"] += 1

    for model, model_rows in rows.items():
        await _insert(session, model, model_rows)
    report.counts = counts
    return report
