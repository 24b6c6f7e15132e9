"""geo/track.py: impossible fixes, dwell inside grids, visits, simplification (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.measure import distance_m
from geo.track import (
    DropReason,
    Fix,
    anchors_needed,
    dwell,
    filter_fixes,
    implied_speed_mps,
    simplify,
)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
GRID = box(116.30, 39.90, 116.31, 39.91)
LIMITS = {"max_accuracy_m": 100.0, "max_speed_mps": 50.0}


def walk(
    n: int,
    *,
    every_s: float = 10.0,
    lon0: float = 116.301,
    step_deg: float = 0.0001,
    accuracy_m: float = 5.0,
) -> list[Fix]:
    return [
        Fix(T0 + timedelta(seconds=i * every_s), lon0 + i * step_deg, 39.905, accuracy_m)
        for i in range(n)
    ]


def test_the_implied_speed_is_the_geodesic_less_both_accuracies_over_the_time():
    a = Fix(T0, 116.3, 39.9, 10.0)
    b = Fix(T0 + timedelta(seconds=100), 116.31, 39.9, 15.0)
    assert implied_speed_mps(a, b) == pytest.approx(
        (distance_m(116.3, 39.9, 116.31, 39.9) - 25.0) / 100
    )


def test_a_jump_in_the_middle_is_dropped():
    fixes = walk(20)
    fixes[7] = Fix(fixes[7].at, 116.40, 39.905, 5.0)  # 8 km in 10 s
    kept, dropped = filter_fixes(fixes, **LIMITS)
    assert [(d.index, d.reason) for d in dropped] == [(7, DropReason.TOO_FAST)]
    assert kept == [i for i in range(20) if i != 7]


def test_a_leading_spike_is_dropped_but_a_good_first_fix_is_kept():
    fixes = walk(10)
    spiked = [Fix(fixes[0].at, 116.40, 39.905, 5.0), *fixes[1:]]
    assert [d.index for d in filter_fixes(spiked, **LIMITS)[1]] == [0]
    assert filter_fixes(fixes, **LIMITS)[1] == []


def test_inaccurate_duplicate_and_future_fixes_are_dropped_with_their_reason():
    fixes = walk(5)
    fixes[1] = Fix(fixes[1].at, fixes[1].lon, fixes[1].lat, 150.0)
    fixes.append(fixes[2])
    fixes.append(Fix(T0 + timedelta(hours=5), 116.301, 39.905, 5.0))
    _, dropped = filter_fixes(fixes, **LIMITS, latest_allowed=T0 + timedelta(hours=1))
    assert {(d.index, d.reason) for d in dropped} == {
        (1, DropReason.ACCURACY),
        (5, DropReason.DUPLICATE),
        (6, DropReason.FUTURE),
    }


def test_known_fixes_anchor_a_late_batch_and_are_not_counted():
    track = walk(30)
    known = track[:10] + track[11:]
    late = [Fix(track[10].at, 116.50, 39.905, 5.0)]
    assert filter_fixes(late, known, **LIMITS)[1][0].reason is DropReason.TOO_FAST
    kept, dropped = filter_fixes([track[10], track[3]], known, **LIMITS)
    assert (kept, dropped) == ([0], [])  # track[3] is stored already: neither kept nor dropped


def test_accuracy_slack_lets_noisy_fixes_one_second_apart_through():
    a = Fix(T0, 116.301, 39.905, 30.0)
    b = Fix(T0 + timedelta(seconds=1), 116.3015, 39.905, 30.0)  # ~43 m in 1 s, within 60 m slack
    assert filter_fixes([a, b], **LIMITS)[1] == []


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(25))))
def test_the_order_fixes_arrive_in_does_not_change_what_is_kept(order):
    fixes = walk(25)
    fixes[12] = Fix(fixes[12].at, 116.45, 39.905, 5.0)
    shuffled = [fixes[i] for i in order]
    kept, dropped = filter_fixes(shuffled, **LIMITS)
    assert sorted(shuffled[i].at for i in kept) == [f.at for i, f in enumerate(fixes) if i != 12]
    assert [shuffled[d.index].at for d in dropped] == [fixes[12].at]


def _random_split_track(rng: random.Random) -> tuple[list[Fix], list[Fix]]:
    """A random track (moves of up to ~250 m in 1-40 s: many are jumps; some accuracies past
    the limit), about half of it stored (known) and the rest in a batch, which also brings
    a stored fix again now and then."""
    at, lon, track = T0, 116.30, []
    for _ in range(rng.randint(2, 30)):
        at, lon = at + timedelta(seconds=rng.randint(1, 40)), lon + rng.uniform(-0.003, 0.003)
        track.append(Fix(at, lon, 39.905, rng.choice([None, 3.0, 25.0, 150.0])))
    stored = [rng.random() < 0.5 for _ in track]
    known = [f for f, s in zip(track, stored, strict=True) if s]
    batch = [f for f, s in zip(track, stored, strict=True) if not s]
    if known and rng.random() < 0.2:
        batch.append(rng.choice(known))
    return known, batch


def test_the_anchors_needed_give_the_outcome_the_whole_window_gives():
    # Judging a batch against only the stored fixes anchors_needed keeps must change no
    # outcome. So that this cannot pass by never meeting a case where the anchors outside
    # the batch's span matter, it also counts the tracks where leaving them out would.
    rng, outside_mattered = random.Random(15), 0
    for _ in range(3000):
        known, batch = _random_split_track(rng)
        if not batch:
            continue
        first, last = min(f.at for f in batch), max(f.at for f in batch)
        needed = anchors_needed(known, first, last)
        outcome = filter_fixes(batch, known, **LIMITS)
        assert filter_fixes(batch, needed, **LIMITS) == outcome
        inside = [f for f in known if first <= f.at <= last]
        assert len(needed) <= len(inside) + 2
        outside_mattered += filter_fixes(batch, inside, **LIMITS) != outcome
    assert outside_mattered > 20


def test_a_lone_fix_before_the_stored_track_is_judged_by_the_first_stored_fix_after_it():
    track = walk(10)
    known = track[3:]
    spike = Fix(track[2].at, 116.45, 39.905, 5.0)  # ~12 km from the fix 10 s later
    needed = anchors_needed(known, spike.at, spike.at)
    assert needed == [track[3]]
    assert [d.reason for d in filter_fixes([spike], needed, **LIMITS)[1]] == [DropReason.TOO_FAST]
    assert filter_fixes([spike], [], **LIMITS)[1] == []  # with no anchor at all it would stay


def _arrays(fixes: list[Fix]):  # noqa: ANN202
    return (
        np.array([f.at.timestamp() for f in fixes]),
        np.array([f.lon for f in fixes]),
        np.array([f.lat for f in fixes]),
    )


def test_dwell_counts_time_and_distance_inside_and_halves_at_the_crossing():
    # From 116.2995 eastwards, 0.0001° (8.5 m) per 10 s: fix 5 is the first inside.
    fixes = walk(100, lon0=116.2995)
    result = dwell(*_arrays(fixes), GRID, max_gap_s=300, min_visit_s=600)
    assert result.seconds_inside == pytest.approx(94 * 10 + 5)
    step_m = distance_m(116.3, 39.905, 116.3001, 39.905)
    assert result.distance_m == pytest.approx(94.5 * step_m, rel=1e-3)
    assert len(result.visits) == 1


def test_a_short_stay_is_not_a_visit_and_a_gap_splits_visits():
    short = walk(30)  # 290 s
    assert dwell(*_arrays(short), GRID, max_gap_s=300, min_visit_s=600).visits == ()
    two = walk(70) + [Fix(f.at + timedelta(hours=1), f.lon, f.lat, 5.0) for f in walk(70)]
    result = dwell(*_arrays(two), GRID, max_gap_s=300, min_visit_s=600)
    assert len(result.visits) == 2
    assert result.seconds_inside == pytest.approx(2 * 690)  # the hour of silence counts nothing


def test_a_track_outside_has_no_dwell():
    far = [Fix(f.at, f.lon + 1, f.lat, 5.0) for f in walk(10)]
    assert dwell(*_arrays(far), GRID, max_gap_s=300, min_visit_s=60).seconds_inside == 0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(116.30, 116.31), st.floats(39.90, 39.91)), min_size=3, max_size=60
    ),
    st.floats(0.5, 50),
)
def test_simplify_keeps_the_ends_and_never_adds_points(points, tolerance_m):
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    simple = simplify(lons, lats, tolerance_m)
    assert 2 <= len(simple) <= len(points)
    assert simple[0] == pytest.approx((lons[0], lats[0]))
    assert simple[-1] == pytest.approx((lons[-1], lats[-1]))


def test_simplify_removes_points_of_a_straight_line():
    lons = [116.30 + i * 0.0001 for i in range(50)]
    assert len(simplify(lons, [39.905] * 50, 1.0)) == 2


def test_a_fix_outside_china_is_dropped_and_does_not_break_the_track():
    fixes = walk(4)
    fixes[2] = Fix(fixes[2].at, 0.0, 0.0, 5.0)  # a GPS cold start's null island
    kept, dropped = filter_fixes(fixes, **LIMITS)
    assert [(d.index, d.reason) for d in dropped] == [(2, DropReason.OUTSIDE_CHINA)]
    assert kept == [0, 1, 3]


def _visits_by_loop(seconds, inside, usable, min_visit_s):  # noqa: ANN001, ANN202
    """The visit rule fix by fix, as it was written before it was vectorised."""
    visits, start, n = [], None, len(seconds)
    for i in range(n):
        if inside[i] and start is None:
            start = i
        broken = i + 1 >= n or not inside[i + 1] or not usable[i]
        if start is not None and broken:
            if seconds[i] - seconds[start] >= min_visit_s:
                visits.append((seconds[start], seconds[i]))
            start = None
    return visits


def test_visits_match_the_fix_by_fix_rule_on_random_tracks():
    import shapely

    square = box(116.0, 39.0, 116.01, 39.01)
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        seconds = np.cumsum(rng.choice([10.0, 30.0, 400.0], size=n, p=[0.7, 0.2, 0.1]))
        lons = rng.uniform(115.995, 116.015, n)
        lats = rng.uniform(39.002, 39.008, n)
        inside = shapely.intersects_xy(square, lons, lats)
        usable = np.diff(seconds) <= 300.0
        got = dwell(seconds, lons, lats, square, max_gap_s=300.0, min_visit_s=60.0)
        assert [(v.start, v.end) for v in got.visits] == _visits_by_loop(
            seconds, inside, usable, 60.0)
