"""到场 from the web app: POST /cases/{id}/arrive, the same domain service as the phone's
``arrive_on_site`` operation (SQLite and PostGIS)."""

from __future__ import annotations

import uuid

import pytest

from geo.crs import CRS, to_wgs84
from tests.api.test_auth import assert_error
from tests.fixtures.cases import IN_T1_A1, act


def arrive(client, headers, case, expect=200, **body):  # noqa: ANN001, ANN003, ANN201
    return act(client, headers, case, "arrive", expect, **body)


def timeline(client, login, case_id: str) -> list[dict]:  # noqa: ANN001
    return client.get(f"/api/v1/cases/{case_id}/timeline",
                      headers=login("t1.dispatcher")).get_json()


def test_a_handler_arrives_on_an_accepted_case_with_the_point_and_its_distance(
        client, world, login, file_case):
    worker = login("t1.worker")
    case = act(client, worker, file_case(), "accept")
    assert "arrive" in case["allowed_actions"]
    arrived = arrive(client, worker, case, lon=IN_T1_A1[0], lat=IN_T1_A1[1] + 0.001,
                     accuracy_m=8)
    assert (arrived["status"], arrived["version"]) == ("in_progress", case["version"] + 1)
    event = timeline(client, login, case["id"])[-1]
    assert (event["action"], event["from_status"], event["to_status"],
            event["actor_username"]) == ("arrive", "accepted", "in_progress", "t1.worker")
    assert event["data"]["distance_m"] == pytest.approx(111, abs=1)
    assert event["data"]["accuracy_m"] == 8
    assert event["data"]["input_crs"] == "wgs84"
    # Arriving again (a second visit) keeps the case in progress and records the new point.
    again = arrive(client, worker, arrived, lon=IN_T1_A1[0], lat=IN_T1_A1[1])
    assert again["status"] == "in_progress"
    assert timeline(client, login, case["id"])[-1]["data"]["distance_m"] == pytest.approx(0,
                                                                                         abs=1)


def test_a_point_in_gcj02_is_recorded_in_wgs84_and_as_sent(client, world, login, file_case):
    worker = login("t1.worker")
    case = act(client, worker, file_case(), "accept")
    gcj = (116.31224, 39.90534)  # what a Chinese map app shows near IN_T1_A1
    arrive(client, worker, case, lon=gcj[0], lat=gcj[1], crs="gcj02")
    data = timeline(client, login, case["id"])[-1]["data"]
    wlon, wlat = (float(v) for v in to_wgs84(gcj[0], gcj[1], CRS.GCJ02))
    assert (data["lon"], data["lat"]) == (pytest.approx(wlon), pytest.approx(wlat))
    assert (data["input_crs"], data["input_lon"], data["input_lat"]) == ("gcj02", *gcj)
    assert data["distance_m"] < 100  # the offset removed: GCJ-02 is ~500 m off here


def test_arrival_is_refused_as_the_phone_operation_is(client, world, login, file_case):
    worker = login("t1.worker")
    fresh = file_case()
    # Not accepted yet: the transition does not allow it.
    body = assert_error(client.post(f"/api/v1/cases/{fresh['id']}/arrive", headers=worker,
                                    json={"version": fresh["version"], "lon": IN_T1_A1[0],
                                          "lat": IN_T1_A1[1]}), 409, "illegal_transition")
    assert body["details"][0]["current_status"] == "dispatched"
    case = act(client, worker, fresh, "accept")
    point = {"lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}
    assert_error(client.post(f"/api/v1/cases/{case['id']}/arrive", headers=worker,
                             json={"version": fresh["version"], **point}), 409, "stale_version")
    # The cooperating department sees the case but does not lead it.
    assert_error(client.post(f"/api/v1/cases/{case['id']}/arrive", headers=login("d1.handler"),
                             json={"version": case["version"], **point}), 403, "not_lead_unit")
    assert_error(client.post(f"/api/v1/cases/{case['id']}/arrive", headers=login("t2.worker"),
                             json={"version": case["version"], **point}), 404, "case_not_found")
    outside = assert_error(client.post(
        f"/api/v1/cases/{case['id']}/arrive", headers=worker,
        json={"version": case["version"], "lon": 2.35, "lat": 48.85}), 422,
        "coordinates_outside_china")
    assert set(outside["errors"]["json"]) == {"lon", "lat"}
    missing = assert_error(client.post(f"/api/v1/cases/{case['id']}/arrive", headers=worker,
                                       json={"version": case["version"], "lon": 116.3}),
                           422, "validation_failed")
    assert "lat" in missing["errors"]["json"]
    assert_error(client.post(f"/api/v1/cases/{uuid.uuid4()}/arrive", headers=worker,
                             json={"version": 1, **point}), 404, "case_not_found")
    assert [e["action"] for e in timeline(client, login, case["id"])].count("arrive") == 0


def test_the_web_and_the_phone_record_the_same_arrival(client, world, login, file_case):
    """One rule, two doors: the web endpoint and the sync operation write the same event."""
    worker = login("t1.worker")
    web = act(client, worker, file_case(), "accept")
    phone_case = act(client, worker, file_case(), "accept")
    point = {"lon": IN_T1_A1[0] + 0.0005, "lat": IN_T1_A1[1], "accuracy_m": 12.0,
             "crs": "wgs84"}
    arrive(client, worker, web, **point)
    phone = login("t1.worker", device_id=str(uuid.uuid4()))
    pushed = client.post("/api/v1/sync/push", headers=phone, json={
        "sent_at": web["updated_at"], "operations": [{
            "id": str(uuid.uuid4()), "seq": 1, "name": "arrive_on_site",
            "args": {"case_id": phone_case["id"], **point},
            "device_time": web["updated_at"]}]}).get_json()
    assert pushed["results"][0]["status"] == "applied", pushed
    by_web = timeline(client, login, web["id"])[-1]
    by_phone = timeline(client, login, phone_case["id"])[-1]
    assert {k: v for k, v in by_web.items() if k not in ("at", "seq")} == \
        {k: v for k, v in by_phone.items() if k not in ("at", "seq")}
