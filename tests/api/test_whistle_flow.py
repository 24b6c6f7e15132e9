"""A whistle call from raise to rating through the public API (吹哨 → 研判 → 报到 → 联合处置 →
办结 → 双考评), with one department late, one never arriving, retries recorded once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from geo.crs import CRS, from_wgs84
from tests.fixtures.cases import IN_T1_A1
from tests.fixtures.whistle import PLACE, START, arrival, north_of, whistle

PHOTO = "ab" * 32


def _dept(call: dict, code: str) -> dict:
    [row] = [d for d in call["departments"] if d["department"]["code"] == code]
    return row


def test_whistle_call_from_raise_to_rating(client, whistle_world, login, raise_call, clock,
                                           file_case):
    world = whistle_world
    zrzy, cgzf, scjg = (str(world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF", "D1-SCJG"))
    case = file_case("t1.dispatcher")
    dispatcher, district = login("t1.dispatcher"), login("d1.dispatcher")

    # 吹哨: the township calls two departments about a place in its grid T1-B2.
    call = raise_call(client_request_id="whistle-0001", department_ids=[zrzy, cgzf],
                      linked_case_ids=[case["id"]], photos=[PHOTO.upper()], urgency="urgent",
                      address="河东路 12 号")
    assert call["status"] == "raised"
    assert call["grid"]["code"] == "T1-B2"
    assert call["township"]["code"] == "T1"
    assert call["photos"] == [PHOTO]
    assert call["linked_case_ids"] == [case["id"]]
    assert [d["department"]["code"] for d in call["departments"]] == ["D1-ZRZY", "D1-CGZF"]
    assert all(d["requested"] and d["role"] is None for d in call["departments"])
    assert call["allowed_actions"] == ["accept", "reject"]

    # A retried raise (lost response) is the same call, recorded once.
    again = raise_call(client_request_id="whistle-0001", department_ids=[zrzy, cgzf],
                       expect=200)
    assert again["id"] == call["id"]
    listed = client.get("/api/v1/whistle-calls", headers=dispatcher).get_json()["items"]
    assert [c["id"] for c in listed] == [call["id"]]

    # 研判: the district command centre names the lead, two cooperating departments, deadlines.
    clock.advance(minutes=10)
    arrival_due = START + timedelta(hours=2)
    call = whistle(client, district, call, "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[cgzf, scjg],
                   arrival_due_at=arrival_due.isoformat(),
                   completion_due_at=(START + timedelta(hours=48)).isoformat(),
                   note="清单式联合执法")
    assert call["status"] == "accepted"
    assert call["lead_department_id"] == zrzy
    assert [(d["department"]["code"], d["role"], d["requested"]) for d in call["departments"]] == [
        ("D1-ZRZY", "lead", True), ("D1-CGZF", "cooperating", True),
        ("D1-SCJG", "cooperating", False)]
    assert {d["arrival_state"] for d in call["departments"]} == {"pending"}

    # 报到: the lead arrives 50 m away 20 minutes after the judgement; its retry is one arrival.
    clock.advance(minutes=20)
    arrival_id = str(uuid.uuid4())
    first = arrival(client, login("d1.zrzy"), call, north_of(PLACE, 50), arrival_id=arrival_id,
                    device_time="2026-11-24T01:29:00+00:00")
    assert first["flags"] == []
    assert first["arrival"]["within"] is True
    assert 49 < first["arrival"]["distance_m"] < 51
    retried = arrival(client, login("d1.zrzy"), call, north_of(PLACE, 50),
                      arrival_id=arrival_id, expect=200)
    assert retried["arrival"]["id"] == arrival_id
    lead = _dept(retried["call"], "D1-ZRZY")
    assert lead["arrival_state"] == "on_time"
    assert lead["response_minutes"] == 20.0

    # City management checks in 1 km away: recorded and flagged, not its arrival.
    clock.advance(minutes=30)
    far = arrival(client, login("d1.staff"), call, north_of(PLACE, 1000), accuracy_m=30)
    assert far["flags"] == ["outside_radius"]
    assert far["arrival"]["within"] is False
    assert _dept(far["call"], "D1-CGZF")["arrival_state"] == "pending"
    assert _dept(far["call"], "D1-CGZF")["arrivals_outside_radius"] == 1

    # ...and arrives on site after the arrival deadline: late. Market supervision never comes.
    clock.now = START + timedelta(hours=3)
    late = arrival(client, login("d1.staff"), call, north_of(PLACE, 120), accuracy_m=15)
    assert late["arrival"]["late"] is True
    assert late["flags"] == []
    view = late["call"]
    assert _dept(view, "D1-CGZF")["arrival_state"] == "late"
    assert _dept(view, "D1-CGZF")["response_minutes"] == 170.0
    assert _dept(view, "D1-SCJG")["arrival_state"] == "absent"
    assert view["late_department_ids"] == [cgzf]
    assert view["absent_department_ids"] == [scjg]
    assert view["overdue"] is True
    overdue = client.get("/api/v1/whistle-calls?overdue=true", headers=district).get_json()
    assert [c["id"] for c in overdue["items"]] == [call["id"]]

    # Joint action by the lead, with a photo; a retry is one record.
    action_id = str(uuid.uuid4())
    body = {"id": action_id, "description": "联合拆除违章搭建 3 处", "result": "已拆除",
            "photos": [PHOTO]}
    for expect in (201, 200):
        done = whistle(client, login("d1.zrzy"), call, "actions", expect=expect, **body)
        assert done["action"]["id"] == action_id
    # Market supervision says the call was not its business (双考评, the department's half).
    whistle(client, login("d1.handler"), call, "unjustified", reason="不属于市场监管职责")

    # The caller closes and rates each department once.
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=dispatcher).get_json()
    assert len(call["arrivals"]) == 3
    assert len(call["actions"]) == 1
    assert call["photo_status"] == {PHOTO: "missing"}  # not uploaded yet
    clock.advance(hours=5)
    call = whistle(client, dispatcher, call, "close", result="违章搭建已拆除,河道恢复通行")
    assert call["status"] == "closed"
    assert call["closed_on_time"] is True
    assert call["absent_department_ids"] == [scjg]
    assert call["overdue"] is False
    for dept, level in ((zrzy, "satisfied"), (cgzf, "basically_satisfied"),
                        (scjg, "dissatisfied")):
        call = whistle(client, dispatcher, call, "ratings", department_id=dept,
                       satisfaction=level, comment="按时到场" if dept == zrzy else None)
    error = whistle(client, dispatcher, call, "ratings", expect=409, department_id=zrzy,
                    satisfaction="dissatisfied")
    assert error["code"] == "already_rated"
    assert _dept(call, "D1-CGZF")["rating"]["satisfaction"] == "basically_satisfied"
    assert _dept(call, "D1-SCJG")["unjustified"]["reason"] == "不属于市场监管职责"

    # Every change is on the timeline, in order.
    events = client.get(f"/api/v1/whistle-calls/{call['id']}/timeline",
                        headers=district).get_json()
    assert [e["action"] for e in events] == [
        "raise", "accept", "arrive", "arrive", "arrive", "act", "mark_unjustified", "close",
        "rate", "rate", "rate"]
    assert [e["seq"] for e in events] == list(range(1, 12))
    assert events[7]["data"]["absent_department_ids"] == [scjg]
    assert events[7]["data"]["late_department_ids"] == [cgzf]

    # 双考评 across calls: each department's answer, the township's use of the whistle.
    scores = client.get("/api/v1/whistle-calls/evaluation", headers=district).get_json()
    rows = {d["department"]["code"]: d for d in scores["departments"]}
    assert [(c, r["named"], r["lead"], r["on_time"], r["late"], r["absent"])
            for c, r in rows.items()] == [("D1-CGZF", 1, 0, 0, 1, 0), ("D1-SCJG", 1, 0, 0, 0, 1),
                                          ("D1-ZRZY", 1, 1, 1, 0, 0)]
    assert rows["D1-ZRZY"]["mean_response_minutes"] == 20.0
    assert [(c, r["ratings"], r["satisfied"], r["basically_satisfied"], r["dissatisfied"],
             r["satisfaction_rate"]) for c, r in rows.items()] == [
        ("D1-CGZF", 1, 0, 1, 0, 80.0), ("D1-SCJG", 1, 0, 0, 1, 0.0),
        ("D1-ZRZY", 1, 1, 0, 0, 100.0)]
    assert rows["D1-SCJG"]["mean_response_minutes"] is None
    assert rows["D1-SCJG"]["unjustified"] == 1
    [town] = scores["townships"]
    assert (town["township"]["code"], town["raised"], town["closed"], town["closed_on_time"],
            town["marked_unjustified"]) == ("T1", 1, 1, 1, 1)
    other = client.get("/api/v1/whistle-calls/evaluation", headers=login("t2.dispatcher"))
    assert other.get_json() == {"departments": [], "townships": [], "raising_departments": []}


def test_rejected_with_a_reason_then_illegal_moves_answer_409(client, whistle_world, login,
                                                             raise_call):
    call = raise_call("t1.leader", kind="livelihood", description="小区路灯不亮")
    dispatcher = login("t1.dispatcher")
    rejected = whistle(client, dispatcher, call, "reject", reason="属社区物业职责,不需部门报到")
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reason"] == "属社区物业职责,不需部门报到"
    assert rejected["allowed_actions"] == []
    # The grid leader's unit hears of it.
    inbox = client.get("/api/v1/notifications", headers=login("t1.leader")).get_json()["items"]
    assert [n["kind"] for n in inbox] == ["whistle_rejected"]

    error = whistle(client, dispatcher, rejected, "accept", expect=409,
                    lead_department_id=str(whistle_world.units["D1-ZRZY"].id),
                    arrival_due_at="2026-11-24T03:00:00+00:00",
                    completion_due_at="2026-11-25T03:00:00+00:00")
    assert error["code"] == "illegal_transition"
    assert error["details"] == [{"current_status": "rejected", "version": rejected["version"]}]
    error = whistle(client, dispatcher, rejected, "close", expect=409, result="x")
    assert error["code"] == "illegal_transition"
    # A stale version is refused before anything else.
    stale = dict(rejected, version=rejected["version"] - 1)
    error = whistle(client, dispatcher, stale, "close", expect=409, result="x")
    assert error["code"] == "stale_version"
    events = client.get(f"/api/v1/whistle-calls/{call['id']}/timeline", headers=dispatcher)
    assert [e["action"] for e in events.get_json()] == ["raise", "reject"]


def test_stale_version_on_judgement(client, whistle_world, login, raise_call):
    call = raise_call()
    zrzy = str(whistle_world.units["D1-ZRZY"].id)
    whistle(client, login("t1.dispatcher"), call, "reject", reason="重复吹哨")
    error = whistle(client, login("d1.dispatcher"), call, "accept", expect=409,
                    lead_department_id=zrzy, arrival_due_at="2026-11-24T03:00:00+00:00",
                    completion_due_at="2026-11-25T03:00:00+00:00")
    assert error["code"] == "stale_version"


def test_raise_outside_the_township_is_refused(client, whistle_world, login, raise_call):
    for place in ((116.405, 39.905),  # inside T2, not the caller's township
                  (116.36, 39.915)):  # between townships: in no grid
        error = raise_call(at=place, expect=422)
        assert error["code"] == "outside_township"
        assert set(error["errors"]["json"]) == {"lon", "lat"}
    error = raise_call("t2.dispatcher", at=PLACE, expect=422)
    assert error["code"] == "outside_township"
    assert client.get("/api/v1/whistle-calls", headers=login("d1.dispatcher")).get_json()[
        "items"] == []


def test_raise_in_another_crs_lands_in_the_right_grid(client, whistle_world, raise_call):
    gcj = [float(v) for v in from_wgs84(IN_T1_A1[0], IN_T1_A1[1], CRS.GCJ02)]
    call = raise_call(at=gcj, crs="gcj02")
    assert call["grid"]["code"] == "T1-A1"
    assert abs(call["location"]["lon"] - IN_T1_A1[0]) < 1e-6
    assert call["location"]["input_crs"] == "gcj02"
    assert call["location"]["input_lon"] == gcj[0]


def test_who_may_raise_and_what_they_may_name(client, whistle_world, login, raise_call):
    assert raise_call("t1.worker", expect=403)["code"] == "permission_denied"
    assert raise_call("d1.dispatcher", expect=403)["code"] == "permission_denied"
    error = raise_call(department_ids=[str(whistle_world.units["T1-CC"].id)], expect=422)
    assert error["code"] == "unknown_department"
    error = raise_call(linked_case_ids=[str(uuid.uuid4())], expect=422)
    assert error["code"] == "unknown_case"
    error = raise_call(category_code="99.99", expect=404)
    assert error["code"] == "unknown_category"
    # Someone else's request id is not theirs to replay.
    raise_call(client_request_id="whistle-0002")
    error = raise_call("t1.leader", client_request_id="whistle-0002", expect=409)
    assert error["code"] == "idempotency_key_reused"


def test_judgement_checks_its_list(client, whistle_world, login, raise_call, clock):
    call = raise_call()
    zrzy, cgzf = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    district = login("d1.dispatcher")
    soon, later = START + timedelta(hours=1), START + timedelta(hours=24)
    cases = [
        ({"lead_department_id": zrzy, "cooperating_department_ids": [zrzy]},
         "cooperating_department_ids"),
        ({"lead_department_id": zrzy,
          "arrival_due_at": (START - timedelta(minutes=1)).isoformat()}, "arrival_due_at"),
        ({"lead_department_id": zrzy,
          "completion_due_at": (soon - timedelta(minutes=1)).isoformat()}, "completion_due_at"),
        ({"lead_department_id": str(whistle_world.units["T1"].id)}, "lead_department_id"),
    ]
    for body, field in cases:
        body = {"arrival_due_at": soon.isoformat(), "completion_due_at": later.isoformat(),
                "cooperating_department_ids": [cgzf], **body}
        error = whistle(client, district, call, "accept", expect=422, **body)
        assert field in error["errors"]["json"], error
    # Another district's command centre does not even see it.
    error = whistle(client, login("d2.dispatcher"), call, "accept", expect=404,
                    lead_department_id=zrzy, arrival_due_at=soon.isoformat(),
                    completion_due_at=later.isoformat())
    assert error["code"] == "whistle_call_not_found"


def test_only_named_departments_report_and_act(client, whistle_world, login, raise_call):
    zrzy = str(whistle_world.units["D1-ZRZY"].id)
    cgzf = str(whistle_world.units["D1-CGZF"].id)
    call = raise_call(department_ids=[cgzf])
    # Requested, not yet named: the call does not exist for the department (need to know).
    error = arrival(client, login("d1.staff"), call, PLACE, expect=404)
    assert error["code"] == "whistle_call_not_found"
    call = whistle(client, login("t1.dispatcher"), call, "accept", lead_department_id=zrzy,
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=8)).isoformat())
    # A radius set by the judgement: 80 m away with ±10 m is outside 50 m.
    small = whistle(client, login("t1.dispatcher"), raise_call(), "accept",
                    lead_department_id=zrzy, arrival_radius_m=50,
                    arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                    completion_due_at=(START + timedelta(hours=8)).isoformat())
    assert small["arrival_radius_m"] == 50.0
    outside = arrival(client, login("d1.zrzy"), small, north_of(PLACE, 80), accuracy_m=10)
    assert outside["flags"] == ["outside_radius"]
    assert outside["arrival"]["tolerance_m"] == 60.0
    inside = arrival(client, login("d1.zrzy"), small, north_of(PLACE, 55), accuracy_m=10)
    assert inside["flags"] == []
    # City management was requested but not named: the call does not exist for it.
    error = arrival(client, login("d1.staff"), call, PLACE, expect=404)
    assert error["code"] == "whistle_call_not_found"
    error = whistle(client, login("d1.staff"), call, "actions", expect=404,
                    id=str(uuid.uuid4()), description="x")
    assert error["code"] == "whistle_call_not_found"
    # Market supervision was neither: the call does not exist for it.
    assert arrival(client, login("d1.handler"), call, PLACE, expect=404)["code"] == (
        "whistle_call_not_found")
    # Only the caller closes.
    error = whistle(client, login("d1.zrzy"), call, "close", expect=403, result="x")
    assert error["code"] == "not_caller"


def test_refusals_after_judgement_retries_and_ratings(client, whistle_world, login,
                                                       raise_call, clock):
    zrzy, cgzf, scjg = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF", "D1-SCJG"))
    dispatcher = login("t1.dispatcher")
    call = whistle(client, dispatcher, raise_call(department_ids=[zrzy, cgzf]), "accept",
                   lead_department_id=zrzy, cooperating_department_ids=[cgzf],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=8)).isoformat())
    # An arrival id is the phone's: another person (or another call) reusing it is refused.
    reused = str(uuid.uuid4())
    arrival(client, login("d1.zrzy"), call, PLACE, arrival_id=reused)
    error = arrival(client, login("d1.staff"), call, PLACE, arrival_id=reused, expect=409)
    assert error["code"] == "idempotency_key_reused"
    # 双考评, the department's half, once.
    whistle(client, login("d1.staff"), call, "unjustified", reason="非本部门职责")
    error = whistle(client, login("d1.staff"), call, "unjustified", expect=409, reason="again")
    assert error["code"] == "already_marked"
    # The caller's half: only named departments, on the 满意 / 基本满意 / 不满意 scale (stars
    # are gone: the seeds rate so, and nobody read them).
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=dispatcher).get_json()
    call = whistle(client, dispatcher, call, "close", result="已处置")
    error = whistle(client, dispatcher, call, "ratings", expect=422, department_id=scjg,
                    satisfaction="satisfied")
    assert error["code"] == "unknown_department"
    error = whistle(client, dispatcher, call, "ratings", expect=422, department_id=zrzy,
                    satisfaction="very_satisfied")
    assert "satisfaction" in error["errors"]["json"]
    error = whistle(client, dispatcher, call, "ratings", expect=422, department_id=zrzy,
                    timeliness=5, effect=5)
    assert set(error["errors"]["json"]) == {"satisfaction", "timeliness", "effect"}
