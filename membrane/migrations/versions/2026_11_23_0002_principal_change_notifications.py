"""principal change notifications

On PostgreSQL, every change to tenants, organizations, users and user roles is announced on
the `membrane_principals` channel (delivered at commit), so API processes can drop cached
principals at once. Nothing to do on SQLite.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION membrane_principal_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF TG_TABLE_NAME = 'tenants' THEN
        PERFORM pg_notify('membrane_principals', 'tenant:' || changed.id::text);
    ELSIF TG_TABLE_NAME = 'organizations' THEN
        PERFORM pg_notify('membrane_principals', 'organization:' || changed.id::text);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('membrane_principals', 'user:' || changed.id::text);
    ELSE
        PERFORM pg_notify('membrane_principals', 'user:' || changed.user_id::text);
    END IF;
    RETURN NULL;
END
$$;
"""

# Only the columns a principal is made of: other updates (names, e-mails) change nothing.
TRIGGERS = {
    "tenants": "UPDATE OF status, slug OR DELETE",
    "organizations": "UPDATE OF status, kind OR DELETE",
    "users": "UPDATE OF status, organization_id OR DELETE",
    "user_roles": "INSERT OR UPDATE OR DELETE",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table, events in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_principal_changed AFTER {events} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION membrane_principal_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_principal_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS membrane_principal_changed()")
