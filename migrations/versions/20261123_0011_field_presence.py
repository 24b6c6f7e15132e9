"""department staff postings, check-ins and patrol tracks (issue 5)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def _enum(values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


def upgrade():
    op.create_table(
        "postings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("staff_user_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=False),
        sa.Column("mode", _enum(("stationed", "patrolling"), 12), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=True),
        sa.Column("day_start", sa.Time(), nullable=True),
        sa.Column("day_end", sa.Time(), nullable=True),
        sa.Column("visits_required", sa.Integer(), nullable=True),
        sa.Column("visit_period", _enum(("week", "month"), 8), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.Column("ended_at", T(), nullable=True),
        sa.Column("ended_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "visits_required IS NULL OR visits_required > 0",
            name=op.f("ck_postings_visits_required"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_postings_validity")
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"], ["users.id"], name=op.f("fk_postings_staff_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["units.id"], name=op.f("fk_postings_department_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_postings_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_user_id"], ["users.id"], name=op.f("fk_postings_ended_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    op.create_index(op.f("ix_postings_staff_user_id"), "postings", ["staff_user_id"])
    op.create_index(op.f("ix_postings_department_id"), "postings", ["department_id"])
    op.create_table(
        "posting_grids",
        sa.Column("posting_id", sa.Uuid(), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["posting_id"], ["postings.id"], name=op.f("fk_posting_grids_posting_id_postings")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_posting_grids_grid_id_grids")
        ),
        sa.PrimaryKeyConstraint("posting_id", "grid_id", name=op.f("pk_posting_grids")),
    )
    op.create_index(op.f("ix_posting_grids_grid_id"), "posting_grids", ["grid_id"])
    op.create_table(
        "field_checks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum(("check_in", "check_out"), 10), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=True),
        sa.Column("posting_id", sa.Uuid(), nullable=True),
        sa.Column("check_in_id", sa.Uuid(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("input_crs", sa.String(length=10), nullable=False),
        sa.Column("input_lon", sa.Float(), nullable=False),
        sa.Column("input_lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("tolerance_m", sa.Float(), nullable=False),
        sa.Column("inside", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("device_time", T(), nullable=True),
        sa.Column("recorded_at", T(), nullable=False),
        sa.Column("via", _enum(("api", "sync"), 8), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_field_checks_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grids.id"], name=op.f("fk_field_checks_grid_id_grids")
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"], ["postings.id"], name=op.f("fk_field_checks_posting_id_postings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_checks")),
    )
    op.create_index("ix_field_checks_user_recorded", "field_checks", ["user_id", "recorded_at"])
    op.create_index("ix_field_checks_grid_recorded", "field_checks", ["grid_id", "recorded_at"])
    # The primary key (user, time) is the idempotency key and the only index: a day of
    # tracks is millions of rows, each extra index slows every batch.
    op.create_table(
        "track_fixes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("fixed_at", T(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("received_at", T(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_track_fixes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "fixed_at", name=op.f("pk_track_fixes")),
    )


def downgrade():
    op.drop_table("track_fixes")
    op.drop_index("ix_field_checks_grid_recorded", table_name="field_checks")
    op.drop_index("ix_field_checks_user_recorded", table_name="field_checks")
    op.drop_table("field_checks")
    op.drop_index(op.f("ix_posting_grids_grid_id"), table_name="posting_grids")
    op.drop_table("posting_grids")
    op.drop_index(op.f("ix_postings_department_id"), table_name="postings")
    op.drop_index(op.f("ix_postings_staff_user_id"), table_name="postings")
    op.drop_table("postings")
