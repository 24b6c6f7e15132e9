"""the hotspot indexes carry linked_at, so a month's category x grid count is index-only (issue 9)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

bench/evaluation_bench.py (a month of a 1,000,000-case year, EXPLAIN ANALYZE): the hotspot
counts (0017's indexes by district or township, received time, category, grid) also test
``linked_at``; without it in the index PostgreSQL read 167,000 heap rows for a month and the
one before (1.9 s cold); with it the scan is index-only (0.3 s). The cases left out of the
三率 (exempted, linked) have their own partial indexes in 0016.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

HOTSPOT = ("received_at", "category_code", "basic_grid_code")


def _hotspot_indexes(extra: list[str]) -> None:
    for area in ("district", "township"):
        name = f"ix_cases_{area}_received_category"
        op.drop_index(name, table_name="cases")
        op.create_index(name, "cases", [f"{area}_id", *HOTSPOT, *extra])


def upgrade():
    _hotspot_indexes(["linked_at"])


def downgrade():
    _hotspot_indexes([])
