"""Check-in and check-out through the API: inside, on the edge, outside (flagged, kept), replays."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.staff.models import FieldCheck
from tests.api.test_auth import assert_error
from tests.fixtures.staff import M_PER_DEG_LAT, check_in

# Grid T1-A1 is lon 116.30-116.31, lat 39.90-39.91; its south edge is lat 39.90.
LON = 116.305
SOUTH = 39.90


def test_checkin_just_inside_the_grid_is_inside(client, world, login, post):
    posting = post(["T1-A1"])
    answer = check_in(client, login("d1.staff"), LON, SOUTH + 2 / M_PER_DEG_LAT, accuracy_m=20)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["inside"] is True
    assert body["distance_m"] == 0
    assert body["grid"]["code"] == "T1-A1"
    assert body["posting_id"] == posting["id"]
    assert body["flags"] == []
    assert body["tolerance_m"] == 30  # max(20 m accuracy, 30 m buffer)
    assert body["recorded_at"] == "2026-11-25T06:00:00+00:00"  # server time decides
    assert body["device_time"] == "2026-11-25T05:58:00+00:00"  # the phone's, kept


def test_checkin_on_the_edge_is_inside(client, world, login, post):
    post(["T1-A1"])
    body = check_in(client, login("d1.staff"), LON, SOUTH, accuracy_m=20).get_json()
    assert body["inside"] is True
    assert body["distance_m"] == 0


def test_checkin_50_m_outside_with_20_m_accuracy_is_recorded_and_flagged(
    client, world, login, post, db_session
):
    post(["T1-A1"])
    response = check_in(client, login("d1.staff"), LON, SOUTH - 50 / M_PER_DEG_LAT, accuracy_m=20)
    assert response.status_code == 201
    body = response.get_json()
    assert body["inside"] is False
    assert body["flags"] == ["outside_grid"]
    assert 50 <= body["distance_m"] < 51
    assert body["grid"]["code"] == "T1-A1"
    assert db_session.get(FieldCheck, uuid.UUID(body["id"])).inside is False


def test_checkin_within_the_buffer_outside_the_grid_counts_as_inside(client, world, login, post):
    post(["T1-A1"])
    body = check_in(
        client, login("d1.staff"), LON, SOUTH - 25 / M_PER_DEG_LAT, accuracy_m=5
    ).get_json()
    assert body["inside"] is True
    assert 25 <= body["distance_m"] < 26


def test_a_huge_reported_accuracy_is_capped(client, world, login, post):
    post(["T1-A1"])
    body = check_in(
        client, login("d1.staff"), LON, SOUTH - 150 / M_PER_DEG_LAT, accuracy_m=500
    ).get_json()
    assert body["tolerance_m"] == 100
    assert body["inside"] is False


def test_the_same_checkin_sent_three_times_is_recorded_once(client, world, login, post, db_session):
    post(["T1-A1"])
    check_id = str(uuid.uuid4())
    answers = [
        check_in(client, login("d1.staff"), LON, SOUTH + 0.001, check_id=check_id) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert answers[1].get_json() == answers[0].get_json() == answers[2].get_json()
    count = db_session.scalar(
        sa.select(sa.func.count())
        .select_from(FieldCheck)
        .where(FieldCheck.id == uuid.UUID(check_id))
    )
    assert count == 1


def test_someone_elses_check_id_is_a_conflict(client, world, login, post):
    post(["T1-A1"])
    check_id = str(uuid.uuid4())
    check_in(client, login("d1.staff"), LON, SOUTH + 0.001, check_id=check_id)
    assert_error(
        check_in(client, login("t1.worker"), LON, SOUTH + 0.001, check_id=check_id),
        409,
        "check_id_taken",
    )


def test_checkin_in_gcj02_is_converted(client, world, login, post):
    from geo.crs import CRS, from_wgs84

    post(["T1-A1"])
    lon, lat = from_wgs84(116.305, 39.905, CRS.GCJ02)
    body = check_in(client, login("d1.staff"), float(lon), float(lat), crs="gcj02").get_json()
    assert body["inside"] is True
    assert abs(body["location"]["lon"] - 116.305) < 1e-6
    assert body["location"]["input_crs"] == "gcj02"


def test_staff_without_a_posting_is_recorded_and_flagged(client, world, login, frozen_now):
    body = check_in(client, login("d1.staff"), LON, SOUTH + 0.001).get_json()
    assert body["grid"] is None
    assert body["inside"] is False
    assert body["flags"] == ["no_posting"]


def test_a_grid_worker_checks_in_to_their_own_grid(client, world, login, frozen_now):
    body = check_in(client, login("t1.worker"), 116.305, 39.915).get_json()
    assert body["grid"]["code"] == "T1-A2"
    assert body["inside"] is True


def test_checkout_is_recorded_with_its_checkin(client, world, login, post):
    post(["T1-A1"])
    first = check_in(client, login("d1.staff"), LON, SOUTH + 0.001).get_json()
    out = check_in(
        client, login("d1.staff"), LON, SOUTH + 0.002, kind="checkouts", check_in_id=first["id"]
    )
    assert out.status_code == 201
    assert out.get_json()["kind"] == "check_out"
    assert out.get_json()["check_in_id"] == first["id"]


def test_a_dispatcher_cannot_check_in(client, world, login, frozen_now):
    assert_error(check_in(client, login("t1.dispatcher"), LON, SOUTH), 403, "permission_denied")


def test_checkin_needs_an_id_and_a_point(client, world, login, frozen_now):
    response = client.post("/api/v1/checkins", json={"lon": LON}, headers=login("d1.staff"))
    body = assert_error(response, 422, "validation_failed")
    assert set(body["errors"]["json"]) == {"id", "lat"}


def test_checkin_outside_china_is_refused(client, world, login, frozen_now):
    assert_error(check_in(client, login("d1.staff"), 2.35, 48.85), 422, "coordinates_outside_china")
