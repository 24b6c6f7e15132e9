"""Patrol track fixes partitioned by month on PostgreSQL (issue 15, target 4)

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-02

PostgreSQL: ``track_fixes`` becomes a table ``PARTITION BY RANGE (fixed_at)`` with the same
columns, primary key (user_id, fixed_at) and foreign key, one partition per UTC month from the
oldest stored fix to two months ahead, and a default partition; the stored fixes are copied
over. The scheduler keeps the months coming and drops those past GRID_TRACK_RETENTION_MONTHS
(server/staff/track_partitions.py). SQLite: nothing changes (one table; retention deletes rows).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0026"
branch_labels = None
depends_on = None

COLUMNS = """
    user_id uuid NOT NULL,
    fixed_at timestamp with time zone NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    accuracy_m double precision,
    speed_mps double precision,
    received_at timestamp with time zone NOT NULL,
    CONSTRAINT pk_track_fixes PRIMARY KEY (user_id, fixed_at),
    CONSTRAINT fk_track_fixes_user_id_users FOREIGN KEY (user_id) REFERENCES users (id)
"""
MONTHS_AHEAD = 2  # as server.staff.track_partitions.MONTHS_AHEAD (a migration stands alone)


def _month(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    conn = op.get_bind()
    op.execute("ALTER TABLE track_fixes RENAME TO track_fixes_unpartitioned")
    op.execute("ALTER TABLE track_fixes_unpartitioned RENAME CONSTRAINT pk_track_fixes "
               "TO pk_track_fixes_unpartitioned")
    op.execute("ALTER TABLE track_fixes_unpartitioned RENAME CONSTRAINT "
               "fk_track_fixes_user_id_users TO fk_track_fixes_unpartitioned_user_id_users")
    op.execute(f"CREATE TABLE track_fixes ({COLUMNS}) PARTITION BY RANGE (fixed_at)")
    op.execute("CREATE TABLE track_fixes_default PARTITION OF track_fixes DEFAULT")
    oldest = conn.execute(sa.text("SELECT min(fixed_at) FROM track_fixes_unpartitioned")).scalar()
    now = datetime.now(UTC)
    first = oldest.astimezone(UTC) if oldest is not None else now
    for index in range(first.year * 12 + first.month - 1,
                       now.year * 12 + now.month - 1 + MONTHS_AHEAD + 1):
        start, end = _month(index), _month(index + 1)
        op.execute(
            f"CREATE TABLE track_fixes_y{start.year:04d}m{start.month:02d} PARTITION OF "
            f"track_fixes FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    op.execute("INSERT INTO track_fixes SELECT user_id, fixed_at, lon, lat, accuracy_m, "
               "speed_mps, received_at FROM track_fixes_unpartitioned")
    op.execute("DROP TABLE track_fixes_unpartitioned")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    plain = COLUMNS.replace("pk_track_fixes", "pk_track_fixes_plain").replace(
        "fk_track_fixes_user_id_users", "fk_track_fixes_plain_user_id_users")
    op.execute(f"CREATE TABLE track_fixes_plain ({plain})")
    op.execute("INSERT INTO track_fixes_plain SELECT user_id, fixed_at, lon, lat, accuracy_m, "
               "speed_mps, received_at FROM track_fixes")
    op.execute("DROP TABLE track_fixes")  # and its partitions with it
    op.execute("ALTER TABLE track_fixes_plain RENAME TO track_fixes")
    op.execute("ALTER TABLE track_fixes RENAME CONSTRAINT pk_track_fixes_plain TO pk_track_fixes")
    op.execute("ALTER TABLE track_fixes RENAME CONSTRAINT fk_track_fixes_plain_user_id_users "
               "TO fk_track_fixes_user_id_users")
