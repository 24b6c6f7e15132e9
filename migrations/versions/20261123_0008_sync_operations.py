"""sync operations: the ledger of operations pushed by phones; each device's clock skew

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def upgrade():
    op.create_table(
        "sync_operations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("device_time", T(), nullable=False),
        sa.Column("acted_at", T(), nullable=False),
        sa.Column("received_at", T(), nullable=False),
        sa.Column("clock_skew_s", sa.Float(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.Enum("applied", "duplicate", "rejected", "pending",
                                    native_enum=False, length=10, create_constraint=False),
                  nullable=False),
        sa.Column("code", sa.String(length=60), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_sync_operations_user_id_users")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_sync_operations_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_operations")),
        sa.UniqueConstraint("user_id", "device_id", "device_seq",
                            name="uq_sync_operations_user_device_seq"),
    )
    op.create_index(op.f("ix_sync_operations_case_id"), "sync_operations", ["case_id"])
    op.create_index("ix_sync_operations_status_received", "sync_operations",
                    ["status", "received_at", "id"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("clock_skew_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("clock_skew_measured_at", T(), nullable=True))


def downgrade():
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("clock_skew_measured_at")
        batch.drop_column("clock_skew_s")
    op.drop_index("ix_sync_operations_status_received", table_name="sync_operations")
    op.drop_index(op.f("ix_sync_operations_case_id"), table_name="sync_operations")
    op.drop_table("sync_operations")
