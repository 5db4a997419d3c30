"""tenant stores and row-level security

The tenant catalog gains each tenant's strategy (`pool`, `bridge`, `silo`) and store
location (a schema or attached file; an encrypted database URL), and the statuses
PROVISIONING and MOVING.

On PostgreSQL every tenant table gets a row-level security policy: a row is visible and
writable only while the `membrane.tenant_id` setting names its tenant. The API serves
requests as the role `membrane_app`, which owns no table and so cannot bypass the policies;
this migration creates it (once per server) and grants it what it needs in this schema.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "membrane_app"
# Every table with a tenant_id column at this revision. Later migrations that add tenant
# tables add their policies too (a test checks every tenant table has one).
TENANT_TABLES = (
    "organizations",
    "organization_domains",
    "users",
    "user_roles",
    "engagements",
    "engagement_participants",
    "engagement_members",
    "threads",
    "messages",
    "tasks",
    "documents",
    "document_versions",
    "milestones",
    "indicators",
    "indicator_values",
)
POLICY = "tenant_isolation"
PREDICATE = "tenant_id = NULLIF(current_setting('membrane.tenant_id', true), '')::uuid"

OLD_STATUS = sa.Enum(
    "ACTIVE", "SUSPENDED", name="tenant_status", native_enum=False, create_constraint=True
)
NEW_STATUS = sa.Enum(
    "ACTIVE",
    "SUSPENDED",
    "PROVISIONING",
    "MOVING",
    name="tenant_status",
    native_enum=False,
    create_constraint=True,
)
STRATEGY = sa.Enum(
    "pool", "bridge", "silo", name="tenant_strategy", native_enum=False, create_constraint=True
)

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    IF NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
END
$$;
"""


# Migration 0002's trigger on tenants names the status column, whose type changes here.
DROP_TRIGGER = "DROP TRIGGER IF EXISTS tenants_principal_changed ON tenants"
CREATE_TRIGGER = (
    "CREATE TRIGGER tenants_principal_changed AFTER UPDATE OF status, slug OR DELETE ON tenants "
    "FOR EACH ROW EXECUTE FUNCTION membrane_principal_changed()"
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(DROP_TRIGGER)
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("strategy", STRATEGY, nullable=False, server_default="pool"))
        batch.add_column(sa.Column("location", sa.String(length=1000), nullable=True))
        batch.add_column(sa.Column("database_url_secret", sa.Text(), nullable=True))
        batch.alter_column(
            "status", existing_type=OLD_STATUS, type_=NEW_STATUS, existing_nullable=False
        )
    if not postgresql:
        return
    op.execute(CREATE_TRIGGER)
    op.execute(CREATE_ROLE)
    op.execute(f"GRANT SELECT ON tenants TO {APP_ROLE}")
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} USING ({PREDICATE}) WITH CHECK ({PREDICATE})"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(DROP_TRIGGER)
        for table in TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
            op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON tenants FROM {APP_ROLE}")
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column(
            "status", existing_type=NEW_STATUS, type_=OLD_STATUS, existing_nullable=False
        )
        batch.drop_column("database_url_secret")
        batch.drop_column("location")
        batch.drop_constraint(op.f("ck_tenants_tenant_strategy"), type_="check")
        batch.drop_column("strategy")
    if postgresql:
        op.execute(CREATE_TRIGGER)
