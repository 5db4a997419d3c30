"""audit event indexes

Indexes for the auditors' filters that had none: the organization an event was aimed at
(a partner auditor's events are those its organization acted in or was the target of) and
the engagement.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_tenant_id_target_organization_id",
        "audit_events",
        ["tenant_id", "target_organization_id"],
    )
    op.create_index(
        "ix_audit_events_tenant_id_engagement_id", "audit_events", ["tenant_id", "engagement_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_tenant_id_engagement_id", table_name="audit_events")
    op.drop_index("ix_audit_events_tenant_id_target_organization_id", table_name="audit_events")
