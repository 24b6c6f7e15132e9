"""Patrol tracks through the API: impossible fixes dropped and counted, idempotent, GeoJSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from geo.measure import distance_m
from tests.api.test_auth import assert_error
from tests.fixtures.staff import NOW, fixes_along, walk

START = NOW - timedelta(hours=1)  # 13:00 in Beijing
# Inside T1-A1 (116.30-116.31, 39.90-39.91), clear of special grid T1-S1.
INSIDE_A1 = walk(116.301, 39.907, 116.304, 39.909, 121)  # 20 minutes at one fix per 10 s
WALK_M = distance_m(116.301, 39.907, 116.304, 39.909)


def upload(client, headers, fixes, **extra):  # noqa: ANN001, ANN003, ANN201
    return client.post("/api/v1/tracks", json={"fixes": fixes, **extra}, headers=headers)


def test_a_gps_jump_is_dropped_and_counted(client, world, login, post):
    post(["T1-A1"], mode="patrolling")
    fixes = fixes_along(INSIDE_A1, start=START)
    fixes[60] = {**fixes[60], "lon": 116.36}  # 5 km east, 10 s after a point in T1-A1
    response = upload(client, login("d1.staff"), fixes)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["received"] == 121
    assert body["stored"] == 120
    assert body["dropped"] == 1
    assert body["dropped_by_reason"] == {"too_fast": 1}
    assert body["dropped_fixes"] == [{"index": 60, "at": fixes[60]["at"], "reason": "too_fast"}]


def test_inaccurate_and_future_fixes_are_dropped(client, world, login, frozen_now):
    fixes = fixes_along(INSIDE_A1[:10], start=START)
    fixes[3]["accuracy_m"] = 500
    fixes[9]["at"] = (NOW + timedelta(hours=2)).isoformat()
    body = upload(client, login("t1.worker"), fixes).get_json()
    assert body["dropped_by_reason"] == {"accuracy_too_low": 1, "in_future": 1}
    assert body["stored"] == 8


def test_the_same_batch_twice_is_stored_once_late_batches_fill_holes(
    client, world, login, frozen_now
):
    fixes = fixes_along(INSIDE_A1, start=START)
    headers = login("t1.worker")
    late, early = fixes[60:], fixes[:60]
    assert upload(client, headers, list(reversed(late))).get_json()["stored"] == 61
    again = upload(client, headers, late).get_json()
    assert (again["stored"], again["already_stored"], again["dropped"]) == (0, 61, 0)
    body = upload(client, headers, early).get_json()
    assert (body["stored"], body["dropped"]) == (60, 0)


def test_a_late_batch_with_a_jump_is_judged_against_the_stored_track(
    client, world, login, frozen_now
):
    fixes = fixes_along(INSIDE_A1, start=START)
    headers = login("t1.worker")
    upload(client, headers, fixes[:50] + fixes[51:])
    spike = {**fixes[50], "lat": 39.95}  # the missing fix arrives late, 4.5 km off
    body = upload(client, headers, [spike]).get_json()
    assert body["dropped_by_reason"] == {"too_fast": 1}


def test_track_as_geojson_with_time_and_visits_per_grid(client, world, login, post):
    post(["T1-A1"], mode="patrolling")
    upload(client, login("d1.staff"), fixes_along(INSIDE_A1, start=START))
    user_id = world.users["d1.staff"].id
    response = client.get(
        f"/api/v1/people/{user_id}/track",
        headers=login("d1.dispatcher"),
        query_string={"start": START.isoformat(), "end": NOW.isoformat(), "tolerance_m": 5},
    )
    assert response.status_code == 200, response.get_json()
    feature = response.get_json()
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    assert len(feature["geometry"]["coordinates"]) == 2  # a straight walk simplifies to its ends
    props = feature["properties"]
    assert props["fixes"] == 121
    assert props["distance_m"] == pytest.approx(WALK_M, abs=0.2)
    grid = props["grids"]["T1-A1"]
    assert grid["seconds_inside"] == 1200
    assert grid["visits"] == 1
    assert grid["distance_m"] == pytest.approx(WALK_M, abs=0.2)


def test_someone_elses_track_needs_a_reading_role(client, world, login, frozen_now):
    user_id = world.users["d1.staff"].id
    response = client.get(
        f"/api/v1/people/{user_id}/track",
        headers=login("t1.worker"),
        query_string={"start": START.isoformat(), "end": NOW.isoformat()},
    )
    assert_error(response, 403, "permission_denied")


def test_a_person_outside_ones_territory_is_not_found(client, world, login, frozen_now):
    user_id = world.users["t1.worker"].id
    response = client.get(
        f"/api/v1/people/{user_id}/track",
        headers=login("t2.dispatcher"),
        query_string={"start": START.isoformat(), "end": NOW.isoformat()},
    )
    assert_error(response, 404, "person_not_found")


def test_fix_without_time_is_refused(client, world, login, frozen_now):
    response = upload(client, login("t1.worker"), [{"lon": 116.3, "lat": 39.9}])
    assert_error(response, 422, "validation_failed")


def _reference_dwell(track, geometry, *, max_gap_s, min_visit_s):  # noqa: ANN001, ANN202
    """Time, distance and visits fix by fix, the plain way: one point, one segment at a time."""
    from shapely.geometry import Point

    inside = [geometry.intersects(Point(lon, lat)) for _, lon, lat in track]
    seconds = distance = 0.0
    visits, run_start = [], None
    for i, (t, lon, lat) in enumerate(track):
        if inside[i] and run_start is None:
            run_start = t
        nxt = track[i + 1] if i + 1 < len(track) else None
        usable = nxt is not None and nxt[0] - t <= max_gap_s
        if usable:
            weight = (inside[i] + inside[i + 1]) / 2.0
            seconds += weight * (nxt[0] - t)
            distance += weight * distance_m(lon, lat, nxt[1], nxt[2])
        if run_start is not None and not (usable and inside[i + 1]):
            if t - run_start >= min_visit_s:
                visits.append((run_start, t))
            run_start = None
    return seconds, distance, visits


def test_the_fast_dwell_path_agrees_with_a_fix_by_fix_reference(
    client, world, login, frozen_now, db_session
):
    """dwell_for (the batched fetch and the array computation) against the plain loop, on
    random walks in and out of two grids, with gaps, stored through the upload endpoint."""
    import numpy as np

    from server.staff.compliance import dwell_for
    from server.staff.models import TrackFix
    from server.staff.rules import FieldLimits

    rng = np.random.default_rng(15)
    grids = [world.grids["T1-A1"], world.grids["T1-A2"]]
    people = ["t1.worker", "d1.staff"]
    for username in people:
        steps = rng.normal(0.0, 0.0004, size=(240, 2)).cumsum(axis=0)
        points = [(116.305 + dx, 39.905 + dy) for dx, dy in steps]
        fixes = fixes_along(points, start=START)
        offsets = rng.choice([15.0] * 7 + [400.0], size=len(fixes)).cumsum()
        for fix, offset in zip(fixes, offsets, strict=True):  # with gaps: phone off a while
            fix["at"] = (NOW - timedelta(hours=6) + timedelta(seconds=float(offset))).isoformat()
        upload(client, login(username), fixes)
    limits = FieldLimits()
    user_ids = {world.users[u].id: [g.id for g in grids] for u in people}
    got = dwell_for(db_session, user_ids, NOW - timedelta(hours=7), NOW, limits=limits,
                    geometries={g.id: g.boundary for g in grids})
    assert any(d.visits for d in got.values())
    assert any(not d.visits for d in got.values())
    for user_id in user_ids:
        track = [
            (at.timestamp(), lon, lat)
            for at, lon, lat in db_session.execute(
                sa.select(TrackFix.fixed_at, TrackFix.lon, TrackFix.lat)
                .where(TrackFix.user_id == user_id).order_by(TrackFix.fixed_at))
        ]
        assert len(track) > 200
        for grid in grids:
            seconds, metres, visits = _reference_dwell(
                track, grid.boundary, max_gap_s=limits.track_max_gap_s,
                min_visit_s=limits.visit_min_minutes * 60.0)
            fast = got.get((user_id, grid.id))
            assert fast is not None or seconds == 0.0
            if fast is not None:
                assert fast.seconds_inside == pytest.approx(seconds, abs=1e-6)
                assert fast.distance_m == pytest.approx(metres, rel=1e-9, abs=1e-6)
                assert len(fast.visits) == len(visits)
                for v, (start, end) in zip(fast.visits, visits, strict=True):
                    assert (v.start, v.end) == (pytest.approx(start), pytest.approx(end))
