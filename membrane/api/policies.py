"""Field policies: who may read a field, declared beside it as data.

One small vocabulary, combined with `&` and `|`:

- `VISIBLE`: whoever may see the row. Row visibility (engagement membership and the zone
  rule) is applied in the data layer, so such a field costs nothing at run time.
  `SIGNED_IN` is its counterpart for root fields: any principal, rows filtered.
- `ADMIN_ROWS`: like `VISIBLE`, for rows only host admins can load; absent for partners.
- `HOST`: a member of the host organization.
- `tenant_role(TenantRole.FINANCE)`: holds that tenant role in their own organization.
- `engagement_role(EngagementRole.LEAD)`: holds that role in the row's engagement.
- `SAME_ORGANIZATION`: belongs to the organization that owns the row (its zone's owner, or
  the user's organization).
- `LEADS_ENGAGEMENT_OF_USER`: leads an engagement the user of the row takes part in.

A policy answers three questions: may this principal read this field of this row
(`allows`), can it be decided without the row (`decided_by_principal`), and can any partner
principal ever pass it (`partner_may_read`; fields where it cannot do not exist in the
partner schema). `field()` and `mutation()` declare a field with its policy; the start-up
check (`membrane.api.policy_check`) refuses a schema with a field that has none.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from membrane.engagements.enums import EngagementRole
from membrane.tenancy.enums import TenantRole

if TYPE_CHECKING:
    from membrane.api.context import Context, Info
    from membrane.auth.principal import Principal

POLICY = "membrane.policy"


class Policy(ABC):
    """A rule over the principal and, for row-dependent rules, the row being read."""

    row_dependent: bool = False
    # Passed by everyone who reaches the field: nothing to check at run time.
    always: bool = False

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def partner_may_read(self) -> bool:
        """Whether some partner principal could pass this policy on some row."""

    @abstractmethod
    def decided_by_principal(self, principal: Principal) -> bool | None:
        """The answer when the principal alone decides it, else None (it depends on the row)."""

    async def allows(self, source: Any, context: Context) -> bool:
        decided = self.decided_by_principal(context.principal)
        return bool(decided)

    def __and__(self, other: Policy) -> Policy:
        return AllOf((self, other))

    def __or__(self, other: Policy) -> Policy:
        return AnyOf((self, other))

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class _Visible(Policy):
    text: str
    partners: bool = True
    always = True

    def describe(self) -> str:
        return self.text

    def partner_may_read(self) -> bool:
        return self.partners

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return True


@dataclass(frozen=True)
class _Host(Policy):
    def describe(self) -> str:
        return "member of the host organization"

    def partner_may_read(self) -> bool:
        return False

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return principal.is_host


@dataclass(frozen=True)
class _TenantRole(Policy):
    role: TenantRole

    def describe(self) -> str:
        return f"tenant role {self.role.value}"

    def partner_may_read(self) -> bool:
        return True

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return principal.has_role(self.role)


@dataclass(frozen=True)
class _EngagementRole(Policy):
    """The viewer's role in the engagement of the row (`source.engagement_uuid`)."""

    roles: frozenset[EngagementRole]
    row_dependent = True

    def describe(self) -> str:
        names = " or ".join(sorted(role.value for role in self.roles))
        return f"engagement {names}"

    def partner_may_read(self) -> bool:
        return True

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return None

    async def allows(self, source: Any, context: Context) -> bool:
        engagement_id: uuid.UUID = source.engagement_uuid
        return await context.engagements.viewer_role.load(engagement_id) in self.roles


@dataclass(frozen=True)
class _SameOrganization(Policy):
    """The viewer belongs to the organization the row names (`owner_uuid` for content, the
    user's `organization_uuid` for people)."""

    row_dependent = True

    def describe(self) -> str:
        return "the row's own organization"

    def partner_may_read(self) -> bool:
        return True

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return None

    async def allows(self, source: Any, context: Context) -> bool:
        return bool(_organization_of(source) == context.principal.organization_id)


def _organization_of(source: Any) -> uuid.UUID:
    owner: uuid.UUID | None = getattr(source, "owner_uuid", None)
    return owner if owner is not None else source.organization_uuid


@dataclass(frozen=True)
class _LeadsEngagementOfUser(Policy):
    """The viewer is LEAD of an engagement the user of the row (`source.id`) takes part in."""

    row_dependent = True

    def describe(self) -> str:
        return "lead of an engagement the user takes part in"

    def partner_may_read(self) -> bool:
        return True

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return None

    async def allows(self, source: Any, context: Context) -> bool:
        return await context.tenancy.led_by_viewer.load(uuid.UUID(source.id))


@dataclass(frozen=True)
class AllOf(Policy):
    parts: tuple[Policy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_dependent", any(p.row_dependent for p in self.parts))

    def describe(self) -> str:
        return " and ".join(_grouped(part) for part in self.parts)

    def partner_may_read(self) -> bool:
        return all(part.partner_may_read() for part in self.parts)

    def decided_by_principal(self, principal: Principal) -> bool | None:
        answers = [part.decided_by_principal(principal) for part in self.parts]
        if False in answers:
            return False
        return True if all(answers) else None

    async def allows(self, source: Any, context: Context) -> bool:
        for part in _static_first(self.parts):
            if not await part.allows(source, context):
                return False
        return True


@dataclass(frozen=True)
class AnyOf(Policy):
    parts: tuple[Policy, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_dependent", any(p.row_dependent for p in self.parts))

    def describe(self) -> str:
        return " or ".join(_grouped(part) for part in self.parts)

    def partner_may_read(self) -> bool:
        return any(part.partner_may_read() for part in self.parts)

    def decided_by_principal(self, principal: Principal) -> bool | None:
        answers = [part.decided_by_principal(principal) for part in self.parts]
        if True in answers:
            return True
        return False if all(answer is False for answer in answers) else None

    async def allows(self, source: Any, context: Context) -> bool:
        for part in _static_first(self.parts):
            if await part.allows(source, context):
                return True
        return False


def _grouped(policy: Policy) -> str:
    text = policy.describe()
    return f"({text})" if isinstance(policy, AllOf | AnyOf) else text


def _static_first(parts: Iterable[Policy]) -> list[Policy]:
    """Parts the principal decides alone are cheaper, so they are asked first."""
    return sorted(parts, key=lambda part: part.row_dependent)


VISIBLE: Policy = _Visible("anyone who can see the row")
SIGNED_IN: Policy = _Visible("any signed-in principal; rows are filtered by visibility")
# Rows that only the host's admins can load (providers, domains): the data layer returns
# them to nobody else, and the partner schema has no such type.
ADMIN_ROWS: Policy = _Visible("host ADMIN, the only principal these rows are loaded for", False)
HOST: Policy = _Host()
SAME_ORGANIZATION: Policy = _SameOrganization()
LEADS_ENGAGEMENT_OF_USER: Policy = _LeadsEngagementOfUser()


def tenant_role(role: TenantRole) -> Policy:
    return _TenantRole(role)


def engagement_role(*roles: EngagementRole) -> Policy:
    return _EngagementRole(frozenset(roles))


# The rules PRODUCT.md names, each written once.
ENGAGEMENT_MEMBER = engagement_role(*EngagementRole)
HOST_ADMIN = HOST & tenant_role(TenantRole.ADMIN)
HOST_MEMBER_OF_ENGAGEMENT = HOST & ENGAGEMENT_MEMBER
HOST_FINANCE_OR_LEAD = HOST & (
    tenant_role(TenantRole.FINANCE) | engagement_role(EngagementRole.LEAD)
)
USER_EMAIL = SAME_ORGANIZATION | LEADS_ENGAGEMENT_OF_USER | HOST_ADMIN


class _PolicyPermission(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.message = f"Not allowed: this field requires {policy.describe()}."


class _PrincipalPermission(_PolicyPermission):
    """A policy the principal decides alone: checked without awaiting."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(self.policy.decided_by_principal(info.context.principal))


class _RowPermission(_PolicyPermission):
    """A policy that may depend on the row: decided by the principal when it can be."""

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        decided = self.policy.decided_by_principal(info.context.principal)
        if decided is not None:
            return decided
        return await self.policy.allows(source, info.context)


def policy_extensions(policy: Policy) -> list[FieldExtension]:
    """What enforces a policy at run time: nothing for `VISIBLE`, whose rows are already
    filtered; else Strawberry's permission extension (null plus one FORBIDDEN error)."""
    if policy.always:
        return []
    permission = _RowPermission(policy) if policy.row_dependent else _PrincipalPermission(policy)
    return [PermissionExtension(permissions=[permission], use_directives=False)]


def _described(description: str, policy: Policy) -> str:
    if policy.always:
        return description
    return f"{description} Requires: {policy.describe()}."


def field(
    policy: Policy,
    *,
    description: str,
    resolver: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> Any:
    """A Strawberry field readable under `policy`: usable as a value or as a decorator."""
    options: dict[str, Any] = {
        "description": _described(description, policy),
        "metadata": {POLICY: policy},
        "extensions": policy_extensions(policy),
        **kwargs,
    }
    if resolver is not None:
        return strawberry.field(resolver, **options)
    return strawberry.field(**options)


def mutation(policy: Policy, *, description: str, **kwargs: Any) -> Any:
    """A root mutation callable under `policy`; the service checks the row-dependent rules."""
    return strawberry.mutation(
        description=_described(description, policy),
        metadata={POLICY: policy},
        extensions=policy_extensions(policy),
        **kwargs,
    )


def input_field(policy: Policy, *, description: str, **kwargs: Any) -> Any:
    """An input field settable under `policy` (the service enforces it on write); a field no
    partner may ever set does not exist in the partner schema."""
    return strawberry.field(
        description=_described(description, policy), metadata={POLICY: policy}, **kwargs
    )


def policy_of(strawberry_field: Any) -> Policy | None:
    metadata = getattr(strawberry_field, "metadata", None) or {}
    found = metadata.get(POLICY)
    return found if isinstance(found, Policy) else None
