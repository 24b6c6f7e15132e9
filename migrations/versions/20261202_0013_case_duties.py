"""case ratings, who asked for extensions/exemptions, hand-down review fields (issue 10)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

``case_ratings`` holds one append-only row per callback (回访), the facts the 三率 are built
on. Cases learn who requested an extension or exemption (nobody approves their own request),
when an exemption was approved and a link made, and the hand-down review (下交群评) in its own
fields so the lead unit's ``result`` is kept. Nothing is backfilled: old data has no ratings.
"""

import sqlalchemy as sa
from alembic import op

import server.core.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

T = server.core.db.UTCDateTime


def _enum(values, length):
    return sa.Enum(*values, native_enum=False, length=length, create_constraint=False)


def _fk(table, column, target):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


CASE_COLUMNS = (
    ("extension_requested_by_user_id", "users"),
    ("extension_requested_by_unit_id", "units"),
    ("exemption_requested_by_user_id", "users"),
    ("exemption_requested_by_unit_id", "units"),
    ("handed_down_to_unit_id", "units"),
)


def upgrade():
    op.create_table(
        "case_ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("recorded_at", T(), nullable=False),
        sa.Column("rated_at", T(), nullable=False),
        sa.Column("lead_unit_id", sa.Uuid(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", _enum(("satisfied", "basically_satisfied", "dissatisfied"), 20),
                  nullable=False),
        sa.Column("double_yes", sa.Boolean(), nullable=False),
        sa.Column("source", _enum(("supervisor", "city_platform"), 20), nullable=False),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by_unit_id", sa.Uuid(), nullable=True),
        sa.Column("rater", sa.String(length=100), nullable=True),
        sa.Column("channel", _enum(("phone", "sms", "app", "web"), 10), nullable=True),
        sa.Column("rehandle_count", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _fk("case_ratings", "case_id", "cases"),
        _fk("case_ratings", "lead_unit_id", "units"),
        _fk("case_ratings", "recorded_by_user_id", "users"),
        _fk("case_ratings", "recorded_by_unit_id", "units"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_ratings")),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_ratings_case_seq"),
    )
    op.create_index(op.f("ix_case_ratings_case_id"), "case_ratings", ["case_id"])
    op.create_index("ix_case_ratings_recorded_at", "case_ratings", ["recorded_at"])
    op.create_index("ix_case_ratings_lead_unit_recorded", "case_ratings",
                    ["lead_unit_id", "recorded_at"])

    with op.batch_alter_table("cases") as batch:
        for column, target in CASE_COLUMNS:
            batch.add_column(sa.Column(column, sa.Uuid(), nullable=True))
            batch.create_foreign_key(op.f(f"fk_cases_{column}_{target}"), target, [column],
                                     ["id"])
        batch.add_column(sa.Column("exempted_at", T(), nullable=True))
        batch.add_column(sa.Column("linked_at", T(), nullable=True))
        batch.add_column(sa.Column("review_due_at", T(), nullable=True))
        batch.add_column(sa.Column("review_outcome",
                                   _enum(("mediated", "withdrawn", "unresolved"), 20),
                                   nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_at", T(), nullable=True))

    with op.batch_alter_table("case_returns") as batch:
        batch.add_column(sa.Column("requested_by_user_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_case_returns_requested_by_user_id_users"), "users",
                                 ["requested_by_user_id"], ["id"])


def downgrade():
    with op.batch_alter_table("case_returns") as batch:
        batch.drop_constraint(op.f("fk_case_returns_requested_by_user_id_users"),
                              type_="foreignkey")
        batch.drop_column("requested_by_user_id")
    with op.batch_alter_table("cases") as batch:
        for column in ("reviewed_at", "review_note", "review_outcome", "review_due_at",
                       "linked_at", "exempted_at"):
            batch.drop_column(column)
        for column, target in reversed(CASE_COLUMNS):
            batch.drop_constraint(op.f(f"fk_cases_{column}_{target}"), type_="foreignkey")
            batch.drop_column(column)
    op.drop_index("ix_case_ratings_lead_unit_recorded", table_name="case_ratings")
    op.drop_index("ix_case_ratings_recorded_at", table_name="case_ratings")
    op.drop_index(op.f("ix_case_ratings_case_id"), table_name="case_ratings")
    op.drop_table("case_ratings")
