"""Mutations that move content between the zones of its engagement: `publishToShared` and
`withdrawToInternal`, one transaction each (`membrane.engagements.zone_moves`)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from membrane.api.context import Info
from membrane.api.engagements.content_types import Content, content_node
from membrane.api.policies import SIGNED_IN, VISIBLE, field, mutation
from membrane.api.relay import decode_global_id
from membrane.api.transactions import in_transaction
from membrane.engagements import models, zone_moves
from membrane.engagements.enums import Zone

# The kinds of content that move, by GraphQL type name (rows are served by `content_node`).
# By GraphQL type name, which is the model's class name.
_MOVABLE: dict[str, type[models.ZonedContent]] = {
    model.__name__: model for model in zone_moves.MOVABLE
}
_ID = "The task, thread, document, milestone or indicator."
INPUT = "What to move; see the input type."


@strawberry.input(description="An item of the viewer's organization to share with the engagement.")
class PublishToSharedInput:
    id: strawberry.ID = strawberry.field(description=_ID)


@strawberry.input(description="An item of the viewer's organization to take back to its zone.")
class WithdrawToInternalInput:
    id: strawberry.ID = strawberry.field(description=_ID)


@strawberry.type(description="Result of publishToShared and withdrawToInternal.")
class ZoneMovePayload:
    content: Content = field(VISIBLE, description="The item, in the zone it is in now.")
    moved: bool = field(
        VISIBLE, description="False when the item already was in that zone: nothing changed."
    )


async def _move(info: Info, global_id: strawberry.ID, zone: Zone) -> ZoneMovePayload:
    """Decode the id (one of the movable types), then move the item in one transaction."""
    ctx = info.context
    content_id = decode_global_id(global_id, expected=_MOVABLE.keys(), field=zone_moves.FIELD)
    model = _MOVABLE[relay.GlobalID.from_id(global_id).type_name]

    async def work() -> zone_moves.ZoneMove[Any]:
        done = await zone_moves.move_to_zone(ctx.session, ctx.scope, model, content_id, zone)
        if done.moved:  # the audit event of the move: what moved, from where to where
            row = done.row
            ctx.audit.subject(
                target_type=models.table_of(model),
                target_id=row.id,
                organization_id=row.owner_organization_id,
                engagement_id=row.engagement_id,
                zone=zone,
            )
            other = Zone.INTERNAL if zone is Zone.SHARED else Zone.SHARED
            ctx.audit.describe(zone=[other, zone])
        return done

    done = await in_transaction(ctx, work)
    return ZoneMovePayload(content=content_node(done.row), moved=done.moved)


@strawberry.type
class ZoneMutations:
    @mutation(
        SIGNED_IN,
        description=(
            "Share an item of the viewer's organization with every member of the engagement, "
            "with its messages, versions or values (leads and contributors of its owner)."
        ),
    )
    async def publish_to_shared(
        self,
        info: Info,
        input: Annotated[PublishToSharedInput, strawberry.argument(description=INPUT)],
    ) -> ZoneMovePayload | None:
        return await _move(info, input.id, Zone.SHARED)

    @mutation(
        SIGNED_IN,
        description=(
            "Take a shared item back to its organization's internal zone, with its messages, "
            "versions or values; other organizations stop seeing it with their next request "
            "(leads and contributors of its owner)."
        ),
    )
    async def withdraw_to_internal(
        self,
        info: Info,
        input: Annotated[WithdrawToInternalInput, strawberry.argument(description=INPUT)],
    ) -> ZoneMovePayload | None:
        return await _move(info, input.id, Zone.INTERNAL)
