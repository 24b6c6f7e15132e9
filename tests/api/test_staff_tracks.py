"""Patrol tracks through the API: impossible fixes dropped and counted, idempotent, GeoJSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

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
