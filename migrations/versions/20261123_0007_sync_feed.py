"""sync feed: the change log, each device's sync state, what it holds, the batch it is sent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def upgrade():
    # SQLite: AUTOINCREMENT, so a sequence number is never handed out twice even after the
    # newest rows were pruned (the cursor there is this sequence).
    op.create_table(
        "sync_changes",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sync_changes_txid"), "sync_changes", ["txid"])
    op.create_index(op.f("ix_sync_changes_changed_at"), "sync_changes", ["changed_at"])

    op.create_table(
        "sync_devices",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=True),
        sa.Column("served_cursor", sa.BigInteger(), nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("acked_position", sa.Integer(), nullable=False),
        sa.Column("served_position", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=True),
        sa.Column("own_txid", sa.BigInteger(), nullable=True),
        sa.Column("own_seq", sa.BigInteger(), nullable=True),
        sa.Column("reconciled_at", T(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("started_at", T(), nullable=False),
        sa.Column("last_pull_at", T(), nullable=True),
        sa.ForeignKeyConstraint(["user_id", "device_id"], ["devices.user_id", "devices.id"],
                                name="fk_sync_devices_device"),
        sa.PrimaryKeyConstraint("user_id", "device_id", name=op.f("pk_sync_devices")),
    )

    op.create_table(
        "sync_device_records",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "device_id", "table_name", "row_id",
                                name=op.f("pk_sync_device_records")),
    )
    op.create_index("ix_sync_device_records_parent", "sync_device_records",
                    ["user_id", "device_id", "table_name", "parent_id"])

    op.create_table(
        "sync_pending",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "device_id", "position", name=op.f("pk_sync_pending")),
    )


def downgrade():
    op.drop_table("sync_pending")
    op.drop_index("ix_sync_device_records_parent", table_name="sync_device_records")
    op.drop_table("sync_device_records")
    op.drop_table("sync_devices")
    op.drop_index(op.f("ix_sync_changes_changed_at"), table_name="sync_changes")
    op.drop_index(op.f("ix_sync_changes_txid"), table_name="sync_changes")
    op.drop_table("sync_changes")
