"""Track ingest judges a batch by the stored fixes around it, on both databases: what it keeps
and drops is what ``geo.track.filter_fixes`` decides against every stored fix within the
anchor window, although it reads only the ones that can sway the outcome."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from geo.track import Fix, filter_fixes
from server.staff.models import TrackFix
from server.staff.rules import FieldLimits
from server.staff.track_ingest import ANCHOR_WINDOW, ingest_fixes
from tests.fixtures.world import NOW


def _track(rng: random.Random, n: int) -> list[Fix]:
    """A walk with jumps (moves of up to ~250 m in 1-40 s) and some poor accuracies."""
    at, lon, track = NOW - timedelta(hours=2), 116.30, []
    for _ in range(n):
        at, lon = at + timedelta(seconds=rng.randint(1, 40)), lon + rng.uniform(-0.003, 0.003)
        track.append(Fix(at, lon, 39.905, rng.choice([None, 4.0, 20.0, 150.0]), 1.0))
    return track


def test_a_late_batch_is_judged_as_against_the_whole_window(db_session, world):
    limits = FieldLimits()

    def judge(batch: list[Fix], known: list[Fix]):  # noqa: ANN202
        return filter_fixes(batch, known, max_accuracy_m=limits.fix_max_accuracy_m,
                            max_speed_mps=limits.fix_max_speed_mps,
                            latest_allowed=NOW + timedelta(seconds=limits.fix_max_future_s))

    rng = random.Random(7)
    user_id = world.users["t1.worker"].id
    outside_mattered = 0
    for _ in range(80):
        db_session.execute(sa.delete(TrackFix).where(TrackFix.user_id == user_id))
        track = _track(rng, 24)
        stored = [f for f in track if rng.random() < 0.5]
        db_session.add_all(TrackFix(user_id=user_id, fixed_at=f.at, lon=f.lon, lat=f.lat,
                                    accuracy_m=f.accuracy_m, speed_mps=f.speed_mps,
                                    received_at=NOW) for f in stored)
        db_session.flush()
        stored_times = {f.at for f in stored}
        batch = [f for f in track if f.at not in stored_times]
        if not batch:
            continue
        first, last = min(f.at for f in batch), max(f.at for f in batch)
        window = [f for f in stored
                  if first - ANCHOR_WINDOW <= f.at <= last + ANCHOR_WINDOW]
        kept, dropped = judge(batch, window)
        inside = [f for f in window if first <= f.at <= last]
        outside_mattered += judge(batch, inside) != (kept, dropped)

        result = ingest_fixes(db_session, user_id, batch, limits=limits, now=NOW)

        assert (result.stored, result.dropped) == (len(kept), dropped)
        now_stored = set(db_session.scalars(
            sa.select(TrackFix.fixed_at).where(TrackFix.user_id == user_id)))
        assert now_stored == stored_times | {batch[i].at for i in kept}
    # Rounds where a stored fix outside the batch's span changed the outcome: the read
    # of the nearest ones on each side was put to the test.
    assert outside_mattered >= 3


def test_a_lone_late_fix_is_judged_by_the_first_stored_fix_after_it(db_session, world):
    user_id = world.users["t1.worker"].id
    start = NOW - timedelta(hours=1)
    db_session.add_all(TrackFix(user_id=user_id, fixed_at=start + timedelta(seconds=10 * i),
                                lon=116.301 + i * 1e-4, lat=39.905, accuracy_m=5.0,
                                received_at=NOW) for i in range(3, 10))
    db_session.flush()
    spike = Fix(start + timedelta(seconds=20), 116.45, 39.905, 5.0)  # ~12 km in 10 s
    result = ingest_fixes(db_session, user_id, [spike], limits=FieldLimits(), now=NOW)
    assert (result.stored, [d.reason.value for d in result.dropped]) == (0, ["too_fast"])
