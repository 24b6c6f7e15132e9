"""evaluation settings per district with history; indexes for the 三率 over a period (issue 9)

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02

``evaluation_settings`` is append-only: each change is a row in force from a Beijing-time day.
The deadline index lets the response rate read one period's response deadlines by due time;
partial indexes on cases.exempted_at and cases.linked_at find the few cases left out; case
ratings already have (recorded_at) and (case_id, seq) from 0013.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def upgrade():
    op.create_table(
        "evaluation_settings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.Uuid(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("response_weight_bp", sa.Integer(), nullable=False),
        sa.Column("resolution_weight_bp", sa.Integer(), nullable=False),
        sa.Column("satisfaction_weight_bp", sa.Integer(), nullable=False),
        sa.Column("basic_weight_permille", sa.Integer(), nullable=False),
        sa.Column("bottom_townships", sa.Integer(), nullable=False),
        sa.Column("bottom_departments", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("set_at", T(), nullable=False),
        sa.Column("set_by_user_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "response_weight_bp + resolution_weight_bp + satisfaction_weight_bp = 10000",
            name=op.f("ck_evaluation_settings_weights_sum"),
        ),
        sa.CheckConstraint("basic_weight_permille BETWEEN 0 AND 1000",
                           name=op.f("ck_evaluation_settings_basic_weight")),
        sa.ForeignKeyConstraint(["district_id"], ["units.id"],
                                name=op.f("fk_evaluation_settings_district_id_units")),
        sa.ForeignKeyConstraint(["set_by_user_id"], ["users.id"],
                                name=op.f("fk_evaluation_settings_set_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_settings")),
    )
    op.create_index("ix_evaluation_settings_district_from", "evaluation_settings",
                    ["district_id", "effective_from", "set_at"])
    op.create_index("ix_deadlines_subject_kind_due", "deadlines",
                    ["subject_type", "kind", "due_at"])
    for column in ("exempted_at", "linked_at"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_cases_{column}", "cases", [column, "id"], sqlite_where=where,
                        postgresql_where=where)


def downgrade():
    op.drop_index("ix_cases_linked_at", table_name="cases")
    op.drop_index("ix_cases_exempted_at", table_name="cases")
    op.drop_index("ix_deadlines_subject_kind_due", table_name="deadlines")
    op.drop_index("ix_evaluation_settings_district_from", table_name="evaluation_settings")
    op.drop_table("evaluation_settings")
