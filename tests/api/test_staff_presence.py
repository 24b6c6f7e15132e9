"""Whereabouts (JSON and GeoJSON) and compliance reports through the API."""

from __future__ import annotations

from datetime import timedelta

from tests.api.test_auth import assert_error
from tests.fixtures.staff import NOW, check_in, fixes_along, walk

START = NOW - timedelta(hours=1)
INSIDE_A1 = walk(116.301, 39.907, 116.304, 39.909, 121)  # 20 minutes in T1-A1
WEEK = {"start": "2026-11-23", "end": "2026-11-29"}  # Monday to Sunday


def track(client, headers, points, start=START):  # noqa: ANN001, ANN201
    response = client.post(
        "/api/v1/tracks", json={"fixes": fixes_along(points, start=start)}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_whereabouts_latest_position_per_person_and_who_is_in_each_grid(client, world, login, post):
    post(["T2-A1"])
    check_in(client, login("d1.staff"), 116.405, 39.905)  # T2-A1, at NOW
    track(client, login("t1.worker"), INSIDE_A1)  # last fix 05:20 in T1-A1
    body = client.get("/api/v1/whereabouts", headers=login("d1.dispatcher")).get_json()
    people = {p["user"]["username"]: p for p in body["people"]}
    assert set(people) == {"d1.staff", "t1.worker"}
    assert people["d1.staff"]["source"] == "check_in"
    assert people["d1.staff"]["grids"] == ["T2-A1"]
    assert people["t1.worker"]["source"] == "fix"
    assert people["t1.worker"]["at"] == (START + timedelta(seconds=1200)).isoformat()
    assert people["t1.worker"]["grids"] == ["T1-A1"]
    grids = {g["code"]: g["people"] for g in body["grids"]}
    assert grids == {"T1-A1": ["t1.worker"], "T2-A1": ["d1.staff"]}
    # A township sees the staff posted to its grids, not another township's workers.
    t2 = client.get("/api/v1/whereabouts", headers=login("t2.dispatcher")).get_json()
    assert [p["user"]["username"] for p in t2["people"]] == ["d1.staff"]


def test_a_later_fix_replaces_a_checkin_and_a_checkout_leaves_the_grid(client, world, login, post):
    post(["T1-A1"])
    check_in(client, login("d1.staff"), 116.305, 39.905)
    check_in(client, login("d1.staff"), 116.305, 39.905, kind="checkouts")
    body = client.get("/api/v1/whereabouts", headers=login("d1.dispatcher")).get_json()
    assert body["people"][0]["source"] == "check_out"
    assert body["people"][0]["on_site"] is False
    assert body["grids"] == []


def test_whereabouts_as_geojson(client, world, login, post):
    post(["T2-A1"])
    check_in(client, login("d1.staff"), 116.405, 39.905)
    body = client.get(
        "/api/v1/whereabouts/geojson?crs=gcj02", headers=login("d1.dispatcher")
    ).get_json()
    assert body["type"] == "FeatureCollection"
    (feature,) = body["features"]
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"][0] != 116.405  # shifted into GCJ-02
    assert feature["properties"]["user"]["username"] == "d1.staff"
    assert feature["properties"]["grids"] == ["T2-A1"]


def test_old_positions_are_left_out(client, world, login, frozen_now):
    track(client, login("t1.worker"), INSIDE_A1, start=NOW - timedelta(hours=20))
    body = client.get("/api/v1/whereabouts", headers=login("d1.dispatcher")).get_json()
    assert body["people"] == []
    body = client.get("/api/v1/whereabouts?since_hours=24", headers=login("d1.dispatcher"))
    assert len(body.get_json()["people"]) == 1


def test_grid_workers_cannot_see_whereabouts(client, world, login, frozen_now):
    assert_error(
        client.get("/api/v1/whereabouts", headers=login("t1.worker")), 403, "permission_denied"
    )


def test_compliance_patrol_met_and_missed_stationed_presence_field_days(client, world, login, post):
    patrol = post(["T1-A1", "T1-B1"], mode="patrolling", visits={"required": 1, "per": "week"})
    stationed = post(["T2-A1"])  # Monday to Friday
    track(client, login("d1.staff"), INSIDE_A1)  # a 20-minute visit to T1-A1, none to T1-B1
    check_in(client, login("d1.staff"), 116.405, 39.905)  # present in T2-A1 on Wednesday
    check_in(client, login("t1.worker"), 116.305, 39.915)  # a field day in T1-A2

    response = client.get("/api/v1/compliance", query_string=WEEK, headers=login("d1.dispatcher"))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    patrols = {row["grid"]["code"]: row for row in report["patrolling"]}
    assert (patrols["T1-A1"]["made"], patrols["T1-A1"]["met"]) == (1, True)
    assert (patrols["T1-B1"]["made"], patrols["T1-B1"]["met"]) == (0, False)
    assert patrols["T1-B1"]["required"] == 1
    assert {row["posting_id"] for row in report["patrolling"]} == {patrol["id"]}

    (present,) = report["stationed"]
    assert present["posting_id"] == stationed["id"]
    assert (present["scheduled_days"], present["present_days"]) == (5, 1)
    assert present["absent_dates"] == ["2026-11-23", "2026-11-24", "2026-11-26", "2026-11-27"]
    assert present["rate"] == 0.2

    workers = {row["user"]["username"]: row for row in report["grid_workers"]}
    assert workers["t1.worker"]["months"] == [
        {"month": "2026-11", "covered_days": 7, "minimum": 4, "field_days": 1, "met": False}
    ]
    assert workers["t2.worker"]["months"][0]["field_days"] == 0

    (dept,) = report["by_department"]
    assert dept["department"] == "D1-CGZF"
    assert (dept["patrol_grids"], dept["patrol_grids_met"]) == (2, 1)
    assert (dept["scheduled_days"], dept["present_days"], dept["presence_rate"]) == (5, 1, 0.2)
    towns = {row["township"]: row for row in report["by_township"]}
    assert (towns["T1"]["patrol_grids"], towns["T1"]["patrol_grids_met"]) == (2, 1)
    assert (towns["T1"]["grid_workers"], towns["T1"]["grid_workers_met"]) == (1, 0)
    assert towns["T2"]["present_days"] == 1


def test_a_checkin_counts_as_a_patrol_visit(client, world, login, post):
    post(["T1-B1"], mode="patrolling", visits={"required": 1, "per": "week"})
    check_in(client, login("d1.staff"), 116.315, 39.905)
    report = client.get(
        "/api/v1/compliance", query_string=WEEK, headers=login("d1.dispatcher")
    ).get_json()
    assert report["patrolling"][0]["met"] is True


def test_compliance_by_township_filter_and_scope(client, world, login, post):
    post(["T1-A1"], mode="patrolling")
    post(["T2-A1"])
    t2 = client.get(
        "/api/v1/compliance",
        query_string={**WEEK, "township": "T2"},
        headers=login("d1.dispatcher"),
    ).get_json()
    assert t2["patrolling"] == []
    assert len(t2["stationed"]) == 1
    seen = client.get(
        "/api/v1/compliance", query_string=WEEK, headers=login("t2.dispatcher")
    ).get_json()
    assert seen["patrolling"] == []
    assert [w["user"]["username"] for w in seen["grid_workers"]] == ["t2.worker"]


def test_compliance_period_must_be_in_order(client, world, login, frozen_now):
    response = client.get(
        "/api/v1/compliance",
        query_string={"start": "2026-11-29", "end": "2026-11-23"},
        headers=login("d1.dispatcher"),
    )
    assert_error(response, 422, "validation_failed")
