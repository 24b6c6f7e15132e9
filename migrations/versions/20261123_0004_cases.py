"""cases, events, cooperators, special grids, returns, number counters, personal-data access

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def _enum(values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


STATUSES = ("received", "dispatched", "accepted", "in_progress", "return_requested", "escalated",
            "handed_down", "completed", "closed")


def upgrade():
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=True),
        sa.Column("channel", _enum(("city_direct", "district_forward", "internet", "patrol",
                                    "department", "whistle"), 20), nullable=False),
        sa.Column("appeal_type", _enum(("consultation", "help", "complaint", "report",
                                        "suggestion", "praise"), 20), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", _enum(("normal", "urgent"), 10), nullable=False),
        sa.Column("status", _enum(STATUSES, 20), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("location", server.core.db.GeometryType(), nullable=True),
        sa.Column("input_crs", sa.String(length=10), nullable=True),
        sa.Column("input_lon", sa.Float(), nullable=True),
        sa.Column("input_lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("basic_grid_id", sa.Uuid(), nullable=True),
        sa.Column("basic_grid_code", sa.String(length=40), nullable=True),
        sa.Column("assignment_method", sa.String(length=10), nullable=True),
        sa.Column("assignment_distance_m", sa.Float(), nullable=True),
        sa.Column("township_id", sa.Uuid(), nullable=True),
        sa.Column("district_id", sa.Uuid(), nullable=True),
        sa.Column("resident_name", sa.String(length=60), nullable=True),
        sa.Column("resident_phone", sa.String(length=30), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("lead_unit_id", sa.Uuid(), nullable=True),
        sa.Column("returnable", sa.Boolean(), nullable=False),
        sa.Column("needs_triage", sa.Boolean(), nullable=False),
        sa.Column("triage_reason", sa.String(length=200), nullable=True),
        sa.Column("received_at", T(), nullable=False),
        sa.Column("received_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("received_by_unit_id", sa.Uuid(), nullable=True),
        sa.Column("dispatched_at", T(), nullable=True),
        sa.Column("dispatched_by_unit_id", sa.Uuid(), nullable=True),
        sa.Column("response_due_at", T(), nullable=True),
        sa.Column("completion_due_at", T(), nullable=True),
        sa.Column("responded_at", T(), nullable=True),
        sa.Column("completed_at", T(), nullable=True),
        sa.Column("closed_at", T(), nullable=True),
        sa.Column("status_before_return", _enum(STATUSES, 20), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", _enum(("satisfied", "basically_satisfied", "dissatisfied"), 20),
                  nullable=True),
        sa.Column("rehandle_count", sa.Integer(), nullable=False),
        sa.Column("extension_state", sa.String(length=10), nullable=True),
        sa.Column("extension_requested_due_at", T(), nullable=True),
        sa.Column("exemption_state", sa.String(length=10), nullable=True),
        sa.Column("master_case_id", sa.Uuid(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["basic_grid_id"], ["grids.id"], name=op.f("fk_cases_basic_grid_id_grids")),
        sa.ForeignKeyConstraint(["township_id"], ["units.id"], name=op.f("fk_cases_township_id_units")),
        sa.ForeignKeyConstraint(["district_id"], ["units.id"], name=op.f("fk_cases_district_id_units")),
        sa.ForeignKeyConstraint(["lead_unit_id"], ["units.id"], name=op.f("fk_cases_lead_unit_id_units")),
        sa.ForeignKeyConstraint(["received_by_user_id"], ["users.id"], name=op.f("fk_cases_received_by_user_id_users")),
        sa.ForeignKeyConstraint(["received_by_unit_id"], ["units.id"], name=op.f("fk_cases_received_by_unit_id_units")),
        sa.ForeignKeyConstraint(["dispatched_by_unit_id"], ["units.id"], name=op.f("fk_cases_dispatched_by_unit_id_units")),
        sa.ForeignKeyConstraint(["master_case_id"], ["cases.id"], name=op.f("fk_cases_master_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
        sa.UniqueConstraint("client_request_id", name=op.f("uq_cases_client_request_id")),
    )
    op.create_index(op.f("ix_cases_category_code"), "cases", ["category_code"])
    op.create_index(op.f("ix_cases_basic_grid_code"), "cases", ["basic_grid_code"])
    op.create_index(op.f("ix_cases_lead_unit_id"), "cases", ["lead_unit_id"])
    op.create_index(op.f("ix_cases_master_case_id"), "cases", ["master_case_id"])
    op.create_index("ix_cases_township_status_received", "cases", ["township_id", "status", "received_at"])
    op.create_index("ix_cases_received", "cases", ["received_at", "id"])
    op.create_index("ix_cases_lon_lat", "cases", ["lon", "lat"])

    op.create_table(
        "case_cooperators",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_cooperators_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_case_cooperators_unit_id_units")),
        sa.PrimaryKeyConstraint("case_id", "unit_id", name=op.f("pk_case_cooperators")),
    )
    op.create_index(op.f("ix_case_cooperators_unit_id"), "case_cooperators", ["unit_id"])

    op.create_table(
        "case_special_grids",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("grid_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_special_grids_case_id_cases")),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_case_special_grids_grid_id_grids")),
        sa.PrimaryKeyConstraint("case_id", "grid_id", name=op.f("pk_case_special_grids")),
    )
    op.create_index(op.f("ix_case_special_grids_grid_code"), "case_special_grids", ["grid_code"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=True),
        sa.Column("actor_roles", sa.JSON(), nullable=False),
        sa.Column("actor_unit_id", sa.Uuid(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.ForeignKeyConstraint(["actor_user_id"], ["users.id"], name=op.f("fk_case_events_actor_user_id_users")),
        sa.ForeignKeyConstraint(["actor_unit_id"], ["units.id"], name=op.f("fk_case_events_actor_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"])

    op.create_table(
        "case_returns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", T(), nullable=False),
        sa.Column("decided_at", T(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("with_fault", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_returns_case_id_cases")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_case_returns_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_returns")),
    )
    op.create_index(op.f("ix_case_returns_case_id"), "case_returns", ["case_id"])
    op.create_index(op.f("ix_case_returns_unit_id"), "case_returns", ["unit_id"])

    op.create_table(
        "case_number_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_number_counters")),
    )

    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_personal_data_access_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_personal_data_access_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    op.create_index(op.f("ix_personal_data_access_case_id"), "personal_data_access", ["case_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_cases_location_gist ON cases USING gist (location)")


def downgrade():
    for table in ("personal_data_access", "case_number_counters", "case_returns", "case_events",
                  "case_special_grids", "case_cooperators", "cases"):
        op.drop_table(table)
