"""The trail of administrative changes (issue 11, item 8)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02

``admin_changes``: one append-only row per administrative change (grid imported, replaced or
retired; catalogue item created, updated or deactivated; unit or user created; roles changed;
posting created or ended; tokens revoked; evaluation settings changed): who, when, which
object, before and after. Read newest first by (at, id); filtered by object, object code and
actor.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_roles", sa.JSON(), nullable=False),
        sa.Column("actor_unit_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("object_code", sa.String(length=120), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"],
                                name=op.f("fk_admin_changes_actor_user_id_users")),
        sa.ForeignKeyConstraint(["actor_unit_id"], ["units.id"],
                                name=op.f("fk_admin_changes_actor_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_changes")),
    )
    op.create_index("ix_admin_changes_at_id", "admin_changes", ["at", "id"])
    op.create_index("ix_admin_changes_object", "admin_changes", ["object_type", "object_id"])
    op.create_index("ix_admin_changes_object_code", "admin_changes", ["object_code"])
    op.create_index("ix_admin_changes_actor_user_id", "admin_changes", ["actor_user_id"])


def downgrade():
    op.drop_index("ix_admin_changes_actor_user_id", table_name="admin_changes")
    op.drop_index("ix_admin_changes_object_code", table_name="admin_changes")
    op.drop_index("ix_admin_changes_object", table_name="admin_changes")
    op.drop_index("ix_admin_changes_at_id", table_name="admin_changes")
    op.drop_table("admin_changes")
