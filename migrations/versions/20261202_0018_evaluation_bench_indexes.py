"""indexes for a month of a million-case year: exempted/linked cases apart; hotspots index-only (issue 9)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

bench/evaluation_bench.py (a month of a 1,000,000-case year) showed a ranking's time going to
joining every rated case, and every response deadline, to ``cases`` just to learn that it
was neither exempted nor linked. Those cases are a few per cent of all; a partial index of
them lets the query anti-join index-only (``server.reports.facts.not_left_out``).

The hotspot counts (0017's indexes by district or township, received time, category, grid)
also test ``linked_at``; without it in the index PostgreSQL read 167,000 heap rows for a
month and the one before (1.9 s cold); with it the scan is index-only (0.3 s).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LEFT_OUT = "exempted_at IS NOT NULL OR linked_at IS NOT NULL"


HOTSPOT = ("received_at", "category_code", "basic_grid_code")


def _hotspot_indexes(extra: list[str]) -> None:
    for area in ("district", "township"):
        name = f"ix_cases_{area}_received_category"
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", [f"{area}_id", *HOTSPOT, *extra])


def upgrade():
    op.create_index("ix_cases_left_out", "cases", ["id", "exempted_at", "linked_at"],
                    sqlite_where=sa.text(LEFT_OUT), postgresql_where=sa.text(LEFT_OUT))
    _hotspot_indexes(["linked_at"])


def downgrade():
    _hotspot_indexes([])
    op.drop_index("ix_cases_left_out", table_name="cases")
