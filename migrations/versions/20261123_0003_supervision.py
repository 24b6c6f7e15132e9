"""deadlines, reminders and notifications (issue 3)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _enum(values, length, name):
    return sa.Enum(*values, name=name, native_enum=False, length=length, create_constraint=False)


def upgrade():
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("kind", _enum(("response", "completion", "arrival"), 20, "deadlinekind"),
                  nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("supervisor_unit_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("original_due_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("fractions", sa.JSON(), nullable=False),
        sa.Column("overdue_grace_s", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=40), nullable=False),
        sa.Column("status", _enum(("active", "met", "missed", "cancelled"), 12, "deadlinestatus"),
                  nullable=False),
        sa.Column("met_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("escalated_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("closed_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("due_at > starts_at", name=op.f("ck_deadlines_window")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_deadlines_unit_id_units")),
        sa.ForeignKeyConstraint(["supervisor_unit_id"], ["units.id"],
                                name=op.f("fk_deadlines_supervisor_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
    )
    op.create_index(op.f("ix_deadlines_unit_id"), "deadlines", ["unit_id"])
    op.create_index("ix_deadlines_subject", "deadlines", ["subject_type", "subject_id"])
    op.create_index(
        "uq_deadlines_open_subject", "deadlines", ["subject_type", "subject_id", "kind"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"), postgresql_where=sa.text("closed_at IS NULL"),
    )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deadline_id", sa.Uuid(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=12), nullable=False),
        sa.Column("fire_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("state", _enum(("pending", "sent", "cancelled"), 12, "reminderstate"),
                  nullable=False),
        sa.Column("sent_at", server.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["deadline_id"], ["deadlines.id"],
                                name=op.f("fk_reminders_deadline_id_deadlines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("deadline_id", "generation", "node", name=op.f("uq_reminders_node")),
    )
    op.create_index(
        "ix_reminders_pending_fire_at", "reminders", ["fire_at"],
        sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", server.core.db.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", server.core.db.UTCDateTime(), nullable=True),
        sa.Column("acknowledged_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("reminder_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("unit_id IS NOT NULL OR user_id IS NOT NULL",
                           name=op.f("ck_notifications_recipient")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"],
                                name=op.f("fk_notifications_unit_id_units")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notifications_user_id_users")),
        sa.ForeignKeyConstraint(["acknowledged_by_user_id"], ["users.id"],
                                name=op.f("fk_notifications_acknowledged_by_user_id_users")),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminders.id"],
                                name=op.f("fk_notifications_reminder_id_reminders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        # NULLs are distinct on both databases: the pair is unique only for reminders' rows.
        sa.UniqueConstraint("reminder_id", "unit_id",
                            name=op.f("uq_notifications_reminder_unit")),
    )
    op.create_index("ix_notifications_unit_created", "notifications", ["unit_id", "created_at"])
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"])


def downgrade():
    for table in ("notifications", "reminders", "deadlines"):
        op.drop_table(table)
