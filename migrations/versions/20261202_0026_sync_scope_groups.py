"""sync scope groups: reference data held once per scope group, not once per device

Revision ID: 0026
Revises: 0027
Create Date: 2026-12-02

Devices that synced before keep their per-device rows of units, grids and catalogue items
until their next pull that sends anything (or their next full check, at least daily): those
rows then move to the device's scope groups (sync.held), without any change in what the
phone is sent.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0026"
down_revision = "0027"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def upgrade():
    op.create_table(
        "sync_scope_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_scope_groups")),
        sa.UniqueConstraint("table_name", "key", name=op.f("uq_sync_scope_groups_table_name")),
    )
    op.create_table(
        "sync_scope_group_records",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["sync_scope_groups.id"],
                                name=op.f("fk_sync_scope_group_records_group_id_sync_scope_groups")),
        sa.PrimaryKeyConstraint("group_id", "row_id", "since",
                                name=op.f("pk_sync_scope_group_records")),
    )
    op.create_index("ix_sync_scope_group_records_until", "sync_scope_group_records",
                    ["group_id", "until"])
    op.create_table(
        "sync_device_groups",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["sync_scope_groups.id"],
                                name=op.f("fk_sync_device_groups_group_id_sync_scope_groups")),
        sa.PrimaryKeyConstraint("user_id", "device_id", "table_name",
                                name=op.f("pk_sync_device_groups")),
    )
    op.create_index(op.f("ix_sync_device_groups_group_id"), "sync_device_groups", ["group_id"])


def downgrade():
    op.drop_index(op.f("ix_sync_device_groups_group_id"), table_name="sync_device_groups")
    op.drop_table("sync_device_groups")
    op.drop_index("ix_sync_scope_group_records_until", table_name="sync_scope_group_records")
    op.drop_table("sync_scope_group_records")
    op.drop_table("sync_scope_groups")
