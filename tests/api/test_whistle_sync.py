"""Whistle calls on the phones: department staff pull their department's open calls; arrivals,
joint-action records, ratings and objections are push operations, each applied once."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from tests.api.test_sync_pull import Phone
from tests.fixtures.whistle import PLACE, START, north_of, whistle

_seq = itertools.count(1)


def op(name: str, at, **args) -> dict:  # noqa: ANN001, ANN003
    return {"id": str(uuid.uuid4()), "seq": next(_seq), "name": name,
            "args": {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in args.items()},
            "device_time": at.isoformat()}


def push(client, phone: Phone, clock, *operations) -> list[dict]:  # noqa: ANN001
    response = client.post("/api/v1/sync/push", headers=phone.headers, json={
        "sent_at": clock.now.isoformat(), "operations": list(operations)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def test_department_phones_hold_their_calls_and_push_arrivals_once(
        client, whistle_world, login, raise_call, clock):
    zrzy, cgzf = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    call = raise_call(department_ids=[cgzf])
    staff = Phone(client, login, "d1.staff")
    staff.sync()
    assert staff.db["whistle_calls"] == {}  # raised, not yet judged: nothing to report to

    call = whistle(client, login("d1.dispatcher"), call, "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[cgzf],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=24)).isoformat())
    seen = staff.sync()
    assert seen["whistle_calls"]["created"] == {call["id"]}
    record = staff.db["whistle_calls"][call["id"]]
    assert record["status"] == "accepted"
    assert record["arrival_radius_m"] == 200.0
    assert [(d["code"], d["role"]) for d in record["departments"]] == [
        ("D1-ZRZY", "lead"), ("D1-CGZF", "cooperating")]
    assert [d["id"] for d in record["departments"]] == [d["id"] for d in call["departments"]]
    handler = Phone(client, login, "d1.handler")  # market supervision: not on the call
    handler.sync()
    assert handler.db["whistle_calls"] == {}

    # Late arrival pushed from the phone, then the same push again (its answer was lost).
    clock.now = START + timedelta(hours=3)
    arrive = op("whistle_arrival", clock.now, call_id=call["id"], lon=PLACE[0],
                lat=north_of(PLACE, 40)[1], accuracy_m=12.0)
    [first] = push(client, staff, clock, arrive)
    assert first["status"] == "applied", first
    assert first["result"]["within"] is True
    assert first["result"]["late"] is True
    [again] = push(client, staff, clock, arrive)
    assert again["status"] == "duplicate"
    assert again["original_status"] == "applied"
    view = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=login("t1.dispatcher"))
    view = view.get_json()
    assert [(a["id"], a["via"]) for a in view["arrivals"]] == [(arrive["id"], "sync")]
    assert view["late_department_ids"] == [cgzf]
    # The same arrival sent through the web endpoint afterwards is still one arrival.
    response = client.post(f"/api/v1/whistle-calls/{call['id']}/arrivals",
                           headers=login("d1.staff"), json={
                               "id": arrive["id"], "lon": PLACE[0], "lat": PLACE[1]})
    assert response.status_code == 200

    # The lead checks in 1 km away (flagged), then records the joint action with a photo.
    lead = Phone(client, login, "d1.zrzy")
    far, action = push(client, lead, clock,
                       op("whistle_arrival", clock.now, call_id=call["id"],
                          lon=PLACE[0], lat=north_of(PLACE, 1000)[1], accuracy_m=20.0),
                       op("whistle_action", clock.now, call_id=call["id"],
                          description="现场勘查并联合拆除", result="已拆除", photos=["cd" * 32]))
    assert far["status"] == "applied"
    assert far["flags"] == ["outside_radius"]
    assert far["result"]["within"] is False
    assert action["status"] == "applied"
    # A department not on the call cannot push to it.
    [refused] = push(client, handler, clock, op("whistle_arrival", clock.now,
                                                call_id=call["id"], lon=PLACE[0], lat=PLACE[1]))
    assert (refused["status"], refused["code"]) == ("rejected", "whistle_call_not_found")

    seen = staff.sync()
    assert seen["whistle_calls"]["updated"] == {call["id"]}
    assert staff.db["whistle_calls"][call["id"]]["event_count"] == 5

    # The caller closes on the web: the call leaves the departments' phones...
    clock.advance(hours=1)
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=login("t1.dispatcher"))
    call = whistle(client, login("t1.dispatcher"), call.get_json(), "close", result="已处置")
    assert staff.sync()["whistle_calls"]["deleted"] == {call["id"]}
    # ...an arrival pushed after that is refused by the state machine...
    [late] = push(client, lead, clock, op("whistle_arrival", clock.now, call_id=call["id"],
                                          lon=PLACE[0], lat=PLACE[1]))
    assert (late["status"], late["code"]) == ("rejected", "illegal_transition")
    # ...and the township's phone still holds it, and rates from the field (双考评).
    township = Phone(client, login, "t1.dispatcher")
    township.sync()
    assert township.db["whistle_calls"][call["id"]]["status"] == "closed"
    rating, objection, twice = push(
        client, township, clock,
        op("whistle_rating", clock.now, call_id=call["id"], department_id=cgzf,
           satisfaction="basically_satisfied", comment="迟到一小时"),
        op("whistle_unjustified", clock.now, call_id=call["id"], reason="x"),
        op("whistle_rating", clock.now, call_id=call["id"], department_id=cgzf,
           satisfaction="satisfied"))
    assert rating["status"] == "applied"
    assert (objection["status"], objection["code"]) == ("rejected", "not_named_department")
    assert (twice["status"], twice["code"]) == ("rejected", "already_rated")
    [mark] = push(client, lead, clock, op("whistle_unjustified", clock.now, call_id=call["id"],
                                          reason="应由街道自行处置"))
    assert mark["status"] == "applied"
    view = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=login("t1.dispatcher"))
    rows = {d["department"]["code"]: d for d in view.get_json()["departments"]}
    assert rows["D1-CGZF"]["rating"]["satisfaction"] == "basically_satisfied"
    assert rows["D1-ZRZY"]["unjustified"]["reason"] == "应由街道自行处置"


def test_bad_arguments_reject_only_that_operation(client, whistle_world, login, raise_call,
                                                  clock):
    call = raise_call()
    staff = Phone(client, login, "d1.staff")
    bad, unknown = push(client, staff, clock,
                        op("whistle_rating", clock.now, call_id=call["id"], timeliness=9,
                           satisfaction="happy"),
                        op("whistle_action", clock.now, call_id=str(uuid.uuid4()),
                           description="x"))
    assert (bad["status"], bad["code"]) == ("rejected", "invalid_arguments")
    assert set(bad["result"]["errors"]["args"]) == {"department_id", "satisfaction",
                                                    "timeliness"}
    assert (unknown["status"], unknown["code"]) == ("rejected", "whistle_call_not_found")


def test_joint_action_photos_from_web_and_phone_are_linked_to_the_call(
        client, whistle_world, login, raise_call, clock):
    zrzy, cgzf = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    call = whistle(client, login("d1.dispatcher"), raise_call(department_ids=[cgzf]), "accept",
                   lead_department_id=zrzy, cooperating_department_ids=[cgzf],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=24)).isoformat())
    web_photo, phone_photo = "c1" * 32, "d2" * 32
    whistle(client, login("d1.zrzy"), call, "actions", expect=201, id=str(uuid.uuid4()),
            description="现场测量", result=None, photos=[web_photo])
    staff = Phone(client, login, "d1.staff")
    [outcome] = push(client, staff, clock, op(
        "whistle_action", clock.now, call_id=call["id"], description="协助拆除",
        result="已拆除", photos=[phone_photo.upper()]))
    assert outcome["status"] == "applied", outcome
    listed = client.get(f"/api/v1/photos?subject_type=whistle_call&subject_id={call['id']}",
                        headers=login("t1.dispatcher")).get_json()
    assert sorted(p["sha256"] for p in listed) == sorted([web_photo, phone_photo])
