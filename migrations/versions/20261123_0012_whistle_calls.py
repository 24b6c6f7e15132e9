"""township whistle calls and departments reporting on site (issue 5)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23

Whistle calls (吹哨报到 / 乡呼县应), the departments each names, arrivals on site, joint-action
records and the append-only event timeline. Deadlines and reminders reuse ``deadlines``
(subject types ``whistle_call`` and ``whistle_department``; kinds ``completion``, ``arrival``).
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def _enum(values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade():
    op.create_table(
        "whistle_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_request_id", sa.String(length=64), nullable=True),
        sa.Column("kind", _enum(("enforcement", "development", "livelihood"), 20),
                  nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", _enum(("normal", "urgent"), 10), nullable=False),
        sa.Column("status", _enum(("raised", "accepted", "rejected", "closed"), 20),
                  nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("location", server.core.db.GeometryType(), nullable=False),
        sa.Column("input_crs", sa.String(length=10), nullable=False),
        sa.Column("input_lon", sa.Float(), nullable=False),
        sa.Column("input_lat", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("grid_id", sa.Uuid(), nullable=False),
        sa.Column("grid_code", sa.String(length=40), nullable=False),
        sa.Column("township_id", sa.Uuid(), nullable=False),
        sa.Column("district_id", sa.Uuid(), nullable=True),
        sa.Column("linked_case_ids", sa.JSON(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("raised_at", T(), nullable=False),
        sa.Column("raised_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("raised_by_unit_id", sa.Uuid(), nullable=False),
        sa.Column("judged_at", T(), nullable=True),
        sa.Column("judged_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("judged_by_unit_id", sa.Uuid(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("lead_unit_id", sa.Uuid(), nullable=True),
        sa.Column("arrival_due_at", T(), nullable=True),
        sa.Column("completion_due_at", T(), nullable=True),
        sa.Column("arrival_radius_m", sa.Float(), nullable=True),
        sa.Column("arrival_accuracy_cap_m", sa.Float(), nullable=True),
        sa.Column("closed_at", T(), nullable=True),
        sa.Column("closed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        _fk("whistle_calls", "grid_id", "grids"),
        _fk("whistle_calls", "township_id", "units"),
        _fk("whistle_calls", "district_id", "units"),
        _fk("whistle_calls", "raised_by_user_id", "users"),
        _fk("whistle_calls", "raised_by_unit_id", "units"),
        _fk("whistle_calls", "judged_by_user_id", "users"),
        _fk("whistle_calls", "judged_by_unit_id", "units"),
        _fk("whistle_calls", "lead_unit_id", "units"),
        _fk("whistle_calls", "closed_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_calls")),
        sa.UniqueConstraint("client_request_id", name=op.f("uq_whistle_calls_client_request_id")),
    )
    op.create_index(op.f("ix_whistle_calls_district_id"), "whistle_calls", ["district_id"])
    op.create_index("ix_whistle_calls_township_status_raised", "whistle_calls",
                    ["township_id", "status", "raised_at"])
    op.create_index("ix_whistle_calls_raised", "whistle_calls", ["raised_at", "id"])

    op.create_table(
        "whistle_call_departments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Boolean(), nullable=False),
        sa.Column("role", _enum(("lead", "cooperating"), 12), nullable=True),
        sa.Column("first_arrival_at", T(), nullable=True),
        sa.Column("first_arrival_id", sa.Uuid(), nullable=True),
        sa.Column("rated_at", T(), nullable=True),
        sa.Column("rating_timeliness", sa.Integer(), nullable=True),
        sa.Column("rating_effect", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("unjustified_at", T(), nullable=True),
        sa.Column("unjustified_reason", sa.Text(), nullable=True),
        sa.Column("unjustified_by_user_id", sa.Uuid(), nullable=True),
        _fk("whistle_call_departments", "call_id", "whistle_calls"),
        _fk("whistle_call_departments", "unit_id", "units"),
        _fk("whistle_call_departments", "unjustified_by_user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_call_departments")),
        sa.UniqueConstraint("call_id", "unit_id", name="uq_whistle_call_departments_call_unit"),
    )
    op.create_index(op.f("ix_whistle_call_departments_unit_id"), "whistle_call_departments",
                    ["unit_id"])

    op.create_table(
        "whistle_arrivals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("device_time", T(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("input_crs", sa.String(length=10), nullable=False),
        sa.Column("input_lon", sa.Float(), nullable=False),
        sa.Column("input_lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("tolerance_m", sa.Float(), nullable=False),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        _fk("whistle_arrivals", "call_id", "whistle_calls"),
        _fk("whistle_arrivals", "unit_id", "units"),
        _fk("whistle_arrivals", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_arrivals")),
    )
    op.create_index(op.f("ix_whistle_arrivals_call_id"), "whistle_arrivals", ["call_id"])

    op.create_table(
        "whistle_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("device_time", T(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        _fk("whistle_actions", "call_id", "whistle_calls"),
        _fk("whistle_actions", "unit_id", "units"),
        _fk("whistle_actions", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_actions")),
    )
    op.create_index(op.f("ix_whistle_actions_call_id"), "whistle_actions", ["call_id"])

    op.create_table(
        "whistle_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
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
        _fk("whistle_events", "call_id", "whistle_calls"),
        _fk("whistle_events", "actor_user_id", "users"),
        _fk("whistle_events", "actor_unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_events")),
        sa.UniqueConstraint("call_id", "seq", name="uq_whistle_events_call_seq"),
    )
    op.create_index(op.f("ix_whistle_events_call_id"), "whistle_events", ["call_id"])


def downgrade():
    for table in ("whistle_events", "whistle_actions", "whistle_arrivals",
                  "whistle_call_departments"):
        op.drop_table(table)
    op.drop_index("ix_whistle_calls_raised", table_name="whistle_calls")
    op.drop_index("ix_whistle_calls_township_status_raised", table_name="whistle_calls")
    op.drop_index(op.f("ix_whistle_calls_district_id"), table_name="whistle_calls")
    op.drop_table("whistle_calls")
