"""Patrol track ingest: batches of GPS fixes from phones, filtered and stored idempotently."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from geo.crs import CRS, to_wgs84
from geo.track import Dropped, Fix, filter_fixes
from server.auth.actor import Actor
from server.core.db import is_postgres
from server.core.errors import TooLarge
from server.core.i18n import gettext
from server.staff.models import TrackFix
from server.staff.rules import FIELD_ROLES, FieldLimits

MAX_FIXES_PER_BATCH = 5000
# Stored fixes this far around a batch are read as anchors for its speed check.
ANCHOR_WINDOW = timedelta(minutes=10)


@dataclass
class IngestResult:
    received: int
    stored: int
    already_stored: int
    dropped: list[Dropped] = field(default_factory=list)

    def as_dict(self, batch: Sequence[Fix]) -> dict[str, Any]:
        by_reason: dict[str, int] = {}
        for d in self.dropped:
            by_reason[d.reason.value] = by_reason.get(d.reason.value, 0) + 1
        return {
            "received": self.received,
            "stored": self.stored,
            "already_stored": self.already_stored,
            "dropped": len(self.dropped),
            "dropped_by_reason": by_reason,
            "dropped_fixes": [
                {"index": d.index, "at": batch[d.index].at.isoformat(), "reason": d.reason.value}
                for d in self.dropped
            ],
        }


def ingest_fixes(
    session: Session,
    user_id: uuid.UUID,
    batch: Sequence[Fix],
    *,
    limits: FieldLimits,
    now: datetime,
) -> IngestResult:
    """Store a batch of fixes (WGS-84) of one person, idempotent per (person, fix time).

    Impossible fixes are dropped and counted by reason (geo.track.filter_fixes), judged
    against the stored fixes around the batch's times, so late and out-of-order batches are
    checked against the track they fit into. One read and one multi-row insert.
    """
    if len(batch) > MAX_FIXES_PER_BATCH:
        raise TooLarge(
            gettext("Send at most {count} fixes per batch.").format(count=MAX_FIXES_PER_BATCH),
            code="too_many_fixes"
        )
    if not batch:
        return IngestResult(0, 0, 0)
    first, last = min(f.at for f in batch), max(f.at for f in batch)
    known = [
        Fix(at, lon, lat, acc)
        for at, lon, lat, acc in session.execute(
            sa.select(TrackFix.fixed_at, TrackFix.lon, TrackFix.lat, TrackFix.accuracy_m).where(
                TrackFix.user_id == user_id,
                TrackFix.fixed_at >= first - ANCHOR_WINDOW,
                TrackFix.fixed_at <= last + ANCHOR_WINDOW,
            )
        )
    ]
    kept, dropped = filter_fixes(
        batch,
        known,
        max_accuracy_m=limits.fix_max_accuracy_m,
        max_speed_mps=limits.fix_max_speed_mps,
        latest_allowed=now + timedelta(seconds=limits.fix_max_future_s),
    )
    known_times = {f.at for f in known}
    already = sum(1 for f in batch if f.at in known_times)
    rows = [batch[i] for i in kept]
    stored = _insert_fixes(session, user_id, rows, now=now) if rows else 0
    return IngestResult(len(batch), stored, already + (len(rows) - stored), dropped)


_COPY = (
    "COPY track_fixes (user_id, fixed_at, lon, lat, accuracy_m, speed_mps, received_at) "
    "FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ("uuid", "timestamptz", "float8", "float8", "float8", "float8", "timestamptz")
_UNNEST_INSERT = (
    "INSERT INTO track_fixes (user_id, fixed_at, lon, lat, accuracy_m, speed_mps, received_at) "
    "SELECT %s::uuid, t.*, %s::timestamptz "
    "FROM unnest(%s::text::timestamptz[], %s::text::float8[], "
    "%s::text::float8[], %s::text::float8[], %s::text::float8[]) AS t "
    "ON CONFLICT (user_id, fixed_at) DO NOTHING"
)


def _float_array(values: Iterable[float | None]) -> str:
    """A PostgreSQL array literal; repr() is the shortest text that reads back the same float.
    (Building the literal here is several times cheaper than the driver adapting a list.)"""
    return "{" + ",".join("NULL" if v is None else repr(float(v)) for v in values) + "}"


def _insert_fixes(
    session: Session, user_id: uuid.UUID, fixes: Sequence[Fix], *, now: datetime
) -> int:
    """Insert fixes the anchor read did not find stored; how many were new.

    PostgreSQL: a binary COPY in a savepoint, the cheapest way in (no statement to parse,
    no conflict check per row): ``ingest_fixes`` read every stored fix of the batch's
    period, so the fixes given here are new unless a retry of the same upload committed
    in the meantime. Then COPY hits the primary key, the savepoint is rolled back and the
    fixes go in again with INSERT ... ON CONFLICT DO NOTHING, which skips those stored.
    SQLite gets an executemany of that INSERT ... ON CONFLICT DO NOTHING.
    """
    if is_postgres(session):
        try:
            with session.begin_nested():
                _copy_fixes(session, user_id, fixes, now=now)
            return len(fixes)
        except UniqueViolation:
            return _insert_skipping_stored(session, user_id, fixes, now=now)
    table = TrackFix.__table__
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["user_id", "fixed_at"])
        .returning(table.c.fixed_at)
    )
    rows = [
        {
            "user_id": user_id,
            "fixed_at": f.at,
            "lon": f.lon,
            "lat": f.lat,
            "accuracy_m": f.accuracy_m,
            "speed_mps": f.speed_mps,
            "received_at": now,
        }
        for f in fixes
    ]
    return len(session.connection().execute(statement, rows).all())


def _copy_fixes(session: Session, user_id: uuid.UUID, fixes: Sequence[Fix], *,
                now: datetime) -> None:
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
        copy.set_types(list(_COPY_TYPES))
        for f in fixes:
            copy.write_row((user_id, f.at, f.lon, f.lat, f.accuracy_m, f.speed_mps, now))


def _insert_skipping_stored(session: Session, user_id: uuid.UUID, fixes: Sequence[Fix], *,
                            now: datetime) -> int:
    columns = (
        '{"' + '","'.join(f.at.isoformat() for f in fixes) + '"}',
        _float_array(f.lon for f in fixes),
        _float_array(f.lat for f in fixes),
        _float_array(f.accuracy_m for f in fixes),
        _float_array(f.speed_mps for f in fixes),
    )
    return session.connection().exec_driver_sql(
        _UNNEST_INSERT, (str(user_id), now, *columns)
    ).rowcount


def ingest_for(
    session: Session,
    actor: Actor,
    batch: Sequence[Fix],
    *,
    crs: CRS,
    limits: FieldLimits,
    now: datetime,
) -> IngestResult:
    """A signed-in field person's own batch, in any CRS."""
    actor.require(FIELD_ROLES, gettext("upload patrol tracks"))
    if crs not in (CRS.WGS84, CRS.CGCS2000) and batch:
        lons, lats = to_wgs84([f.lon for f in batch], [f.lat for f in batch], crs)
        batch = [
            Fix(f.at, float(x), float(y), f.accuracy_m, f.speed_mps)
            for f, x, y in zip(batch, lons, lats, strict=True)
        ]
    return ingest_fixes(session, actor.user_id, batch, limits=limits, now=now)
