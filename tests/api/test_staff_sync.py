"""Staff in grids over the sync protocol: postings reach the phone, check-ins and tracks are
push operations applied exactly once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from server.staff.models import FieldCheck, TrackFix
from tests.api.test_sync_push import op, push
from tests.fixtures.staff import NOW, fixes_along, walk


def test_postings_reach_the_staff_members_phone(client, world, login, post):
    posting = post(["T1-A1"], mode="patrolling", visits={"required": 2, "per": "month"})
    phone = login("d1.staff", device_id=str(uuid.uuid4()))
    answer = client.post(
        "/api/v1/sync/pull", json={"cursor": None, "limit": 5000}, headers=phone
    ).get_json()
    (record,) = answer["changes"]["postings"]["created"]
    assert record["id"] == posting["id"]
    assert record["grid_codes"] == ["T1-A1"]
    assert (record["visits_required"], record["visit_period"]) == (2, "month")


def test_a_checkin_pushed_three_times_is_recorded_once(client, world, login, post, db_session):
    post(["T1-A1"])
    phone = login("d1.staff", device_id=str(uuid.uuid4()))
    check_id = str(uuid.uuid4())
    operation = op(
        "check_in",
        device_time=NOW - timedelta(minutes=30),
        id=check_id,
        lon=116.305,
        lat=39.8996,
        accuracy_m=20,
    )
    first = push(client, phone, operation, sent_at=NOW)["results"][0]
    assert first["status"] == "applied", first
    assert first["result"]["inside"] is False
    assert first["flags"] == ["outside_grid"]
    # Recorded when it happened (server clock), not when the phone found a network.
    assert first["result"]["recorded_at"] == (NOW - timedelta(minutes=30)).isoformat()
    again = push(client, phone, operation, sent_at=NOW)["results"][0]
    assert again["status"] == "duplicate"
    # The same check in a new operation (the app re-queued it): applied, not recorded again.
    other = push(
        client,
        phone,
        {**op("check_in", device_time=NOW, id=check_id, lon=116.305, lat=39.8996, accuracy_m=20)},
        sent_at=NOW,
    )["results"][0]
    assert (other["status"], other["result"]["first_time"]) == ("applied", False)
    assert db_session.scalar(sa.select(sa.func.count()).select_from(FieldCheck)) == 1


def test_a_track_pushed_offline_drops_its_jump(client, world, login, frozen_now, db_session):
    phone = login("t1.worker", device_id=str(uuid.uuid4()))
    fixes = fixes_along(walk(116.301, 39.907, 116.304, 39.909, 30), start=NOW - timedelta(hours=1))
    fixes[10] = {**fixes[10], "lat": 39.99}
    answer = push(client, phone, op("upload_track", fixes=fixes), sent_at=NOW)["results"][0]
    assert answer["status"] == "applied", answer
    assert answer["result"]["dropped_by_reason"] == {"too_fast": 1}
    assert answer["result"]["stored"] == 29
    assert db_session.scalar(sa.select(sa.func.count()).select_from(TrackFix)) == 29


def test_a_malformed_checkin_operation_is_rejected(client, world, login, frozen_now):
    phone = login("d1.staff", device_id=str(uuid.uuid4()))
    answer = push(client, phone, op("check_in", lon=116.3), sent_at=NOW)["results"][0]
    assert (answer["status"], answer["code"]) == ("rejected", "invalid_arguments")
