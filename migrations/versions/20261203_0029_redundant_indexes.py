"""Drop four indexes that another index of the same table already covers (issue 15)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03

Each is a single-column index on the leading column of a composite index of its table, so
every lookup it served is served by the other: ``case_events`` and ``case_ratings`` by
``(case_id, seq)``, ``whistle_events`` by ``(call_id, seq)``, ``auth_tokens`` by
``(user_id, device_id)``. Every event written paid for the extra index, and a city's year of
case events (about a hundred million rows) carried several GB of it.
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

REDUNDANT = (
    ("ix_case_events_case_id", "case_events", "case_id"),
    ("ix_case_ratings_case_id", "case_ratings", "case_id"),
    ("ix_whistle_events_call_id", "whistle_events", "call_id"),
    ("ix_auth_tokens_user_id", "auth_tokens", "user_id"),
)


def upgrade():
    for name, table, _column in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade():
    for name, table, column in REDUNDANT:
        op.create_index(name, table, [column])
