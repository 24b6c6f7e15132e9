"""GET /tracks: many people's tracks at once, each person scoped as their single track, and
bounded (people, period, fixes) with a clear error when a bound is passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.staff import rules
from tests.api.test_auth import assert_error
from tests.api.test_staff_tracks import INSIDE_A1, START, WALK_M, upload
from tests.fixtures.staff import NOW, fixes_along


def _tracks(client, headers, users, **extra):  # noqa: ANN001, ANN003, ANN201
    start, end = extra.pop("start", START), extra.pop("end", NOW)
    query = [("user", str(u)) for u in users]
    query += [("start", start.isoformat()), ("end", end.isoformat())]
    query += [(k, str(v)) for k, v in extra.items()]
    return client.get("/api/v1/tracks", headers=headers, query_string=query)


def test_two_peoples_tracks_in_one_answer_like_their_single_tracks(client, world, login, post):
    post(["T1-A1"], mode="patrolling")
    upload(client, login("d1.staff"), fixes_along(INSIDE_A1, start=START))
    upload(client, login("t1.worker"), fixes_along(INSIDE_A1[:30], start=START))
    staff, worker = world.users["d1.staff"].id, world.users["t1.worker"].id
    headers = login("t1.dispatcher")
    response = _tracks(client, headers, [staff, worker], tolerance_m=5)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["user_id"] for f in body["features"]] == [str(staff), str(worker)]
    first = body["features"][0]
    assert first["properties"]["fixes"] == 121
    assert first["properties"]["distance_m"] == pytest.approx(WALK_M, abs=0.2)
    single = client.get(f"/api/v1/people/{staff}/track", headers=headers, query_string={
        "start": START.isoformat(), "end": NOW.isoformat(), "tolerance_m": 5}).get_json()
    assert first["geometry"] == single["geometry"]
    assert body["features"][1]["properties"]["fixes"] == 30


def test_one_person_outside_sight_refuses_the_batch_like_an_unknown_id(client, world, login,
                                                                       frozen_now):
    inside, outside = world.users["t1.worker"].id, world.users["t2.worker"].id
    assert_error(_tracks(client, login("t1.dispatcher"), [inside, outside]), 404,
                 "person_not_found")


def test_others_tracks_need_a_reading_role_ones_own_does_not(client, world, login, frozen_now):
    headers = login("t1.worker")
    own = _tracks(client, headers, [world.users["t1.worker"].id])
    assert own.status_code == 200, own.get_json()
    assert own.get_json()["features"][0]["geometry"] is None  # no fixes: no line
    assert_error(_tracks(client, headers, [world.users["d1.staff"].id]), 403,
                 "permission_denied")


def test_at_most_a_day(client, world, login, frozen_now):
    body = assert_error(_tracks(client, login("t1.dispatcher"), [world.users["t1.worker"].id],
                                start=NOW - timedelta(hours=25)), 422, "invalid_period")
    assert "end" in body["errors"]["query"]


def test_at_most_so_many_people(client, world, login, frozen_now, monkeypatch):
    monkeypatch.setattr("server.api.staff.tracks.MAX_TRACK_PEOPLE", 1)
    users = [world.users["t1.worker"].id, world.users["t1.leader"].id]
    body = assert_error(_tracks(client, login("t1.dispatcher"), users), 422, "too_many_people")
    assert "user" in body["errors"]["query"]


def test_at_most_so_many_fixes(client, world, login, post, monkeypatch):
    post(["T1-A1"], mode="patrolling")
    upload(client, login("d1.staff"), fixes_along(INSIDE_A1, start=START))
    monkeypatch.setattr("server.api.staff.tracks.MAX_TRACK_FIXES", 100)
    body = assert_error(_tracks(client, login("t1.dispatcher"), [world.users["d1.staff"].id]),
                        413, "too_many_track_fixes")
    assert "121" in body["message"]


def test_the_bounds_are_what_the_docs_say():
    assert (rules.MAX_TRACK_PEOPLE, rules.MAX_TRACK_WINDOW_S, rules.MAX_TRACK_FIXES) == (
        100, 86_400, 100_000)
