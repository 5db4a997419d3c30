"""Leaks: every field of the schema a principal is served, for every kind of principal.

Each principal introspects the schema it is served, and the queries are generated from that
introspection, never written per field: from the root fields whose arguments are all
optional (`engagements(first: 100)`, `viewer`), every field whose arguments are all optional
(connections with `first: 100`), down to the server's depth limit, never revisiting a type
already on the path. The same selection is sent in two shapes (plain; named fragments,
inline fragments and every field aliased `f_<name>`) and both answers are parsed the same
way; `node(id:)` is asked for every row of the tenant, for rows of another tenant and for
missing ids, with `... on <Type> { every field }`.

The answers are compared with a ground truth read from the tables with plain SQL: the rows
a principal may see (engagement membership, or host ADMIN; then the zone rule), the
restricted fields (a table written by hand from PRODUCT.md, held equal to the policy table
so that a new restricted field fails here until it is described), and the errors (exactly
one FORBIDDEN at each refused field, nothing else). New plain fields need nothing: the
generated queries pick them up.

The audit log is walked like the rest: the tenant holds audit events seeded with every mix
of actor and target organization, and the generated queries ask for those alone
(`auditEvents(action: ...)`, `node(id:)` of the seeded ids), since every query the test
sends appends events of its own.

The app is the real one (its lifespan runs; on PostgreSQL it acts as the `membrane_app`
role under row-level security), serving a tenant of its own (`leaks`, the demo plus the
principals the demo lacks, an identity provider and audit events) and a second tenant.
"""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from membrane.api import policy_report
from membrane.audit.chain import Actor, Draft
from membrane.audit.models import Outcome
from membrane.audit.setup import audit_log
from membrane.auth.federation.models import IdentityProvider
from membrane.config import Settings
from membrane.db.engine import session_factory
from membrane.demo.seed import DEMO_ISSUER, seed_demo
from membrane.engagements.enums import EngagementRole
from membrane.engagements.models import Membership
from membrane.tenancy.enums import TenantRole
from membrane.tenancy.models import User, UserRole
from tests.fixtures.tenants import Served, serve
from tests.support.sql import as_uuid, sql

TENANT = "leaks"
OTHER_TENANT = "leaks-other"
MAX_DEPTH = 12  # the server refuses deeper documents
NODE_DEPTH = 2  # how deep `node(id:)` selections go below the node
MAX_TOKENS = 5000  # the server refuses documents with more tokens
PAGE = 100
ALIAS = "f_"
LEAF_KINDS = frozenset({"SCALAR", "ENUM"})

Json = dict[str, Any]
ResponsePath = tuple[str | int, ...]


# --- the principals --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtraUser:
    """A person the demo lacks, added to the `leaks` tenant."""

    key: str
    organization: str
    roles: tuple[TenantRole, ...]
    memberships: tuple[tuple[str, EngagementRole], ...]


EXTRA_USERS = (
    ExtraUser("ada", "northwind", (TenantRole.ADMIN,), ()),
    ExtraUser("liam", "northwind", (), (("Globex route optimisation", EngagementRole.LEAD),)),
    ExtraUser("vera", "northwind", (), (("Acme ERP rollout", EngagementRole.VIEWER),)),
    ExtraUser(
        "fiona", "acme", (TenantRole.FINANCE,), (("Acme ERP rollout", EngagementRole.VIEWER),)
    ),
    ExtraUser("otto", "globex", (), (("Globex route optimisation", EngagementRole.CONTRIBUTOR),)),
    ExtraUser(
        "petra",
        "acme",
        (TenantRole.AUDITOR,),
        (("Joint supply-chain pilot", EngagementRole.VIEWER),),
    ),
)


@dataclass(frozen=True)
class Who:
    """A principal kind, played by one user, and what makes them that kind (checked against
    the tables, so a change of the demo cannot silently empty a kind)."""

    label: str
    tenant: str
    key: str
    is_kind: Callable[[Truth], bool]

    def __str__(self) -> str:
        return self.label


# --- the independent table of restricted fields (PRODUCT.md, "Authorisation") -----------------


def _host_finance_or_lead(truth: Truth, engagement: uuid.UUID) -> bool:
    return truth.is_host and (
        "FINANCE" in truth.roles or truth.engagement_roles.get(engagement) == "LEAD"
    )


def _host_admin(truth: Truth, _row: uuid.UUID) -> bool:
    return truth.is_host and "ADMIN" in truth.roles


def _email_allowed(truth: Truth, user: uuid.UUID) -> bool:
    same_organization = truth.users[user][0] == truth.organization_id
    leads_them = any(
        truth.engagement_roles.get(engagement) == "LEAD"
        for engagement in truth.memberships.get(user, set())
    )
    return same_organization or leads_them or _host_admin(truth, user)


def _ids_of(value: list[Json]) -> set[uuid.UUID]:
    return {decode_id(item["id"])[1] for item in value}


@dataclass(frozen=True)
class Restricted:
    """Who may read a field (row by row: the row's id, None for a root field), what the
    database holds, and how to compare."""

    host_only: bool  # no partner principal could ever read it: absent from their schema
    probe: str  # what a validation probe selects below it ("" for a leaf)
    allowed: Callable[[Truth, Any], bool]
    stored: Callable[[Truth, Any], Any]
    served: Callable[[Any], Any] = lambda value: value  # what the answer holds, comparable
    # of partners, only auditors could read it: absent from the schema of the others
    auditors_only: bool = False


RESTRICTED: dict[tuple[str, str], Restricted] = {
    # host org members who are members of the task's engagement
    ("Task", "internalNotes"): Restricted(
        True,
        "",
        lambda t, row: t.is_host and t.tasks[row][0] in t.engagement_roles,
        lambda t, row: t.tasks[row][1],
    ),
    # host org and (tenant FINANCE or LEAD of the engagement)
    ("Task", "costCents"): Restricted(
        True,
        "",
        lambda t, row: _host_finance_or_lead(t, t.tasks[row][0]),
        lambda t, row: t.tasks[row][2],
    ),
    ("Engagement", "budgetCents"): Restricted(
        True, "", _host_finance_or_lead, lambda t, row: t.budgets[row]
    ),
    # the user's own org, a LEAD of an engagement the user is a member of, or host ADMIN
    ("User", "email"): Restricted(False, "", _email_allowed, lambda t, row: t.users[row][1]),
    # host ADMIN only
    ("Organization", "identityProviders"): Restricted(
        True,
        " { __typename }",
        _host_admin,
        lambda t, row: t.providers.get(row, set()),
        _ids_of,
    ),
    ("Organization", "domains"): Restricted(
        True,
        " { __typename }",
        _host_admin,
        lambda t, row: t.domains.get(row, set()),
        lambda value: {item["domain"] for item in value},
    ),
    # AUDITORs: the host's read the tenant's log, a partner's its organization's slice (the
    # connection's rows are checked against the ground truth like any other connection)
    ("Query", "auditEvents"): Restricted(
        False,
        " { __typename }",
        lambda t, _row: "AUDITOR" in t.roles,
        lambda t, _row: True,
        lambda value: isinstance(value, dict),
        auditors_only=True,
    ),
}
HOST_ONLY_TYPES = frozenset({"IdentityProvider", "OrganizationDomain", "RoleMapping"})
# Types served to hosts and to partner auditors only.
AUDITOR_TYPES = frozenset({"AuditEvent", "AuditActor", "AuditTarget", "AuditEventConnection"})
# What every seeded audit event does; the generated queries ask for these events only.
SEEDED_ACTION = "leaks.seeded"
# Arguments the generated queries pass besides `first`.
FIXED_ARGUMENTS = {("Query", "auditEvents"): f'action: "{SEEDED_ACTION}"'}


# --- the ground truth, in plain SQL ----------------------------------------------------------

VISIBLE_ENGAGEMENTS = (
    "SELECT e.id FROM engagements e WHERE e.tenant_id = :tenant AND (:sees_all = 1 OR "
    "EXISTS (SELECT 1 FROM engagement_members m WHERE m.engagement_id = e.id "
    "AND m.user_id = :user))"
)
# GraphQL type → (table, the column naming the row it is listed under)
CONTENT = {
    "Task": ("tasks", "engagement_id"),
    "Thread": ("threads", "engagement_id"),
    "Document": ("documents", "engagement_id"),
    "Milestone": ("milestones", "engagement_id"),
    "Indicator": ("indicators", "engagement_id"),
    "Message": ("messages", "thread_id"),
    "DocumentVersion": ("document_versions", "document_id"),
    "IndicatorValue": ("indicator_values", "indicator_id"),
}
# (type, connection field) → the content type it lists, grouped by its parent's id
CONTENT_CONNECTIONS = {
    ("Engagement", "tasks"): "Task",
    ("Engagement", "threads"): "Thread",
    ("Engagement", "documents"): "Document",
    ("Engagement", "milestones"): "Milestone",
    ("Engagement", "indicators"): "Indicator",
    ("Thread", "messages"): "Message",
    ("Document", "versions"): "DocumentVersion",
    ("Indicator", "history"): "IndicatorValue",
}
# Tables of the rows `node(id:)` may return, by GraphQL type.
NODE_TABLES = {
    "Engagement": "engagements",
    **{name: table for name, (table, _) in CONTENT.items() if name != "IndicatorValue"},
    "User": "users",
    "Organization": "organizations",
    "IdentityProvider": "identity_providers",
    "AuditEvent": "audit_events",
}
# Which rows of a table `node(id:)` is asked for (the test's own queries append audit events).
NODE_ROWS = {"audit_events": f"action = '{SEEDED_ACTION}'"}


@dataclass
class Truth:
    """What the tables say about one principal."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    is_host: bool
    roles: frozenset[str]
    engagement_roles: dict[uuid.UUID, str]
    # visible rows by GraphQL type
    visible: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    # (type, connection field) → parent id (None: root) → the keys of the listed rows
    children: dict[tuple[str, str], dict[uuid.UUID | None, list[Any]]] = field(default_factory=dict)
    tasks: dict[uuid.UUID, tuple[uuid.UUID, str, int | None]] = field(default_factory=dict)
    budgets: dict[uuid.UUID, int | None] = field(default_factory=dict)
    users: dict[uuid.UUID, tuple[uuid.UUID, str]] = field(default_factory=dict)
    memberships: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # user → engs
    participants: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # eng → orgs
    providers: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)  # org → ids
    domains: dict[uuid.UUID, set[str]] = field(default_factory=dict)  # org → domains
    host_organization: uuid.UUID | None = None


async def _rows(connection: AsyncConnection, statement: str, **params: Any) -> list[Any]:
    return list(await connection.execute(*sql(statement, **params)))


async def ground_truth(connection: AsyncConnection, user_id: uuid.UUID) -> Truth:
    (me,) = await _rows(
        connection,
        "SELECT u.tenant_id, u.organization_id, o.kind FROM users u "
        "JOIN organizations o ON o.id = u.organization_id WHERE u.id = :user",
        user=user_id,
    )
    tenant, organization = as_uuid(me.tenant_id), as_uuid(me.organization_id)
    roles = frozenset(
        row.role
        for row in await _rows(
            connection, "SELECT role FROM user_roles WHERE user_id = :user", user=user_id
        )
    )
    engagement_roles = {
        as_uuid(row.engagement_id): row.role
        for row in await _rows(
            connection,
            "SELECT engagement_id, role FROM engagement_members WHERE user_id = :user",
            user=user_id,
        )
    }
    truth = Truth(tenant, user_id, organization, me.kind == "HOST", roles, engagement_roles)
    params: dict[str, Any] = {
        "tenant": tenant,
        "user": user_id,
        "org": organization,
        "sees_all": int(truth.is_host and "ADMIN" in roles),
    }

    engagements = [
        as_uuid(row.id) for row in await _rows(connection, VISIBLE_ENGAGEMENTS, **params)
    ]
    truth.visible["Engagement"] = set(engagements)
    truth.children[("Query", "engagements")] = {None: engagements}
    for name, (table, parent) in CONTENT.items():
        value = ", c.value AS value" if name == "IndicatorValue" else ""
        rows = await _rows(
            connection,
            f"SELECT c.id AS id, c.{parent} AS parent{value} FROM {table} c "
            f"WHERE c.tenant_id = :tenant AND c.engagement_id IN ({VISIBLE_ENGAGEMENTS}) "
            "AND (c.zone = 'SHARED' OR c.owner_organization_id = :org)",
            **params,
        )
        truth.visible[name] = {as_uuid(row.id) for row in rows}
        listed: dict[uuid.UUID | None, list[Any]] = {}
        for row in rows:
            key = row.value if name == "IndicatorValue" else as_uuid(row.id)
            listed.setdefault(as_uuid(row.parent), []).append(key)
        for connection_key, listed_type in CONTENT_CONNECTIONS.items():
            if listed_type == name:
                truth.children[connection_key] = listed
    truth.visible["User"] = {
        as_uuid(row.id)
        for row in await _rows(
            connection,
            "SELECT u.id FROM users u WHERE u.tenant_id = :tenant AND (u.organization_id = :org "
            "OR u.id IN (SELECT m.user_id FROM engagement_members m "
            f"WHERE m.engagement_id IN ({VISIBLE_ENGAGEMENTS})))",
            **params,
        )
    }
    truth.visible["Organization"] = {
        as_uuid(row.id)
        for row in await _rows(
            connection,
            "SELECT o.id FROM organizations o WHERE o.tenant_id = :tenant AND (o.id = :org "
            "OR o.id IN (SELECT p.organization_id FROM engagement_participants p "
            f"WHERE p.engagement_id IN ({VISIBLE_ENGAGEMENTS})))",
            **params,
        )
    }
    truth.visible["IdentityProvider"] = {
        as_uuid(row.id)
        for row in await _rows(
            connection,
            "SELECT id FROM identity_providers WHERE tenant_id = :tenant AND :sees_all = 1",
            **params,
        )
    }
    # the seeded audit events: all for a host auditor, a partner auditor's organization's
    # (as actor or as target), none for anyone else
    reach = (
        "1 = 1"
        if truth.is_host
        else "(actor_organization_id = :org OR target_organization_id = :org)"
    )
    events = [
        as_uuid(row.id)
        for row in await _rows(
            connection,
            f"SELECT id FROM audit_events WHERE tenant_id = :tenant AND action = :seeded "
            f"AND :auditor = 1 AND {reach} ORDER BY seq DESC",
            **params,
            seeded=SEEDED_ACTION,
            auditor=int("AUDITOR" in roles),
        )
    ]
    truth.visible["AuditEvent"] = set(events)
    truth.children[("Query", "auditEvents")] = {None: events}

    # what every row holds, for the restricted fields and the lists of people
    for row in await _rows(
        connection,
        "SELECT id, engagement_id, internal_notes, cost_cents FROM tasks WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        truth.tasks[as_uuid(row.id)] = (
            as_uuid(row.engagement_id),
            row.internal_notes,
            row.cost_cents,
        )
    for row in await _rows(
        connection,
        "SELECT id, budget_cents, host_organization_id FROM engagements WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        truth.budgets[as_uuid(row.id)] = row.budget_cents
        truth.host_organization = as_uuid(row.host_organization_id)
    for row in await _rows(
        connection,
        "SELECT id, organization_id, email FROM users WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        truth.users[as_uuid(row.id)] = (as_uuid(row.organization_id), row.email)
    members: dict[uuid.UUID | None, list[Any]] = {}
    for row in await _rows(
        connection,
        "SELECT engagement_id, user_id FROM engagement_members WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        members.setdefault(as_uuid(row.engagement_id), []).append(as_uuid(row.user_id))
        truth.memberships.setdefault(as_uuid(row.user_id), set()).add(as_uuid(row.engagement_id))
    truth.children[("Engagement", "members")] = members
    participants: dict[uuid.UUID | None, list[Any]] = {}
    for row in await _rows(
        connection,
        "SELECT engagement_id, organization_id FROM engagement_participants "
        "WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        participants.setdefault(as_uuid(row.engagement_id), []).append(as_uuid(row.organization_id))
        truth.participants.setdefault(as_uuid(row.engagement_id), set()).add(
            as_uuid(row.organization_id)
        )
    truth.children[("Engagement", "participants")] = participants
    for row in await _rows(
        connection,
        "SELECT id, organization_id FROM identity_providers WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        truth.providers.setdefault(as_uuid(row.organization_id), set()).add(as_uuid(row.id))
    for row in await _rows(
        connection,
        "SELECT organization_id, domain FROM organization_domains WHERE tenant_id = :tenant",
        tenant=tenant,
    ):
        truth.domains.setdefault(as_uuid(row.organization_id), set()).add(row.domain)
    return truth


# How a listed row is recognised when its node has no id of its own (None: not selected).
CONNECTION_KEYS: dict[tuple[str, str], Callable[[Json], Any]] = {
    ("Engagement", "members"): lambda node: (
        decode_id(node["user"]["id"])[1] if node.get("user") else None
    ),
    ("Indicator", "history"): lambda node: node.get("value"),
}


def _key_by_id(node: Json) -> Any:
    return decode_id(node["id"])[1] if "id" in node else None


def _roles(truth: Truth) -> set[str]:
    return set(truth.engagement_roles.values())


def _shares_with_another_partner(truth: Truth) -> bool:
    return any(
        len(truth.participants[engagement] - {truth.organization_id, truth.host_organization}) > 0
        for engagement in truth.engagement_roles
    )


PRINCIPALS = (
    Who(
        "host-admin-not-member",
        TENANT,
        "ada",
        lambda t: t.is_host and "ADMIN" in t.roles and not t.engagement_roles,
    ),
    Who(
        "host-admin-and-lead",
        TENANT,
        "alice",
        lambda t: t.is_host and "ADMIN" in t.roles and _roles(t) == {"LEAD"},
    ),
    Who(
        "host-finance",
        TENANT,
        "bruno",
        lambda t: t.is_host and t.roles == {"FINANCE"} and "LEAD" not in _roles(t),
    ),
    Who(
        "host-lead",
        TENANT,
        "liam",
        lambda t: (
            t.is_host
            and not t.roles
            and _roles(t) == {"LEAD"}
            and len(t.engagement_roles) < len(t.budgets)
        ),
    ),
    Who(
        "host-contributor",
        TENANT,
        "chloe",
        lambda t: t.is_host and not t.roles and _roles(t) == {"CONTRIBUTOR"},
    ),
    Who(
        "host-viewer",
        TENANT,
        "vera",
        lambda t: t.is_host and not t.roles and _roles(t) == {"VIEWER"},
    ),
    Who(
        "host-auditor-no-engagement",
        TENANT,
        "dmitri",
        lambda t: t.is_host and t.roles == {"AUDITOR"} and not t.engagement_roles,
    ),
    Who(
        "partner-lead",
        TENANT,
        "erin",
        lambda t: not t.is_host and "LEAD" in _roles(t),
    ),
    Who(
        "partner-viewer",
        TENANT,
        "fiona",
        lambda t: not t.is_host and _roles(t) == {"VIEWER"} and "FINANCE" in t.roles,
    ),
    Who(
        "partner-contributor",
        TENANT,
        "farid",
        lambda t: not t.is_host and "CONTRIBUTOR" in _roles(t) and not t.roles,
    ),
    Who(
        "other-partner-same-engagement",
        TENANT,
        "hiro",
        lambda t: not t.is_host and _shares_with_another_partner(t),
    ),
    Who(
        "other-partner-lead",
        TENANT,
        "grace",
        lambda t: not t.is_host and "LEAD" in _roles(t) and _shares_with_another_partner(t),
    ),
    Who(
        "partner-of-another-engagement-only",
        TENANT,
        "otto",
        lambda t: (
            not t.is_host and len(t.engagement_roles) == 1 and not _shares_with_another_partner(t)
        ),
    ),
    Who(
        "partner-auditor",
        TENANT,
        "petra",
        lambda t: not t.is_host and t.roles == {"AUDITOR"} and _shares_with_another_partner(t),
    ),
    Who(
        "user-of-another-tenant",
        OTHER_TENANT,
        "alice",
        lambda t: t.is_host and "ADMIN" in t.roles,
    ),
)


# --- the world the principals act in ---------------------------------------------------------


@dataclass
class World:
    served: Served
    engine: AsyncEngine
    tenants: dict[str, uuid.UUID]
    people: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]]  # (tenant, key) → user, org

    def token(self, who: Who) -> str:
        user, organization = self.people[(who.tenant, who.key)]
        return self.served.runtime.tokens.mint(
            subject=user,
            tenant_id=self.tenants[who.tenant],
            organization_id=organization,
            ttl_seconds=600,
        )

    async def post(
        self, token: str | None, query: str, headers: dict[str, str] | None = None
    ) -> tuple[int, Json]:
        sent = dict(headers or {})
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        response = await self.served.client.post("/graphql", json={"query": query}, headers=sent)
        body: Json = response.json()
        return response.status_code, body

    async def graphql(self, token: str, query: str) -> Json:
        status, body = await self.post(token, query)
        assert status == 200, body
        return body


async def _add_people(session: AsyncSession, report: Json) -> None:
    tenant = uuid.UUID(report["tenant"]["id"])
    organizations = {o["slug"]: uuid.UUID(o["id"]) for o in report["organizations"]}
    engagements = {e["name"]: uuid.UUID(e["id"]) for e in report["engagements"]}
    domains = {o["slug"]: o["domain"] for o in report["organizations"]}
    for extra in EXTRA_USERS:
        email = f"{extra.key}@{domains[extra.organization]}"
        user = User(
            tenant_id=tenant,
            organization_id=organizations[extra.organization],
            issuer=DEMO_ISSUER,
            subject=email,
            email=email,
            display_name=extra.key.title(),
        )
        session.add(user)
        await session.flush()
        for role in extra.roles:
            session.add(UserRole(tenant_id=tenant, user_id=user.id, role=role))
        for name, engagement_role in extra.memberships:
            session.add(
                Membership(
                    tenant_id=tenant,
                    engagement_id=engagements[name],
                    user_id=user.id,
                    organization_id=user.organization_id,
                    role=engagement_role,
                )
            )


def _add_provider(session: AsyncSession, report: Json, slug: str) -> None:
    tenant = uuid.UUID(report["tenant"]["id"])
    organization = next(o for o in report["organizations"] if o["slug"] == slug)
    issuer = f"https://login.{organization['domain']}"
    session.add(
        IdentityProvider(
            tenant_id=tenant,
            organization_id=uuid.UUID(organization["id"]),
            issuer=issuer,
            discovery_url=f"{issuer}/.well-known/openid-configuration",
            client_id="membrane",
            client_secret_secret=None,
            groups_claim="groups",
            role_mapping={"finance": "FINANCE"},
        )
    )


@pytest_asyncio.fixture(scope="module")
async def world(database_url: str, engine: AsyncEngine, keys_dir: Path) -> AsyncIterator[World]:
    reports: dict[str, Json] = {}
    async with session_factory(engine)() as session, session.begin():
        for slug in (TENANT, OTHER_TENANT):
            reports[slug] = (await seed_demo(session, slug=slug)).as_dict()
        await _add_people(session, reports[TENANT])
        _add_provider(session, reports[TENANT], "acme")
        _add_provider(session, reports[OTHER_TENANT], "globex")
    people: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]] = {}
    async with engine.connect() as connection:
        for slug, report in reports.items():
            for row in await _rows(
                connection,
                "SELECT id, organization_id, email FROM users WHERE tenant_id = :tenant",
                tenant=report["tenant"]["id"],
            ):
                people[(slug, row.email.split("@")[0])] = (
                    as_uuid(row.id),
                    as_uuid(row.organization_id),
                )
    tenants = {slug: uuid.UUID(report["tenant"]["id"]) for slug, report in reports.items()}
    settings = Settings(database_url=database_url, keys_dir=keys_dir, dev_mode=True)
    async with session_factory(engine)() as session, session.begin():
        for slug, report in reports.items():
            await audit_log(settings).append(
                session, tenants[slug], _seeded_events(slug, report, people)
            )
    try:
        async with serve(settings) as served:
            yield World(served, engine, tenants, people)
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM tenants WHERE slug IN (:a, :b)"),
                {"a": TENANT, "b": OTHER_TENANT},
            )


def _seeded_events(
    slug: str, report: Json, people: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID]]
) -> list[Draft]:
    """Audit events with every mix of actor and target organization: the host's, a
    partner's, another partner's, none (the system; an event without target)."""
    organizations = {o["slug"]: uuid.UUID(o["id"]) for o in report["organizations"]}
    engagements = [uuid.UUID(e["id"]) for e in report["engagements"]]

    def actor(key: str | None) -> Actor:
        if key is None:
            return Actor(client="membrane")
        user, organization = people[(slug, key)]
        return Actor(user, organization, "graphql", "192.0.2.7", "leaks-test")

    mixes = [
        ("alice", "northwind", "INTERNAL", Outcome.SUCCESS),
        ("alice", "acme", "SHARED", Outcome.SUCCESS),
        ("erin", "northwind", "SHARED", Outcome.SUCCESS),
        ("erin", "acme", "INTERNAL", Outcome.SUCCESS),
        ("farid", None, None, Outcome.DENIED),
        ("grace", "globex", "INTERNAL", Outcome.SUCCESS),
        ("grace", "acme", "SHARED", Outcome.ERROR),
        ("hiro", "northwind", "SHARED", Outcome.DENIED),
        ("dmitri", None, None, Outcome.SUCCESS),
        (None, "acme", None, Outcome.SUCCESS),
        (None, None, None, Outcome.SUCCESS),
    ]
    return [
        Draft(
            action=SEEDED_ACTION,
            actor=actor(key),
            outcome=outcome,
            target_type=None if target is None else "tasks",
            target_id=None if target is None else str(uuid.uuid4()),
            target_organization_id=None if target is None else organizations[target],
            engagement_id=engagements[index % len(engagements)] if zone else None,
            zone=zone,
            details={"mix": index},
        )
        for index, (key, target, zone, outcome) in enumerate(mixes)
    ]


# --- the schema a principal is served, from its introspection --------------------------------

INTROSPECTION = """
query Introspect {
  __schema {
    types {
      name kind
      possibleTypes { name }
      fields { name args { name defaultValue type { ...Ref } } type { ...Ref } }
    }
  }
}
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""


@dataclass(frozen=True)
class FieldDef:
    name: str
    type_name: str
    optional_args: bool  # every argument may be omitted
    paged: bool  # takes `first`


@dataclass(frozen=True)
class TypeDef:
    name: str
    kind: str
    fields: dict[str, FieldDef]
    possible: tuple[str, ...]

    @property
    def is_connection(self) -> bool:
        return {"edges", "pageInfo"} <= set(self.fields)


def _named(ref: Json) -> tuple[str, bool]:
    """The named type under lists and non-nulls, and whether the outermost is non-null."""
    required = ref["kind"] == "NON_NULL"
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref["name"], required


def served_types(body: Json) -> dict[str, TypeDef]:
    types: dict[str, TypeDef] = {}
    for raw in body["data"]["__schema"]["types"]:
        fields: dict[str, FieldDef] = {}
        for raw_field in raw["fields"] or []:
            args = [
                (a["name"], _named(a["type"])[1] and a["defaultValue"] is None)
                for a in raw_field["args"]
            ]
            fields[raw_field["name"]] = FieldDef(
                raw_field["name"],
                _named(raw_field["type"])[0],
                not any(required for _, required in args),
                any(name == "first" for name, _ in args),
            )
        possible = tuple(p["name"] for p in raw["possibleTypes"] or [])
        types[raw["name"]] = TypeDef(raw["name"], raw["kind"], fields, possible)
    return types


# --- generated selections ----------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    name: str
    arguments: str
    child: Plan | None


@dataclass(frozen=True)
class Plan:
    """A selection on an object type: every field asked for, objects with their own plan."""

    type_name: str
    fields: tuple[Selection, ...]


def plan_for(
    types: dict[str, TypeDef],
    type_name: str,
    depth: int,
    max_depth: int,
    path: frozenset[str] = frozenset(),
) -> Plan:
    """Every field of `type_name` whose arguments may all be omitted, at `depth` (root fields
    are at 0, as the server counts), objects recursively without revisiting a type already on
    the path and without a field deeper than `max_depth`."""
    path = path | {type_name}
    selections: list[Selection] = []
    for field_def in types[type_name].fields.values():
        if not field_def.optional_args:
            continue
        fixed = FIXED_ARGUMENTS.get((type_name, field_def.name), "")
        arguments = ", ".join(
            part for part in (f"first: {PAGE}" if field_def.paged else "", fixed) if part
        )
        target = types[field_def.type_name]
        if target.kind in LEAF_KINDS:
            selections.append(Selection(field_def.name, arguments, None))
        elif target.kind != "OBJECT":
            raise AssertionError(f"{type_name}.{field_def.name} is a {target.kind}: walk it too")
        elif target.name not in path and depth + 1 <= max_depth:
            child = plan_for(types, target.name, depth + 1, max_depth, path)
            selections.append(Selection(field_def.name, arguments, child))
    return Plan(type_name, tuple(selections))


def plan_depth(plan: Plan, depth: int = 0) -> int:
    """The depth of the deepest field, as the server counts (root fields at 0)."""
    return max(
        (depth if s.child is None else plan_depth(s.child, depth + 1) for s in plan.fields),
        default=depth - 1,  # only `__typename`, which the server does not count
    )


def planned_fields(plan: Plan, found: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    found = set() if found is None else found
    for selection in plan.fields:
        found.add((plan.type_name, selection.name))
        if selection.child is not None:
            planned_fields(selection.child, found)
    return found


def selectable_fields(types: dict[str, TypeDef], roots: list[str]) -> set[tuple[str, str]]:
    """Every (type, field) reachable from these types through fields whose arguments may
    all be omitted."""
    found: set[tuple[str, str]] = set()
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(types[name].possible)
        for field_def in types[name].fields.values():
            if field_def.optional_args:
                found.add((name, field_def.name))
                if types[field_def.type_name].kind not in LEAF_KINDS:
                    todo.append(field_def.type_name)
    return found


def _head(selection: Selection) -> str:
    return selection.name + (f"({selection.arguments})" if selection.arguments else "")


def render_plain(plan: Plan) -> str:
    parts = ["__typename"]
    for selection in plan.fields:
        head = _head(selection)
        child = selection.child
        parts.append(head if child is None else f"{head} {{ {render_plain(child)} }}")
    return " ".join(parts)


class FragmentShape:
    """The same selection as named fragments (one per distinct selection), each holding its
    id in the fragment and the rest in an inline fragment, every field aliased `f_<name>`."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self.definitions: list[str] = []

    def spread(self, plan: Plan) -> str:
        head = [f"{ALIAS}__typename: __typename"]
        rest: list[str] = []
        for selection in plan.fields:
            text_ = f"{ALIAS}{selection.name}: {_head(selection)}"
            if selection.child is not None:
                text_ += f" {{ ...{self.spread(selection.child)} }}"
            (head if selection.name == "id" else rest).append(text_)
        body = " ".join(head) + (f" ... on {plan.type_name} {{ {' '.join(rest)} }}" if rest else "")
        key = (plan.type_name, body)
        if key not in self._names:
            self._names[key] = f"F{len(self._names)}"
            self.definitions.append(f"fragment {self._names[key]} on {plan.type_name} {{ {body} }}")
        return self._names[key]


def plain_document(root: Plan) -> str:
    return f"query LeaksPlain {{ {render_plain(root)} }}"


def fragment_document(root: Plan) -> str:
    shape = FragmentShape()
    spread = shape.spread(root)
    return "\n".join([f"query LeaksFragments {{ ...{spread} }}", *shape.definitions])


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


# --- parsing answers -------------------------------------------------------------------------


def canonical(plan: Plan, value: Any, aliased: bool) -> Any:
    """The answer to `plan` with plain field names, whichever shape asked for it; a key the
    plan did not ask for, or one it asked for and did not get, fails."""
    if value is None:
        return None
    if isinstance(value, list):
        return [canonical(plan, item, aliased) for item in value]

    def key(name: str) -> str:
        return f"{ALIAS}{name}" if aliased else name

    typename = value[key("__typename")]
    assert typename == plan.type_name, f"asked for a {plan.type_name}, got a {typename}"
    selections = plan.fields
    expected = {key("__typename")} | {key(s.name) for s in selections}
    assert set(value) == expected, f"{typename}: got {sorted(value)}, asked {sorted(expected)}"
    result: Json = {"__typename": typename}
    for selection in selections:
        raw = value[key(selection.name)]
        child = selection.child
        result[selection.name] = raw if child is None else canonical(child, raw, aliased)
    return result


def canonical_path(path: list[str | int], aliased: bool) -> ResponsePath:
    if not aliased:
        return tuple(path)
    return tuple(
        step[len(ALIAS) :] if isinstance(step, str) and step.startswith(ALIAS) else step
        for step in path
    )


def decode_id(global_id: str) -> tuple[str, uuid.UUID]:
    type_name, _, raw = base64.b64decode(global_id).decode().partition(":")
    return type_name, uuid.UUID(raw)


def encode_id(type_name: str, row_id: uuid.UUID) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


@dataclass
class Seen:
    """What an answer holds, by kind of check."""

    nodes: list[tuple[str, str, uuid.UUID, ResponsePath]] = field(default_factory=list)
    restricted: list[tuple[str, str, uuid.UUID, Any, ResponsePath]] = field(default_factory=list)
    connections: list[
        tuple[str, str, uuid.UUID | None, list[Any] | None, int | None, ResponsePath]
    ] = field(default_factory=list)


def analyse(
    types: dict[str, TypeDef], node_types: set[str], value: Any, path: ResponsePath, seen: Seen
) -> None:
    if isinstance(value, list):
        for index, item in enumerate(value):
            analyse(types, node_types, item, (*path, index), seen)
        return
    if not isinstance(value, dict):
        return
    typename: str = value["__typename"]
    row_id: uuid.UUID | None = None
    if typename in node_types:
        id_type, row_id = decode_id(value["id"])
        seen.nodes.append((typename, id_type, row_id, path))
    for name, item in value.items():
        if name == "__typename":
            continue
        if (typename, name) in RESTRICTED:
            assert row_id is not None or typename == "Query", (
                f"{typename}.{name} at {path} has no row id"
            )
            seen.restricted.append((typename, name, row_id, item, (*path, name)))
        target = types[types[typename].fields[name].type_name]
        if item is None or target.kind in LEAF_KINDS:
            continue
        if target.is_connection:
            keyed = CONNECTION_KEYS.get((typename, name), _key_by_id)
            # near the depth limit a connection may be asked for less than its rows' keys
            keys = [keyed(edge.get("node") or {}) for edge in item.get("edges", [])]
            complete = "edges" in item and None not in keys
            seen.connections.append(
                (
                    typename,
                    name,
                    row_id,
                    keys if complete else None,
                    item.get("totalCount"),
                    (*path, name),
                )
            )
        analyse(types, node_types, item, (*path, name), seen)


# --- checks ----------------------------------------------------------------------------------


def check_answer(
    who: Who,
    truth: Truth,
    types: dict[str, TypeDef],
    roots: dict[ResponsePath, Any],
    errors: list[Json],
    label: str,
) -> Seen:
    """Every row is visible, every listed connection complete, every restricted field allowed
    with the database's value or refused with exactly one FORBIDDEN error, and no other error."""
    seen = Seen()
    node_types = set(types["Node"].possible)
    for path, value in roots.items():
        analyse(types, node_types, value, path, seen)
    for typename, id_type, row_id, path in seen.nodes:
        assert id_type == typename, f"{label}: a {typename} with a {id_type} id at {path}"
        assert typename in truth.visible, f"no ground truth for {typename}: add it to the test"
        assert row_id in truth.visible[typename], (
            f"LEAK ({label}): {who} received {typename} {row_id} at {list(path)}, "
            "which they may not see"
        )
    for parent_type, name, parent_id, keys, total, path in seen.connections:
        assert (parent_type, name) in truth.children, (
            f"no ground truth for the connection {parent_type}.{name}: add it to the test"
        )
        expected = truth.children[(parent_type, name)].get(parent_id, [])
        assert len(expected) <= PAGE, f"{parent_type}.{name} has more rows than one page"
        assert keys is None or Counter(keys) == Counter(expected), (
            f"{label}: {who} got {parent_type}.{name} at {list(path)} = "
            f"{sorted(map(str, keys or []))}, the tables say {sorted(map(str, expected))}"
        )
        if total is not None:
            assert total == len(expected), f"{label}: totalCount at {list(path)} is {total}"
    refused: set[ResponsePath] = set()
    for typename, name, row_id, value, path in seen.restricted:
        rule = RESTRICTED[(typename, name)]
        if rule.allowed(truth, row_id):
            assert value is not None, f"{label}: {who} was refused {typename}.{name} at {path}"
            assert rule.served(value) == rule.stored(truth, row_id), (
                f"{label}: {typename}.{name} at {list(path)} is {value!r}"
            )
        else:
            assert value is None, (
                f"LEAK ({label}): {who} read {typename}.{name} of {row_id} at {list(path)}: "
                f"{value!r}"
            )
            refused.add(path)
    error_paths = Counter(tuple(error.get("path") or ()) for error in errors)
    for error in errors:
        assert error.get("extensions", {}).get("code") == "FORBIDDEN", f"{label}: {error}"
    assert set(error_paths) == refused, (
        f"{label}: errors at {sorted(map(list, set(error_paths) - refused))} where nothing was "
        f"refused; no error at {sorted(map(list, refused - set(error_paths)))}"
    )
    assert all(count == 1 for count in error_paths.values()), f"{label}: {error_paths}"
    return seen


def _canonical_errors(body: Json, aliased: bool) -> list[Json]:
    """The errors with plain field names in their paths, in path order, without locations
    (which differ between shapes)."""
    errors = [
        {
            **{key: value for key, value in error.items() if key != "locations"},
            "path": list(canonical_path(error.get("path") or [], aliased)),
        }
        for error in body.get("errors", [])
    ]
    return sorted(errors, key=lambda error: [str(step) for step in error["path"]])


# --- the tests -------------------------------------------------------------------------------


def test_the_restricted_field_table_is_the_policy_table() -> None:
    # given the policy table the schema is built from
    table = {
        (row.type_name, row.field_name): row
        for row in policy_report.rows()
        if not row.policy.always and not row.is_input and row.type_name != "Mutation"
    }
    # then every field that may refuse a reader is described here, and nothing else
    assert set(table) == set(RESTRICTED), (
        "restricted fields changed: describe them in RESTRICTED "
        f"(missing: {sorted(set(table) - set(RESTRICTED))}, "
        f"stale: {sorted(set(RESTRICTED) - set(table))})"
    )
    # and the fields no partner may read are exactly those absent from the partner schemas,
    # those only partner auditors may read those in the partner auditors' schema alone
    for key, row in table.items():
        assert RESTRICTED[key].host_only == (not row.partner_auditor_visible), key
        assert RESTRICTED[key].auditors_only == (
            row.partner_auditor_visible and not row.partner_visible
        ), key


async def test_anonymous_callers_get_401_and_no_data(world: World) -> None:
    # given no token, or a malformed one
    documents = [INTROSPECTION, plain_document(_minimal_root())]
    for headers in ({}, {"authorization": "Bearer "}, {"authorization": "Basic YTpi"}):
        for document in documents:
            # when they ask for the schema or for data
            status, body = await world.post(None, document, headers)
            # then they are refused before anything is read
            assert status == 401, body
            assert "data" not in body, body
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


def _minimal_root() -> Plan:
    node = Plan("Engagement", (Selection("id", "", None), Selection("name", "", None)))
    edge = Plan("EngagementEdge", (Selection("node", "", node),))
    connection = Plan("EngagementConnection", (Selection("edges", "", edge),))
    return Plan("Query", (Selection("engagements", f"first: {PAGE}", connection),))


async def test_a_token_cannot_name_another_tenant(world: World) -> None:
    # given a user of another tenant
    token = world.token(next(who for who in PRINCIPALS if who.tenant == OTHER_TENANT))
    # when they name this tenant
    status, body = await world.post(
        token, plain_document(_minimal_root()), {"X-Membrane-Tenant": TENANT}
    )
    # then they are refused and get nothing
    assert status == 403, body
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.postgres_only
async def test_the_app_acts_under_row_level_security(world: World) -> None:
    # the app reads as the role the row-level security policies bind, not as their owner
    async with world.served.runtime.stores.default.read_sessions() as session:
        assert (await session.execute(text("SELECT current_user"))).scalar_one() == "membrane_app"


async def test_the_generated_query_reaches_the_depth_limit(world: World) -> None:
    # given the full schema, as a host admin sees it
    token = world.token(next(who for who in PRINCIPALS if who.key == "ada"))
    types = served_types(await world.graphql(token, INTROSPECTION))
    # when the generator walks it to the server's limit, and one level further
    deepest = plan_for(types, "Query", 0, MAX_DEPTH)
    too_deep = plan_for(types, "Query", 0, MAX_DEPTH + 1)
    # then the walk reaches the limit, and the server refuses one level more
    assert plan_depth(deepest) == MAX_DEPTH
    assert plan_depth(too_deep) == MAX_DEPTH + 1
    assert "data" in await world.graphql(token, plain_document(deepest))
    refused = await world.graphql(token, plain_document(too_deep))
    assert "data" not in refused, refused
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"QUERY_TOO_COMPLEX"}


@pytest.fixture(params=PRINCIPALS, ids=str)
def who(request: pytest.FixtureRequest) -> Who:
    principal: Who = request.param
    return principal


async def test_no_field_leaks_to_any_principal(world: World, who: Who) -> None:
    # given a principal of one kind, and what the tables say they may see
    token = world.token(who)
    async with world.engine.connect() as connection:
        truth = await ground_truth(connection, world.people[(who.tenant, who.key)][0])
    assert who.is_kind(truth), f"{who.key} is no longer a {who}: the fixture needs another user"
    host = truth.is_host

    # when they introspect the schema they are served
    types = served_types(await world.graphql(token, INTROSPECTION))
    # then a partner's lacks every host-only field and type, a host's has them; the audit
    # log is served to hosts and to partner auditors only
    auditor = "AUDITOR" in truth.roles
    for (type_name, field_name), rule in RESTRICTED.items():
        present = type_name in types and field_name in types[type_name].fields
        expected = host or (not rule.host_only and (auditor or not rule.auditors_only))
        assert present == expected, f"{who} is served {type_name}.{field_name}: {present}"
    for type_name in HOST_ONLY_TYPES:
        assert (type_name in types) == host, f"{who} is served the type {type_name}: {not host}"
    for type_name in AUDITOR_TYPES:
        assert (type_name in types) == (host or auditor), f"{who} is served the type {type_name}"

    # and the queries generated from it select every field reachable from the root and nodes
    root = plan_for(types, "Query", 0, MAX_DEPTH)
    node_plans = {name: plan_for(types, name, 1, NODE_DEPTH) for name in types["Node"].possible}
    covered = planned_fields(root).union(*map(planned_fields, node_plans.values()))
    assert covered == selectable_fields(types, ["Query", *node_plans]), "fields left out"
    documents = {False: plain_document(root), True: fragment_document(root)}
    for document in documents.values():
        assert token_count(document) < MAX_TOKENS, "the generated document is too long"

    # when they send the generated query in both shapes
    answers: dict[bool, tuple[Any, list[Json]]] = {}
    for aliased, document in documents.items():
        body = await world.graphql(token, document)
        assert body.get("data") is not None, body
        answers[aliased] = (
            canonical(root, body["data"], aliased),
            _canonical_errors(body, aliased),
        )
    # then both shapes answer the same, and that answer is the tables' truth
    assert answers[False] == answers[True], f"{who}: the two shapes answer differently"
    data, errors = answers[False]
    seen = check_answer(who, truth, types, {(): data}, errors, "generated query")
    if truth.visible["Task"]:
        assert {"Engagement", "Task", "User", "Organization"} <= {n[0] for n in seen.nodes}
    if auditor:  # the audit log was walked, down to the people and engagements it names
        assert truth.visible["AuditEvent"], f"{who} may read no seeded audit event"
        assert any(c[:2] == ("Query", "auditEvents") and c[3] for c in seen.connections)
        assert "AuditEvent" in {n[0] for n in seen.nodes}

    # and node(id:) of every row, visible, invisible, foreign or missing, answers as it should
    await _check_nodes(world, who, token, truth, types, node_plans)

    # and a partner sending a host-only field gets the error of a field that never existed
    await _check_probes(world, who, token, host, auditor)


@dataclass(frozen=True)
class NodeId:
    type_name: str
    row_id: uuid.UUID
    origin: str  # "tenant", "other tenant" or "missing"


async def _all_ids(world: World) -> list[NodeId]:
    """Every row of the tenant that `node` may return, three of the other tenant's of each
    type, and an id of each type that exists nowhere."""
    ids: list[NodeId] = []
    async with world.engine.connect() as connection:
        for type_name, table in NODE_TABLES.items():
            for slug in (TENANT, OTHER_TENANT):
                only = f" AND {NODE_ROWS[table]}" if table in NODE_ROWS else ""
                rows = await _rows(
                    connection,
                    f"SELECT id FROM {table} WHERE tenant_id = :tenant{only} ORDER BY id",
                    tenant=world.tenants[slug],
                )
                if slug == OTHER_TENANT:  # the first, middle and last
                    rows = [rows[i] for i in sorted({0, len(rows) // 2, len(rows) - 1})]
                origin = "tenant" if slug == TENANT else "other tenant"
                ids += [NodeId(type_name, as_uuid(row.id), origin) for row in rows]
            ids.append(NodeId(type_name, uuid.uuid4(), "missing"))
    return ids


def _node_errors(errors: list[Json], alias: str) -> list[tuple[str, str]]:
    """The errors of one aliased node field, as (message, code), without its alias."""
    return sorted(
        (error["message"], error.get("extensions", {}).get("code", ""))
        for error in errors
        if (error.get("path") or [""])[0] == alias
    )


async def _check_nodes(
    world: World,
    who: Who,
    token: str,
    truth: Truth,
    types: dict[str, TypeDef],
    plans: dict[str, Plan],
) -> None:
    ids = await _all_ids(world)
    assert set(plans) <= set(NODE_TABLES), "a new Node type: add its table to NODE_TABLES"
    fragments = "\n".join(
        f"fragment Every{name} on {name} {{ {render_plain(plan)} }}" for name, plan in plans.items()
    )
    per_node = token_count('n100: node(id: "x") { __typename id ...EveryType }')
    per_document = (MAX_TOKENS - token_count(fragments) - 10) // per_node
    answers: dict[NodeId, tuple[Any, list[tuple[str, str]]]] = {}
    for start in range(0, len(ids), per_document):
        batch = dict(enumerate(ids[start : start + per_document], start))
        selections = " ".join(
            f'n{index}: node(id: "{encode_id(node.type_name, node.row_id)}") {{ __typename id'
            + (f" ...Every{node.type_name} }}" if node.type_name in plans else " }")
            for index, node in batch.items()
        )
        document = f"query Nodes {{ {selections} }}\n{fragments}"
        assert token_count(document) < MAX_TOKENS
        body = await world.graphql(token, document)
        assert body.get("data") is not None, body
        errors: list[Json] = body.get("errors", [])
        found: dict[ResponsePath, Any] = {}
        for index, node in batch.items():
            alias = f"n{index}"
            answers[node] = (body["data"][alias], _node_errors(errors, alias))
            if node.row_id in truth.visible[node.type_name]:
                answer = body["data"][alias]
                assert answer is not None, f"{who} cannot find the {node}"
                assert decode_id(answer["id"]) == (node.type_name, node.row_id)
                found[(alias,)] = canonical(plans[node.type_name], answer, aliased=False)
            else:
                errors = [e for e in errors if (e.get("path") or [""])[0] != alias]
        check_answer(who, truth, types, found, errors, "node(id:)")
    # an invisible or foreign row answers exactly like a missing id of its type: null, and
    # no error for the types of the schema the principal is served
    missing = {node.type_name: answers[node] for node in ids if node.origin == "missing"}
    for type_name, answer in missing.items():
        if type_name in plans:
            assert answer == (None, []), f"node(missing {type_name}) answers {who} {answer}"
    for node, answer in answers.items():
        if node.row_id not in truth.visible[node.type_name]:
            assert answer == missing[node.type_name], (
                f"LEAK (node): {who} is answered {answer} for the {node.origin} "
                f"{node.type_name} {node.row_id}, and {missing[node.type_name]} for a missing one"
            )


async def _check_probes(world: World, who: Who, token: str, host: bool, auditor: bool) -> None:
    # a partner who is not an auditor asking for the audit log: a field that never existed
    log = await world.graphql(token, "query Log { auditEvents { edges { cursor } } }")
    if host or auditor:
        assert "data" in log, log
    else:
        assert "data" not in log, log
        assert [e["message"].split(".")[0] for e in log["errors"]] == [
            "Cannot query field 'auditEvents' on type 'Query'"
        ], log
    missing = encode_id("Task", uuid.uuid4())
    probes = " ".join(
        f"... on {type_name} {{ {field_name}{rule.probe} }}"
        for (type_name, field_name), rule in RESTRICTED.items()
        if rule.host_only
    )
    probes += " ... on IdentityProvider { __typename }"
    probe = f'query Probe {{ node(id: "{missing}") {{ __typename {probes} }} }}'
    body = await world.graphql(token, probe)
    if host:
        assert body == {"data": {"node": None}}, body
        return
    assert "data" not in body, body
    messages = [error["message"] for error in body["errors"]]
    for (type_name, field_name), rule in RESTRICTED.items():
        if rule.host_only:
            assert any(
                m.startswith(f"Cannot query field '{field_name}' on type '{type_name}'.")
                for m in messages
            ), f"{who} was not refused {type_name}.{field_name}: {messages}"
    assert any(m.startswith("Unknown type 'IdentityProvider'.") for m in messages), messages
    # the very error of a field that never existed
    never = await world.graphql(
        token, f'query Probe {{ node(id: "{missing}") {{ ... on Task {{ neverExisted }} }} }}'
    )
    assert "data" not in never, never
    (error,) = never["errors"]
    assert error["message"].startswith("Cannot query field 'neverExisted' on type 'Task'.")
    assert {e["extensions"]["code"] for e in body["errors"]} == {error["extensions"]["code"]}


async def test_the_principals_cover_every_outcome(world: World) -> None:
    # given the ground truth of every principal of the tenant
    outcomes: dict[tuple[str, str], set[bool]] = {key: set() for key in RESTRICTED}
    async with world.engine.connect() as connection:
        for who in PRINCIPALS:
            truth = await ground_truth(connection, world.people[(who.tenant, who.key)][0])
            assert who.is_kind(truth), who
            # then each restricted field is both allowed and refused on some visible row
            for (type_name, field_name), rule in RESTRICTED.items():
                rows = {None} if type_name == "Query" else truth.visible[type_name]
                outcomes[(type_name, field_name)] |= {rule.allowed(truth, row) for row in rows}
    assert all(found == {True, False} for found in outcomes.values()), outcomes
