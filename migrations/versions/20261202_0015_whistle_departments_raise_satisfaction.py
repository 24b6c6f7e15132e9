"""whistle calls raised by departments; 双考评 ratings on the 满意 / 基本满意 / 不满意 scale (issue 10)

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-02

- ``whistle_calls.raised_by_department_id``: the department whose handler or staff raised the
  call (Yicheng: "由镇街或部门提出申请"); NULL for a township's call, which every existing
  call is (departments could not raise before).
- ``whistle_call_departments.rating_satisfaction`` replaces the two star columns
  ``rating_timeliness`` and ``rating_effect`` (1-5). Existing ratings are carried over from
  the sum of their two stars: 8-10 is 满意 (satisfied), 6-7 基本满意 (basically satisfied),
  2-5 不满意 (dissatisfied), i.e. a mean of 4 stars or more, 3 to 3.5, below 3. The stars
  themselves stay readable in each rating's ``rate`` event (``whistle_events.data``), which
  is append-only. Downgrade maps back 满意 -> 5/5, 基本满意 -> 3/3, 不满意 -> 1/1.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None

LEVELS = ("satisfied", "basically_satisfied", "dissatisfied")

departments = sa.table(
    "whistle_call_departments",
    sa.column("rated_at"), sa.column("rating_timeliness", sa.Integer),
    sa.column("rating_effect", sa.Integer), sa.column("rating_satisfaction", sa.String),
)


def upgrade():
    with op.batch_alter_table("whistle_calls") as batch:
        batch.add_column(sa.Column("raised_by_department_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(op.f("fk_whistle_calls_raised_by_department_id_units"),
                                 "units", ["raised_by_department_id"], ["id"])
        batch.create_index(op.f("ix_whistle_calls_raised_by_department_id"),
                           ["raised_by_department_id"])

    with op.batch_alter_table("whistle_call_departments") as batch:
        batch.add_column(sa.Column(
            "rating_satisfaction",
            sa.Enum(*LEVELS, native_enum=False, length=20, create_constraint=False),
            nullable=True))
    stars = departments.c.rating_timeliness + departments.c.rating_effect
    op.execute(departments.update().where(departments.c.rated_at.is_not(None)).values(
        rating_satisfaction=sa.case((stars >= 8, "satisfied"), (stars >= 6, "basically_satisfied"),
                                    else_="dissatisfied")))
    with op.batch_alter_table("whistle_call_departments") as batch:
        batch.drop_column("rating_timeliness")
        batch.drop_column("rating_effect")


def downgrade():
    with op.batch_alter_table("whistle_call_departments") as batch:
        batch.add_column(sa.Column("rating_timeliness", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_effect", sa.Integer(), nullable=True))
    level = departments.c.rating_satisfaction
    back = sa.case((level == "satisfied", 5), (level == "basically_satisfied", 3), else_=1)
    op.execute(departments.update().where(departments.c.rated_at.is_not(None)).values(
        rating_timeliness=back, rating_effect=back))
    with op.batch_alter_table("whistle_call_departments") as batch:
        batch.drop_column("rating_satisfaction")

    with op.batch_alter_table("whistle_calls") as batch:
        batch.drop_index(op.f("ix_whistle_calls_raised_by_department_id"))
        batch.drop_constraint(op.f("fk_whistle_calls_raised_by_department_id_units"),
                              type_="foreignkey")
        batch.drop_column("raised_by_department_id")
