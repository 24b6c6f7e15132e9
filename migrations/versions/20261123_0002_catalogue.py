"""dispatch catalogue (issue 3)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "catalogue_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("lead", sa.String(length=60), nullable=True),
        sa.Column("cooperating", sa.JSON(), nullable=False),
        sa.Column("response_limit_minutes", sa.Integer(), nullable=True),
        sa.Column("completion_limit_minutes", sa.Integer(), nullable=True),
        sa.Column("returnable", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", server.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "response_limit_minutes > 0 AND completion_limit_minutes > 0",
            name=op.f("ck_catalogue_items_limits_positive"),
        ),
        sa.CheckConstraint(
            "completion_limit_minutes >= response_limit_minutes",
            name=op.f("ck_catalogue_items_completion_after_response"),
        ),
        sa.CheckConstraint(
            "lead IS NULL OR (response_limit_minutes IS NOT NULL "
            "AND completion_limit_minutes IS NOT NULL)",
            name=op.f("ck_catalogue_items_lead_has_limits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_items")),
        sa.UniqueConstraint("code", name=op.f("uq_catalogue_items_code")),
    )
    op.create_index(op.f("ix_catalogue_items_parent_code"), "catalogue_items", ["parent_code"])


def downgrade():
    op.drop_index(op.f("ix_catalogue_items_parent_code"), table_name="catalogue_items")
    op.drop_table("catalogue_items")
