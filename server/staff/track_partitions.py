"""Patrol track storage over time: monthly partitions of ``track_fixes`` and their retention.

On PostgreSQL ``track_fixes`` is partitioned by range of ``fixed_at``, one partition per UTC
calendar month (``track_fixes_y2026m12``), plus a default partition that catches a fix of a
month without its own partition (a phone that uploads very late, or a gap in maintenance), so
an upload never fails for want of a partition. Old months are dropped whole (``DROP TABLE``
of a partition: instant, no vacuum debt) instead of deleting billions of rows.

SQLite keeps one table: retention there is a ``DELETE`` of the fixes older than the cutoff.
The same holds for a PostgreSQL ``track_fixes`` that is not partitioned (a schema built with
``create_all`` rather than the migrations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.core.db import is_postgres
from server.staff.models import TrackFix

TABLE = "track_fixes"
DEFAULT_PARTITION = "track_fixes_default"
# Partitions made ahead of the current month, so a month never starts in the default one.
MONTHS_AHEAD = 2
_MONTHLY = re.compile(r"^track_fixes_y(\d{4})m(\d{2})$")
# DDL on a partition briefly locks the whole table; rather than queue behind a long
# transaction (and block every upload queued behind us), give up and retry on the next run.
_LOCK_TIMEOUT = "5s"


def is_partition_name(name: str) -> bool:
    """Whether a table name is one of ``track_fixes``' partitions (the schema check ignores
    them: they are made by the scheduler, not declared in the models)."""
    return name == DEFAULT_PARTITION or _MONTHLY.match(name) is not None


def month_start(at: datetime) -> datetime:
    """The first instant (UTC) of ``at``'s UTC month."""
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"track_fixes_y{start.year:04d}m{start.month:02d}"


def _month_of(name: str) -> datetime | None:
    match = _MONTHLY.match(name)
    return datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC) if match else None


def is_partitioned(session: Session) -> bool:
    """PostgreSQL with ``track_fixes`` declared ``PARTITION BY`` (relkind 'p')."""
    if not is_postgres(session):
        return False
    kind = session.execute(
        sa.text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}
    ).scalar()
    return kind == "p"


def partitions(session: Session) -> dict[str, datetime | None]:
    """The partitions of ``track_fixes``: name -> first instant of its month (None: default)."""
    names = session.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    ).scalars()
    return {name: _month_of(name) for name in names}


@dataclass
class Maintenance:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    deleted: int = 0  # fixes deleted row by row (SQLite, the default partition)


def maintain(session: Session, *, now: datetime, retention_months: int) -> Maintenance:
    """Make the partitions of this month and MONTHS_AHEAD after it, and drop what is older than
    ``retention_months`` whole months before this one (0: keep everything).

    Idempotent; several processes may run it: the caller serialises runs (jobs.py takes an
    advisory lock), and a run that finds a partition made already skips it.
    """
    result = Maintenance()
    cutoff = add_months(month_start(now), -retention_months) if retention_months > 0 else None
    if not is_partitioned(session):
        if cutoff is not None:
            result.deleted = session.execute(
                sa.delete(TrackFix).where(TrackFix.fixed_at < cutoff)
            ).rowcount
        return result
    session.execute(sa.text(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'"))
    existing = partitions(session)
    for step in range(MONTHS_AHEAD + 1):
        start = add_months(month_start(now), step)
        name = partition_name(start)
        if name not in existing and (cutoff is None or start >= cutoff):
            _create_partition(session, name, start, add_months(start, 1))
            result.created.append(name)
    if cutoff is None:
        return result
    for name, start in sorted(existing.items(), key=lambda item: item[0]):
        if start is not None and add_months(start, 1) <= cutoff:
            session.execute(sa.text(f'DROP TABLE "{name}"'))
            result.dropped.append(name)
    if DEFAULT_PARTITION in existing:
        result.deleted = session.execute(
            sa.text(f'DELETE FROM "{DEFAULT_PARTITION}" WHERE fixed_at < :cutoff'),
            {"cutoff": cutoff},
        ).rowcount
    return result


def _create_partition(session: Session, name: str, start: datetime, end: datetime) -> None:
    """A month's partition. Fixes of that month already caught by the default partition are
    moved into it first: PostgreSQL refuses a partition whose rows the default one holds."""
    bounds = {"start": start, "end": end}
    session.execute(sa.text(f'CREATE TABLE "{name}" (LIKE {TABLE} INCLUDING DEFAULTS)'))
    if DEFAULT_PARTITION in partitions(session):
        session.execute(
            sa.text(
                f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" '
                "WHERE fixed_at >= :start AND fixed_at < :end RETURNING *) "
                f'INSERT INTO "{name}" SELECT * FROM moved'
            ),
            bounds,
        )
    # Bounds are literals in DDL; ISO timestamps with an offset are exact.
    session.execute(
        sa.text(
            f'ALTER TABLE {TABLE} ATTACH PARTITION "{name}" FOR VALUES '
            f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )
