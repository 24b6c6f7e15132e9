"""case indexes for dispatchers' lists and the nearby-duplicate check (PostgreSQL only)

Chosen with EXPLAIN ANALYZE on 1,000,000 cases (bench/cases_bench.py). The existing
(received_at, id) index already serves lists whose matches are dense among recent cases:
open cases, a grid, a category, a month, a bounding box. It fails when matches are few,
because the walk back through history then reads most of the table. These partial indexes
cover only open cases (or the triage queue), so they grow with the work in hand, not with
the archive, and cost nothing for the closed majority:

- ix_cases_open_grid: open or overdue cases of one grid, alone or with a category (e.g.
  "open gas leaks in WJ-012": 600 ms -> 3 ms); the planner also bitmap-scans it as "all open
  cases" to combine with the lon/lat index for a bounding box. Pairs with
  ``queries._in_grid``, which keeps the special-grid subquery out of the query when no
  case has that code as a special grid.
- ix_cases_open_status: one status's queue in order, e.g. return requests (55 ms -> 1 ms)
  or cases awaiting callback; the visibility OR (received by me, or in my township) stops
  ix_cases_township_status_received from being used on its leading column.
- ix_cases_open_category: the nearby-duplicate check every intake makes (open cases of the
  same category in the last 72 h, then a lon/lat box): a bitmap AND of 40,000 category
  entries took 9 ms, this takes 0.5 ms. Also open cases of one category in a list.
- ix_cases_triage: the triage queue (a parallel scan of the whole table, 450 ms -> 0.5 ms).
  Its predicate is written as list_cases writes the filter: PostgreSQL does not infer
  "needs_triage" from "needs_triage IS true".

PostgreSQL only, because they rely on its planner proving ``status IN (...)`` implies
``status <> 'closed'``; SQLite would keep them up to date without using them. They are
listed in POSTGIS_ONLY_INDEXES (migrations/env.py) so ``flask db check`` ignores them.
Plain CREATE INDEX (a migration runs in a transaction): on a large live table, build them
CONCURRENTLY by hand first; this migration then skips them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_cases_open_grid": "(basic_grid_code, received_at) WHERE status <> 'closed'",
    "ix_cases_open_status": "(status, received_at) WHERE status <> 'closed'",
    "ix_cases_open_category": "(category_code, received_at) WHERE status <> 'closed'",
    "ix_cases_triage": "(received_at) WHERE needs_triage IS TRUE",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON cases {definition}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
