"""The people, companies and engagements of the demo tenant."""

from __future__ import annotations

from dataclasses import dataclass

from membrane.engagements.enums import EngagementRole
from membrane.tenancy.enums import OrganizationKind, TenantRole


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    kind: OrganizationKind
    domain: str


@dataclass(frozen=True)
class DemoUser:
    key: str
    name: str
    organization: str
    roles: tuple[TenantRole, ...] = ()

    def email(self, domain: str) -> str:
        return f"{self.key}@{domain}"


@dataclass(frozen=True)
class DemoEngagement:
    name: str
    description: str
    partners: tuple[str, ...]
    members: tuple[tuple[str, EngagementRole], ...]


ORGANIZATIONS = (
    DemoOrganization(
        "northwind", "Northwind Consulting", OrganizationKind.HOST, "northwind.example"
    ),
    DemoOrganization("acme", "Acme Manufacturing", OrganizationKind.PARTNER, "acme.example"),
    DemoOrganization("globex", "Globex Logistics", OrganizationKind.PARTNER, "globex.example"),
)

USERS = (
    DemoUser("alice", "Alice Martin", "northwind", (TenantRole.ADMIN,)),
    DemoUser("bruno", "Bruno Keller", "northwind", (TenantRole.FINANCE,)),
    DemoUser("chloe", "Chloé Dubois", "northwind"),
    DemoUser("dmitri", "Dmitri Volkov", "northwind", (TenantRole.AUDITOR,)),
    DemoUser("erin", "Erin Walsh", "acme", (TenantRole.ADMIN,)),
    DemoUser("farid", "Farid Haddad", "acme"),
    DemoUser("grace", "Grace Okafor", "globex", (TenantRole.ADMIN,)),
    DemoUser("hiro", "Hiro Tanaka", "globex"),
)

ENGAGEMENTS = (
    DemoEngagement(
        "Acme ERP rollout",
        "Replace Acme's order-to-cash system across three plants.",
        ("acme",),
        (
            ("alice", EngagementRole.LEAD),
            ("chloe", EngagementRole.CONTRIBUTOR),
            ("bruno", EngagementRole.VIEWER),
            ("erin", EngagementRole.LEAD),
            ("farid", EngagementRole.CONTRIBUTOR),
        ),
    ),
    DemoEngagement(
        "Globex route optimisation",
        "Cut empty kilometres in Globex's regional delivery network.",
        ("globex",),
        (
            ("alice", EngagementRole.LEAD),
            ("chloe", EngagementRole.CONTRIBUTOR),
            ("grace", EngagementRole.LEAD),
            ("hiro", EngagementRole.VIEWER),
        ),
    ),
    DemoEngagement(
        "Joint supply-chain pilot",
        "Acme and Globex share forecasts to shorten lead times, facilitated by Northwind.",
        ("acme", "globex"),
        (
            ("alice", EngagementRole.LEAD),
            ("chloe", EngagementRole.CONTRIBUTOR),
            ("erin", EngagementRole.LEAD),
            ("farid", EngagementRole.VIEWER),
            ("grace", EngagementRole.CONTRIBUTOR),
            ("hiro", EngagementRole.CONTRIBUTOR),
        ),
    ),
)

TASK_TITLES = (
    "Map current order flow",
    "Collect master data samples",
    "Agree on cut-over weekend",
    "Draft interface specification",
    "Review security questionnaire",
    "Prepare training plan",
    "Validate test scenarios",
    "Estimate data migration effort",
    "Sign off design document",
    "Set up shared reporting",
    "Plan hypercare rota",
    "Close open risks",
)
