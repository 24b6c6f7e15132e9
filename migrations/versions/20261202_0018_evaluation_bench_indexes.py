"""the cases ever exempted or linked, indexed apart, for the 三率 over a period (issue 9)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

bench/evaluation_bench.py (a month of a 1,000,000-case year) showed a ranking's time going to
joining every rated case, and every response deadline, to ``cases`` just to learn that it
was neither exempted nor linked. Those cases are a few per cent of all; a partial index of
them lets the query anti-join index-only (``server.reports.facts.not_left_out``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LEFT_OUT = "exempted_at IS NOT NULL OR linked_at IS NOT NULL"


def upgrade():
    op.create_index("ix_cases_left_out", "cases", ["id", "exempted_at", "linked_at"],
                    sqlite_where=sa.text(LEFT_OUT), postgresql_where=sa.text(LEFT_OUT))


def downgrade():
    op.drop_index("ix_cases_left_out", table_name="cases")
