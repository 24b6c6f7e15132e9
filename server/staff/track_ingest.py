"""Patrol track ingest: batches of GPS fixes from phones, filtered and stored idempotently."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from geo.crs import CRS, to_wgs84
from geo.track import Dropped, Fix, anchors_needed, filter_fixes
from server.auth.actor import Actor
from server.core import pg_arrays
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
    checked against the track they fit into. On PostgreSQL three round trips: the person's
    lock with the read, one INSERT of arrays, and the caller's COMMIT.
    """
    if len(batch) > MAX_FIXES_PER_BATCH:
        raise TooLarge(
            gettext("Send at most {count} fixes per batch.").format(count=MAX_FIXES_PER_BATCH),
            code="too_many_fixes"
        )
    if not batch:
        return IngestResult(0, 0, 0)
    first, last = min(f.at for f in batch), max(f.at for f in batch)
    known = _stored_around(session, user_id, first, last)
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


# Namespace (first key) of the per-person advisory locks of track ingest: the two-int4 form,
# a key space apart from the single-bigint keys of the scheduler's jobs (server/jobs.py).
TRACK_LOCK_CLASS = 15_0001
_LOCK = "SELECT pg_advisory_xact_lock(%b, %b)"
# geo.track.anchors_needed, read: the stored fixes inside the batch's span and the nearest
# one on each side within ANCHOR_WINDOW (not the whole window: a stored fix with another
# between it and the batch sways nothing). Results in binary, parsed without text.
_ANCHORS = (
    "(SELECT fixed_at, lon, lat, accuracy_m FROM track_fixes WHERE user_id = %(user)b"
    " AND fixed_at >= %(lo)b AND fixed_at < %(first)b ORDER BY fixed_at DESC LIMIT 1)"
    " UNION ALL (SELECT fixed_at, lon, lat, accuracy_m FROM track_fixes WHERE user_id = %(user)b"
    " AND fixed_at >= %(first)b AND fixed_at <= %(last)b)"
    " UNION ALL (SELECT fixed_at, lon, lat, accuracy_m FROM track_fixes WHERE user_id = %(user)b"
    " AND fixed_at > %(last)b AND fixed_at <= %(hi)b ORDER BY fixed_at LIMIT 1)"
)
# No ON CONFLICT: under the person's lock the anchor read saw every stored fix of the
# batch's period, so the rows are new; the arbiter's speculative insertion cost half again.
_UNNEST_INSERT = (
    "INSERT INTO track_fixes (user_id, fixed_at, lon, lat, accuracy_m, speed_mps, received_at) "
    "SELECT %b, t.*, %b FROM unnest(%b::timestamptz[], %b::float8[], %b::float8[], "
    "%b::float8[], %b::float8[]) AS t"
)


def _lock_key(user_id: uuid.UUID) -> int:
    return int.from_bytes(user_id.bytes[:4], "big", signed=True)


def _stored_around(
    session: Session, user_id: uuid.UUID, first: datetime, last: datetime
) -> list[Fix]:
    """The stored fixes of ``user_id`` that judge a batch spanning [first, last]: those
    :func:`geo.track.anchors_needed` keeps of the ones within ``ANCHOR_WINDOW`` around it.

    PostgreSQL: first the person's transaction-level advisory lock, so that two uploads of
    one person (a retry racing its original) are judged and inserted one after the other;
    the read is a statement of its own after it (READ COMMITTED: it sees what the holder
    before committed). Lock, read (and the BEGIN) go in one pipeline: one round trip.
    """
    lo, hi = first - ANCHOR_WINDOW, last + ANCHOR_WINDOW
    if not is_postgres(session):
        return anchors_needed([
            Fix(at, lon, lat, acc)
            for at, lon, lat, acc in session.execute(
                sa.select(TrackFix.fixed_at, TrackFix.lon, TrackFix.lat, TrackFix.accuracy_m)
                .where(TrackFix.user_id == user_id, TrackFix.fixed_at >= lo,
                       TrackFix.fixed_at <= hi)
            )
        ], first, last)
    driver = session.connection().connection.driver_connection
    with driver.cursor() as lock, driver.cursor(binary=True) as read:
        with driver.pipeline():
            lock.execute(_LOCK, (TRACK_LOCK_CLASS, _lock_key(user_id)))
            read.execute(_ANCHORS, {"user": user_id, "lo": lo, "first": first, "last": last,
                                    "hi": hi})
        return [Fix(at, lon, lat, acc) for at, lon, lat, acc in read.fetchall()]


def _insert_fixes(
    session: Session, user_id: uuid.UUID, fixes: Sequence[Fix], *, now: datetime
) -> int:
    """Insert fixes the anchor read did not find stored; how many were new.

    PostgreSQL: one INSERT of five binary arrays (one round trip, no savepoint: the
    person's advisory lock, taken before the anchor read, keeps a concurrent upload of the
    same fixes out until this transaction ends). SQLite (one writer at a time) gets an
    executemany of INSERT ... ON CONFLICT DO NOTHING.
    """
    if is_postgres(session):
        columns = (
            pg_arrays.timestamptz_array([f.at for f in fixes]),
            pg_arrays.float8_array([f.lon for f in fixes]),
            pg_arrays.float8_array([f.lat for f in fixes]),
            pg_arrays.float8_array([f.accuracy_m for f in fixes]),
            pg_arrays.float8_array([f.speed_mps for f in fixes]),
        )
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor:
            pg_arrays.register(cursor.adapters)
            cursor.execute(_UNNEST_INSERT, (user_id, now, *columns))
            return cursor.rowcount
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
