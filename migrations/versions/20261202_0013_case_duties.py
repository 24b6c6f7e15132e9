"""case ratings, who asked for extensions/exemptions, hand-down review fields (issue 10)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

``case_ratings`` holds one append-only row per callback (回访), the facts the 三率 are built
on. Cases learn who requested an extension or exemption (nobody approves their own request),
when an exemption was approved and a link made, and the hand-down review (下交群评) in its own
fields so the lead unit's ``result`` is kept. No ratings are backfilled (old callbacks left
none); a case now with its community learns which community from its hand-down event.
"""

import uuid

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

    for column, target in CASE_COLUMNS:
        _add_reference(op.get_bind().dialect.name, "cases", column, target)
    _add_reference(op.get_bind().dialect.name, "case_returns", "requested_by_user_id", "users")
    op.add_column("cases", sa.Column("exempted_at", T(), nullable=True))
    op.add_column("cases", sa.Column("linked_at", T(), nullable=True))
    op.add_column("cases", sa.Column("review_due_at", T(), nullable=True))
    op.add_column("cases", sa.Column("review_outcome",
                                     _enum(("mediated", "withdrawn", "unresolved"), 20),
                                     nullable=True))
    op.add_column("cases", sa.Column("review_note", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("reviewed_at", T(), nullable=True))
    _backfill_hand_downs()


def _add_reference(dialect, table, column, target):
    """A nullable UUID column referring to ``target``. SQLite adds it with its named foreign
    key in one ALTER: batch mode would copy and drop ``cases``, which other tables' rows
    refer to, and SQLite refuses that with foreign keys on."""
    name = op.f(f"fk_{table}_{column}_{target}")
    if dialect == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} CHAR(32) "
                   f"CONSTRAINT {name} REFERENCES {target} (id)")
        return
    op.add_column(table, sa.Column(column, sa.Uuid(), nullable=True))
    op.create_foreign_key(name, table, target, [column], ["id"])


def _backfill_hand_downs():
    """A case with the community now records the review, so it must know which community:
    take it from the case's last hand-down event (JSON read in Python: both databases)."""
    bind = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Uuid()), sa.column("status", sa.String()),
                     sa.column("handed_down_to_unit_id", sa.Uuid()))
    events = sa.table("case_events", sa.column("case_id", sa.Uuid()), sa.column("seq", sa.Integer()),
                      sa.column("action", sa.String()), sa.column("data", sa.JSON()))
    rows = bind.execute(
        sa.select(events.c.case_id, events.c.data)
        .select_from(events.join(cases, cases.c.id == events.c.case_id))
        .where(cases.c.status == "handed_down", events.c.action == "hand_down")
        .order_by(events.c.case_id, events.c.seq)).all()
    community = {case_id: (data or {}).get("community_unit_id") for case_id, data in rows}
    for case_id, unit_id in community.items():
        if unit_id:
            bind.execute(cases.update().where(cases.c.id == case_id)
                         .values(handed_down_to_unit_id=uuid.UUID(unit_id)))


def downgrade():
    # Batch mode: on SQLite this copies ``cases``, which works on a database without cases.
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
