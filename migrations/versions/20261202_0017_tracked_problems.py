"""每月一题 (tracked problems) and the case indexes of the hotspot counts (issue 9)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

``tracked_problems``: a district's chosen high-frequency problem (categories, area, start
day). Two covering indexes on ``cases`` for counts per territory and received time, by
category and grid, with ``linked_at`` so that PostgreSQL counts from the index alone; two on
``deadlines`` for the unit statistics (dispatches by ``starts_at``, completions by ``met_at``).
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tracked_problems",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category_codes", sa.JSON(), nullable=False),
        sa.Column("area_unit_id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["area_unit_id"], ["units.id"],
                                name=op.f("fk_tracked_problems_area_unit_id_units")),
        sa.ForeignKeyConstraint(["district_id"], ["units.id"],
                                name=op.f("fk_tracked_problems_district_id_units")),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_tracked_problems_created_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_problems")),
    )
    op.create_index(op.f("ix_tracked_problems_district_id"), "tracked_problems",
                    ["district_id"], unique=False)
    op.create_index("ix_cases_district_received_category", "cases",
                    ["district_id", "received_at", "category_code", "basic_grid_code", "linked_at"])
    op.create_index("ix_cases_township_received_category", "cases",
                    ["township_id", "received_at", "category_code", "basic_grid_code", "linked_at"])
    op.create_index("ix_deadlines_subject_kind_starts", "deadlines",
                    ["subject_type", "kind", "starts_at"])
    op.create_index("ix_deadlines_subject_kind_met", "deadlines", ["subject_type", "kind", "met_at"])


def downgrade():
    op.drop_index("ix_deadlines_subject_kind_met", table_name="deadlines")
    op.drop_index("ix_deadlines_subject_kind_starts", table_name="deadlines")
    op.drop_index("ix_cases_township_received_category", table_name="cases")
    op.drop_index("ix_cases_district_received_category", table_name="cases")
    op.drop_index(op.f("ix_tracked_problems_district_id"), table_name="tracked_problems")
    op.drop_table("tracked_problems")
