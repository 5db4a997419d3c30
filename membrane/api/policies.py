"""Field policies: who may read a field, declared beside it as data.

One small vocabulary, combined with `&` and `|`:

- `VISIBLE`: whoever may see the row. Row visibility (engagement membership and the zone
  rule) is applied in the data layer, so such a field costs nothing at run time.
  `SIGNED_IN` is its counterpart for root fields: any principal, rows filtered.
- `ADMIN_ROWS`: like `VISIBLE`, for rows only host admins can load; absent for partners.
- `AUDIT_ROWS`: like `VISIBLE`, for audit events, which only auditors can load (a partner's
  auditor, those about its own organization); absent for partners who are not auditors.
- `HOST`: a member of the host organization.
- `tenant_role(TenantRole.FINANCE)`: holds that tenant role in their own organization.
- `engagement_role(EngagementRole.LEAD)`: holds that role in the row's engagement.
- `SAME_ORGANIZATION`: belongs to the organization that owns the row (its zone's owner, or
  the user's organization).
- `LEADS_ENGAGEMENT_OF_USER`: leads an engagement the user of the row takes part in.

A policy answers four questions: may this principal read this field of this row
(`allows`), can it be decided without the row (`decided_by_principal`), can any partner
principal ever pass it (`partner_may_read`; fields where it cannot do not exist in the
partner schema), and can only partner auditors among them (`partner_auditors_only`; such
fields exist only in the schema of partner auditors). `field()` and `mutation()` declare a
field with its policy; the start-up check (`membrane.api.policy_check`) refuses a schema
with a field that has none.
"""

from __future__ import annotations

import inspect
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)

from membrane.api.loaders import known
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

    def partner_auditors_only(self) -> bool:
        """Whether, of partner principals, only those holding `AUDITOR` could pass this
        policy: the field exists only in the schema served to partner auditors."""
        return False

    @abstractmethod
    def decided_by_principal(self, principal: Principal) -> bool | None:
        """The answer when the principal alone decides it, else None (it depends on the row)."""

    def reads(self) -> frozenset[str]:
        """Attributes of the GraphQL object a row-dependent policy reads (checked at start-up)."""
        return frozenset()

    def decide_now(self, source: Any, context: Context) -> bool | None:
        """The answer when it is known without waiting (the principal decides, or what the
        row needs was loaded already), else None."""
        return self.decided_by_principal(context.principal)

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
    auditors: bool = False  # rows loaded for auditors only
    always = True

    def describe(self) -> str:
        return self.text

    def partner_may_read(self) -> bool:
        return self.partners

    def partner_auditors_only(self) -> bool:
        return self.auditors

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

    def partner_auditors_only(self) -> bool:
        return self.role is TenantRole.AUDITOR

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

    def reads(self) -> frozenset[str]:
        return frozenset({"engagement_uuid"})

    def decide_now(self, source: Any, context: Context) -> bool | None:
        hit, role = known(context.engagements.viewer_role, source.engagement_uuid)
        return role in self.roles if hit else None

    async def allows(self, source: Any, context: Context) -> bool:
        engagement_id: uuid.UUID = source.engagement_uuid
        return await context.engagements.viewer_role.load(engagement_id) in self.roles


@dataclass(frozen=True)
class _SameOrganization(Policy):
    """The viewer belongs to the organization that owns the row (`owner_uuid`: the zone's
    owner for content, the user's organization for people)."""

    row_dependent = True

    def describe(self) -> str:
        return "the row's own organization"

    def partner_may_read(self) -> bool:
        return True

    def decided_by_principal(self, principal: Principal) -> bool | None:
        return None

    def reads(self) -> frozenset[str]:
        return frozenset({"owner_uuid"})

    def decide_now(self, source: Any, context: Context) -> bool | None:
        return bool(source.owner_uuid == context.principal.organization_id)

    async def allows(self, source: Any, context: Context) -> bool:
        return bool(self.decide_now(source, context))


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

    def reads(self) -> frozenset[str]:
        return frozenset({"id"})

    def decide_now(self, source: Any, context: Context) -> bool | None:
        hit, led = known(context.tenancy.led_by_viewer, uuid.UUID(source.id))
        return bool(led) if hit else None

    async def allows(self, source: Any, context: Context) -> bool:
        return await context.tenancy.led_by_viewer.load(uuid.UUID(source.id))


@dataclass(frozen=True)
class AllOf(Policy):
    parts: tuple[Policy, ...]

    def __post_init__(self) -> None:
        _order_parts(self)

    def describe(self) -> str:
        return " and ".join(_grouped(part) for part in self.parts)

    def partner_may_read(self) -> bool:
        return all(part.partner_may_read() for part in self.parts)

    def partner_auditors_only(self) -> bool:
        return any(part.partner_auditors_only() for part in self.parts)

    def decided_by_principal(self, principal: Principal) -> bool | None:
        answers = [part.decided_by_principal(principal) for part in self.parts]
        if False in answers:
            return False
        return True if all(answers) else None

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(part.reads() for part in self.parts))

    def decide_now(self, source: Any, context: Context) -> bool | None:
        answers = [part.decide_now(source, context) for part in self.parts]
        if False in answers:
            return False
        return True if all(answers) else None

    async def allows(self, source: Any, context: Context) -> bool:
        for part in self.parts:
            if not await part.allows(source, context):
                return False
        return True


@dataclass(frozen=True)
class AnyOf(Policy):
    parts: tuple[Policy, ...]

    def __post_init__(self) -> None:
        _order_parts(self)

    def describe(self) -> str:
        return " or ".join(_grouped(part) for part in self.parts)

    def partner_may_read(self) -> bool:
        return any(part.partner_may_read() for part in self.parts)

    def partner_auditors_only(self) -> bool:
        # every part some partner could pass needs an auditor
        return all(
            part.partner_auditors_only() or not part.partner_may_read() for part in self.parts
        )

    def decided_by_principal(self, principal: Principal) -> bool | None:
        answers = [part.decided_by_principal(principal) for part in self.parts]
        if True in answers:
            return True
        return False if all(answer is False for answer in answers) else None

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(part.reads() for part in self.parts))

    def decide_now(self, source: Any, context: Context) -> bool | None:
        answers = [part.decide_now(source, context) for part in self.parts]
        if True in answers:
            return True
        return False if all(answer is False for answer in answers) else None

    async def allows(self, source: Any, context: Context) -> bool:
        for part in self.parts:
            if await part.allows(source, context):
                return True
        return False


def _grouped(policy: Policy) -> str:
    text = policy.describe()
    return f"({text})" if isinstance(policy, AllOf | AnyOf) else text


def _order_parts(policy: AllOf | AnyOf) -> None:
    """Parts the principal decides alone are cheaper, so they are asked first."""
    ordered = tuple(sorted(policy.parts, key=lambda part: part.row_dependent))
    object.__setattr__(policy, "parts", ordered)
    object.__setattr__(policy, "row_dependent", any(part.row_dependent for part in ordered))


VISIBLE: Policy = _Visible("anyone who can see the row")
SIGNED_IN: Policy = _Visible("any signed-in principal; rows are filtered by visibility")
# Rows that only the host's admins can load (providers, domains): the data layer returns
# them to nobody else, and the partner schema has no such type.
ADMIN_ROWS: Policy = _Visible("host ADMIN, the only principal these rows are loaded for", False)
# Audit events: the data layer loads them for auditors only, a partner's auditor getting
# the events about its own organization (`membrane.audit.queries`).
AUDIT_ROWS: Policy = _Visible(
    "AUDITOR, the only principal these rows are loaded for (a partner's: its organization's)",
    auditors=True,
)
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


class PolicyExtension(FieldExtension):
    """Enforces a field's policy: the field resolves as usual when it passes, and to null
    with one FORBIDDEN error when it does not.

    The answer is given at once whenever it is known (the principal decides, or what the
    row needs was loaded already), so a checked field stays synchronous; only a check that
    must load something waits. Strawberry's `PermissionExtension` awaits every `async`
    check, which made each checked field an asyncio task (docs/performance.md).
    """

    def __init__(self, policy: Policy) -> None:
        super().__init__()
        self.policy = policy
        self.message = f"Not allowed: this field requires {policy.describe()}."

    def _refused(self, info: Info) -> StrawberryGraphQLError:
        info.context.audit.read_denied(".".join(str(key) for key in info.path.as_list()))
        return StrawberryGraphQLError(self.message, extensions={"code": "FORBIDDEN"})

    @staticmethod
    def _allowed(info: Info) -> None:
        info.context.audit.read_restricted(f"{info._raw_info.parent_type.name}.{info.field_name}")

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        decided = self.policy.decide_now(source, info.context)
        if decided is None:
            return self._resolve_later(next_, source, info, kwargs)
        if not decided:
            raise self._refused(info)
        self._allowed(info)
        return next_(source, info, **kwargs)

    async def _resolve_later(
        self, next_: SyncExtensionResolver, source: Any, info: Info, kwargs: dict[str, Any]
    ) -> Any:
        if not await self.policy.allows(source, info.context):
            raise self._refused(info)
        self._allowed(info)
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        decided = self.policy.decide_now(source, info.context)
        if decided is None:
            decided = await self.policy.allows(source, info.context)
        if not decided:
            raise self._refused(info)
        self._allowed(info)
        return await next_(source, info, **kwargs)


class AuditedMutation(FieldExtension):
    """Names the mutation that starts, so its audit event carries its action."""

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info, **kwargs: Any) -> Any:
        info.context.audit.begin(info.field_name)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info, **kwargs: Any
    ) -> Any:
        info.context.audit.begin(info.field_name)
        return await next_(source, info, **kwargs)


def policy_extensions(policy: Policy) -> list[FieldExtension]:
    """What enforces a policy at run time: nothing for a policy everyone who reaches the
    field passes (`VISIBLE`: its rows are already filtered), else a `PolicyExtension`."""
    if policy.always:
        return []
    return [PolicyExtension(policy)]


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
    if "metadata" in kwargs:
        raise TypeError("a policed field keeps its policy in its metadata; pass none")
    options: dict[str, Any] = {
        **kwargs,
        "description": _described(description, policy),
        "metadata": {POLICY: policy},
        "extensions": [*policy_extensions(policy), *kwargs.get("extensions", ())],
    }
    if resolver is not None:
        return strawberry.field(resolver, **options)
    return strawberry.field(**options)


def mutation(policy: Policy, *, description: str, **kwargs: Any) -> Any:
    """A root mutation callable under `policy`; the service checks the row-dependent rules."""
    return strawberry.mutation(
        description=_described(description, policy),
        metadata={POLICY: policy},
        extensions=[*policy_extensions(policy), AuditedMutation()],
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
