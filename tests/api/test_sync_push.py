"""Push through the HTTP API with a phone's token: each operation exactly once, conflicts with
what happened while the phone was offline, clocks, and the dispatchers' review list."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from server.auth.models import Device
from server.cases.models import Case, CaseEvent
from sync.ledger import SyncOperation
from sync.photos import PhotoLink
from tests.api.test_auth import assert_error
from tests.fixtures.cases import IN_T1_A1, act

SHA = "ab" * 32
_seq = itertools.count(1)


def now() -> datetime:
    return datetime.now(UTC)


def op(name: str, *, device_time: datetime | None = None, seq: int | None = None,
       base_version: int | None = None, **args) -> dict:  # noqa: ANN003
    return {"id": str(uuid.uuid4()), "seq": next(_seq) if seq is None else seq, "name": name,
            "args": {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in args.items()},
            "base_version": base_version, "device_time": (device_time or now()).isoformat()}


@pytest.fixture
def phone(login):  # noqa: ANN001, ANN201
    """phone(username) -> headers of a token bound to a device of that user."""
    devices: dict[str, dict[str, str]] = {}

    def _phone(username: str = "t1.worker") -> dict[str, str]:
        if username not in devices:
            devices[username] = login(username, device_id=str(uuid.uuid4()))
        return devices[username]

    return _phone


def push(client, headers, *operations, sent_at: datetime | None = None) -> dict:  # noqa: ANN001
    response = client.post("/api/v1/sync/push", headers=headers, json={
        "sent_at": (sent_at or now()).isoformat(), "operations": list(operations)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def statuses(answer: dict) -> list[tuple[str, str | None]]:
    return [(r["status"], r["code"]) for r in answer["results"]]


def timeline(client, login, case_id: str) -> list[dict]:  # noqa: ANN001
    return client.get(f"/api/v1/cases/{case_id}/timeline",
                      headers=login("t1.dispatcher")).get_json()


def rejected(client, headers) -> list[dict]:  # noqa: ANN001
    return client.get("/api/v1/sync/rejected", headers=headers).get_json()["items"]


def backdate(db_session, case_id: str, hours: float) -> None:  # noqa: ANN001
    """Move the case's history back in time, as if it had happened while the phone was off."""
    for event in db_session.scalars(sa.select(CaseEvent).where(
            CaseEvent.case_id == uuid.UUID(case_id))):
        event.at -= timedelta(hours=hours)
    db_session.flush()


def test_every_operation_is_applied_through_the_domain_services(
        client, world, login, phone, file_case, db_session):
    case = file_case()  # in T1-A1, led by township T1: the worker's community is under it
    other = file_case()
    due = datetime.fromisoformat(case["completion_due_at"]) + timedelta(days=3)
    answer = push(client, phone(),
                  op("accept_case", case_id=case["id"], base_version=case["version"]),
                  op("arrive_on_site", case_id=case["id"], lon=IN_T1_A1[0], lat=IN_T1_A1[1] + 0.001,
                     accuracy_m=8),
                  op("record_contact", case_id=case["id"], note="电话联系了居民"),
                  op("add_note", case_id=case["id"], note="摊贩已劝离"),
                  op("attach_photo", case_id=case["id"], sha256=SHA),
                  op("request_extension", case_id=case["id"], new_due_at=due.isoformat(),
                     reason="等待城管配合"),
                  op("complete_task", case_id=case["id"], result="已清理占道摊位"),
                  op("accept_case", case_id=other["id"]),
                  op("request_return", case_id=other["id"], reason="不属于本社区"),
                  op("report_incident", appeal_type="report", category_code="01.01",
                     title="路边占道", description="巡查发现占道经营", lon=IN_T1_A1[0],
                     lat=IN_T1_A1[1], photos=[SHA]))
    assert statuses(answer) == [("applied", None)] * 10, answer
    results = [r["result"] for r in answer["results"]]
    assert results[1]["distance_m"] == pytest.approx(111, abs=1)
    assert results[4]["photo_status"] == "missing"  # linked now, uploaded later
    assert (results[6]["status"], results[6]["on_time"]) == ("completed", True)
    assert results[8]["status"] == "return_requested"
    reported = db_session.get(Case, uuid.UUID(results[9]["case_id"]))
    assert (reported.number, reported.channel.value) == (results[9]["number"], "patrol")
    assert reported.client_request_id == answer["results"][9]["id"]

    events = timeline(client, login, case["id"])
    assert [(e["action"], e["to_status"]) for e in events[2:]] == [
        ("accept", "accepted"), ("arrive", "in_progress"), ("contact", "in_progress"),
        ("note", "in_progress"), ("request_extension", "in_progress"),
        ("complete", "completed")]
    assert all(e["actor_username"] == "t1.worker" for e in events[2:])
    assert events[3]["data"]["accuracy_m"] == 8
    links = db_session.scalars(sa.select(PhotoLink.subject_id).where(PhotoLink.sha256 == SHA))
    assert set(links) == {uuid.UUID(case["id"]), reported.id}


def test_arrival_records_the_point_its_distance_and_flags_a_far_one(
        client, world, login, phone, file_case):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    far = push(client, phone(), op("arrive_on_site", case_id=case["id"], lon=IN_T1_A1[0] + 0.01,
                                   lat=IN_T1_A1[1], accuracy_m=30, crs="wgs84"))
    [result] = far["results"]
    assert (result["status"], result["flags"]) == ("applied", ["far_from_case"])
    assert result["result"]["distance_m"] == pytest.approx(855, abs=5)
    arrival = timeline(client, login, case["id"])[-1]
    assert (arrival["action"], arrival["from_status"], arrival["to_status"]) == \
        ("arrive", "accepted", "in_progress")
    assert arrival["data"]["lon"] == pytest.approx(IN_T1_A1[0] + 0.01)
    # Not accepted yet: an arrival is refused, and says why.
    fresh = file_case()
    [refused] = push(client, phone(), op("arrive_on_site", case_id=fresh["id"], lon=IN_T1_A1[0],
                                         lat=IN_T1_A1[1]))["results"]
    assert (refused["status"], refused["code"]) == ("rejected", "case_not_accepted")
    outside = push(client, phone(), op("arrive_on_site", case_id=case["id"], lon=2.35, lat=48.85))
    assert statuses(outside) == [("rejected", "coordinates_outside_china")]


def test_one_bad_operation_does_not_block_the_batch(client, world, login, phone, file_case):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    answer = push(client, phone(),
                  op("add_note", case_id=case["id"], note="第一条"),
                  op("add_note", case_id=uuid.uuid4(), note="没有这个案件"),
                  op("add_note", case_id=case["id"]),
                  op("teleport", case_id=case["id"]),
                  op("complete_task", case_id=case["id"], result="办结"))
    assert statuses(answer) == [
        ("applied", None), ("rejected", "case_not_found"), ("rejected", "invalid_arguments"),
        ("rejected", "unknown_operation"), ("applied", None)]
    assert answer["results"][2]["result"]["errors"] == {
        "args": {"note": ["Missing data for required field."]}}
    assert all(r["message"] for r in answer["results"][1:4])
    notes = [e["data"].get("note") for e in timeline(client, login, case["id"])]
    assert "第一条" in notes


def test_a_replayed_batch_after_a_lost_response_changes_nothing(
        client, world, login, phone, file_case, db_session):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    batch = [op("report_incident", appeal_type="report", title="井盖缺失",
                description="路口井盖缺失", lon=IN_T1_A1[0], lat=IN_T1_A1[1]),
             op("add_note", case_id=case["id"], note="已到现场"),
             op("request_return", case_id=case["id"], reason="x" * 3000),
             op("complete_task", case_id=case["id"], result="已处理")]
    first = push(client, phone(), *batch)
    assert statuses(first) == [("applied", None), ("applied", None),
                               ("rejected", "invalid_arguments"), ("applied", None)]

    def counts() -> tuple[int, int, int]:
        return (db_session.scalar(sa.select(sa.func.count()).select_from(Case)),
                db_session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)),
                db_session.scalar(sa.select(sa.func.count()).select_from(SyncOperation)))

    before = counts()
    again = push(client, phone(), *batch)
    assert counts() == before
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 4
    for original, replay in zip(first["results"], again["results"], strict=True):
        assert replay["original_status"] == original["status"]
        assert {k: replay[k] for k in ("id", "code", "message", "result", "flags")} == \
            {k: original[k] for k in ("id", "code", "message", "result", "flags")}
    # The same operation twice in one batch is applied once.
    note = op("add_note", case_id=case["id"], note="重复")
    twice = push(client, phone(), note, note)
    assert [r["status"] for r in twice["results"]] == ["rejected", "duplicate"]  # completed now


def test_a_reported_incident_retried_creates_one_case_and_its_id_names_it_until_pulled(
        client, world, login, phone, catalogue, db_session):
    report = op("report_incident", appeal_type="report", category_code="01.01", title="占道",
                description="占道经营", lon=IN_T1_A1[0], lat=IN_T1_A1[1])
    first = push(client, phone(), report)["results"][0]
    again = push(client, phone(), report)["results"][0]
    assert (first["status"], again["status"], again["original_status"]) == \
        ("applied", "duplicate", "applied")
    assert again["result"] == first["result"]
    created = db_session.scalars(sa.select(Case).where(
        Case.client_request_id == report["id"])).all()
    assert [str(c.id) for c in created] == [first["result"]["case_id"]]
    # The phone does not know the case's id yet: the report's id stands for it.
    follow_up = push(client, phone(), op("accept_case", case_id=report["id"]),
                     op("add_note", case_id=report["id"], note="补充情况"))
    assert statuses(follow_up) == [("applied", None), ("applied", None)]
    assert follow_up["results"][1]["result"]["case_id"] == first["result"]["case_id"]
    # Nobody else's phone can use that alias.
    other = push(client, phone("t1.leader"), op("add_note", case_id=report["id"], note="x"))
    assert statuses(other) == [("rejected", "case_not_found")]


def test_a_device_number_used_twice_rejects_the_second_operation(
        client, world, login, phone, file_case, db_session):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    first = op("add_note", case_id=case["id"], note="一", seq=7)
    reused = op("add_note", case_id=case["id"], note="二", seq=7)
    answer = push(client, phone(), first, reused)
    assert statuses(answer) == [("applied", None), ("rejected", "sequence_reused")]
    assert answer["results"][1]["result"]["details"] == [{"device_seq": 7, "used_by": first["id"]}]
    later = op("add_note", case_id=case["id"], note="三", seq=7)
    assert statuses(push(client, phone(), later)) == [("rejected", "sequence_reused")]
    assert [r["status"] for r in push(client, phone(), reused)["results"]] == ["duplicate"]
    notes = [e["data"].get("note") for e in timeline(client, login, case["id"])]
    assert [n for n in notes if n in ("一", "二", "三")] == ["一"]
    kept = db_session.get(SyncOperation, uuid.UUID(reused["id"]))
    assert (kept.status.value, kept.device_seq) == ("rejected", None)


def test_an_offline_note_on_a_case_redispatched_since_is_applied_and_flagged(
        client, world, login, phone, file_case, db_session):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    backdate(db_session, case["id"], hours=2)  # accepted two hours ago
    case = act(client, login("t1.dispatcher"), case, "dispatch",
               lead_unit_id=str(world.units["D1-CGZF"].id))  # re-dispatched just now
    offline = now() - timedelta(hours=1)
    answer = push(client, phone(),
                  op("add_note", case_id=case["id"], note="离线时写的", device_time=offline),
                  op("arrive_on_site", case_id=case["id"], lon=IN_T1_A1[0], lat=IN_T1_A1[1],
                     device_time=offline),
                  op("complete_task", case_id=case["id"], result="已办结", device_time=offline),
                  op("add_note", case_id=case["id"], note="太早了",
                     device_time=offline - timedelta(hours=3)))
    assert statuses(answer) == [("applied", None), ("applied", None),
                                ("rejected", "case_reassigned"), ("rejected", "case_reassigned")]
    assert answer["results"][0]["flags"] == ["case_reassigned_since"]
    assert "sent to another unit" in answer["results"][2]["message"]
    events = timeline(client, login, case["id"])
    note = next(e for e in events if e["data"].get("note") == "离线时写的")
    assert (note["action"], note["to_status"], note["data"]["late"]) == ("note", "dispatched", True)
    assert (events[-1]["action"], events[-1]["to_status"]) == ("arrive", "dispatched")


def test_a_department_that_lost_a_case_still_gets_its_offline_facts_in(
        client, world, login, phone, file_case, db_session):
    case = file_case(category_code="02.01")  # led by market supervision (D1-SCJG)
    case = act(client, login("d1.handler"), case, "accept")
    backdate(db_session, case["id"], hours=2)
    act(client, login("d1.dispatcher"), case, "dispatch",
        lead_unit_id=str(world.units["D1-CGZF"].id))
    assert client.get(f"/api/v1/cases/{case['id']}", headers=login("d1.handler")).status_code == 404
    answer = push(client, phone("d1.handler"),
                  op("add_note", case_id=case["id"], note="抽检完成",
                     device_time=now() - timedelta(hours=1)),
                  op("add_note", case_id=case["id"], note="太早",
                     device_time=now() - timedelta(hours=5)))
    assert statuses(answer) == [("applied", None), ("rejected", "case_not_found")]
    assert answer["results"][0]["flags"] == ["case_reassigned_since"]


def test_completing_a_case_closed_since_is_rejected_and_listed_for_dispatchers(
        client, world, login, phone, file_case, db_session):
    dispatcher = login("t1.dispatcher")
    case = act(client, dispatcher, file_case(), "accept")
    case = act(client, dispatcher, case, "hand-down",
               community_unit_id=str(world.units["T1-C1"].id), reason="群众评议")
    act(client, login("t1.leader"), case, "review", outcome="mediated", note="调解成功")
    answer = push(client, phone(), op("complete_task", case_id=case["id"], result="已处理"))
    assert statuses(answer) == [("rejected", "case_closed")]
    assert answer["results"][0]["message"].startswith(f"Case {case['number']} has been closed.")
    lost = push(client, phone(), op("add_note", case_id=uuid.uuid4(), note="?"))
    assert statuses(lost) == [("rejected", "case_not_found")]
    # The test client's requests share one clock reading: make the first push the older.
    db_session.get(SyncOperation, uuid.UUID(answer["results"][0]["id"])).received_at -= \
        timedelta(minutes=1)
    db_session.flush()

    listed = client.get("/api/v1/sync/rejected", headers=dispatcher).get_json()
    assert [(i["code"], i["user"]["username"]) for i in listed["items"]] == [
        ("case_not_found", "t1.worker"), ("case_closed", "t1.worker")]  # newest first
    closed = listed["items"][1]
    assert closed["case"] == {"id": case["id"], "number": case["number"]}
    assert closed["args"] == {"case_id": case["id"], "result": "已处理"}
    page = client.get("/api/v1/sync/rejected?limit=1", headers=dispatcher).get_json()
    rest = client.get(f"/api/v1/sync/rejected?limit=1&cursor={page['next_cursor']}",
                      headers=dispatcher).get_json()
    assert [i["id"] for i in page["items"] + rest["items"]] == [i["id"] for i in listed["items"]]
    assert rest["next_cursor"] is None
    for outsider in ("t2.dispatcher", "d2.dispatcher", "t2.worker"):
        assert rejected(client, login(outsider)) == []
    assert len(rejected(client, login("t1.worker"))) == 2
    bad = client.get("/api/v1/sync/rejected?cursor=nope", headers=dispatcher)
    assert_error(bad, 422, "invalid_cursor")


def test_a_rejected_report_masks_the_resident_for_reviewers_who_are_not_dispatchers(
        client, world, login, phone, catalogue):
    answer = push(client, phone(), op("report_incident", appeal_type="report", title="t",
                                      description="d", category_code="99.99",
                                      resident_name="张三", resident_phone="13812341234"))
    assert statuses(answer) == [("rejected", "unknown_category")]
    [for_dispatcher] = rejected(client, login("t1.dispatcher"))
    [for_leader] = rejected(client, login("t1.leader"))
    assert for_dispatcher["args"]["resident_name"] == "张三"
    assert for_leader["args"]["resident_name"] == "张*"
    assert for_leader["args"]["resident_phone"] == "138****1234"


def test_the_clock_skew_is_estimated_kept_on_the_device_and_flagged(
        client, world, login, phone, file_case, db_session):
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    headers = phone()
    ahead = push(client, headers, op("add_note", case_id=case["id"], note="钟快了一小时",
                                     device_time=now() + timedelta(hours=1)),
                 sent_at=now() + timedelta(hours=1))
    assert ahead["clock_skew_s"] == pytest.approx(3600, abs=30)
    assert ahead["results"][0]["flags"] == ["clock_skew_large"]
    device = db_session.scalars(sa.select(Device).where(
        Device.user_id == world.users["t1.worker"].id)).one()
    assert device.clock_skew_s == pytest.approx(3600, abs=30)
    stored = db_session.get(SyncOperation, uuid.UUID(ahead["results"][0]["id"]))
    assert abs((stored.acted_at - stored.received_at).total_seconds()) < 30  # corrected
    assert stored.device_time - stored.received_at > timedelta(minutes=59)  # as sent

    fine = push(client, headers, op("add_note", case_id=case["id"], note="准了"),
                op("add_note", case_id=case["id"], note="未来",
                   device_time=now() + timedelta(hours=2)))
    assert abs(fine["clock_skew_s"]) < 30
    assert [r["flags"] for r in fine["results"]] == [[], ["device_time_after_sending"]]
    stored = db_session.get(SyncOperation, uuid.UUID(fine["results"][1]["id"]))
    assert stored.acted_at == stored.received_at  # never after it arrived
    db_session.expire_all()
    assert abs(db_session.get(Device, (device.user_id, device.id)).clock_skew_s) < 30


def test_push_needs_a_device_token_and_a_bounded_batch(client, world, login, phone):
    body = {"sent_at": now().isoformat(), "operations": []}
    assert_error(client.post("/api/v1/sync/push", headers=login("t1.worker"), json=body),
                 403, "device_token_required")
    assert client.post("/api/v1/sync/push", headers=phone(), json=body).get_json()["results"] == []
    body["operations"] = [op("add_note", case_id=uuid.uuid4(), note="x") for _ in range(501)]
    assert_error(client.post("/api/v1/sync/push", headers=phone(), json=body),
                 413, "too_many_operations")
    naive = {"sent_at": "2026-11-23T08:00:00", "operations": []}
    body = assert_error(client.post("/api/v1/sync/push", headers=phone(), json=naive),
                        422, "validation_failed")
    assert "sent_at" in body["errors"]["json"]


def test_a_cooperating_department_that_never_led_the_case_is_refused_plainly(
        client, world, login, phone, file_case):
    case = file_case(category_code="02.01")  # led by market supervision (D1-SCJG)
    case = act(client, login("d1.dispatcher"), case, "dispatch",
               lead_unit_id=str(world.units["D1-SCJG"].id),
               cooperating_unit_ids=[str(world.units["D1-CGZF"].id)])
    answer = push(client, phone("d1.staff"),  # city management: cooperates, does not lead
                  op("accept_case", case_id=case["id"]),
                  op("complete_task", case_id=case["id"], result="已配合处理"))
    assert statuses(answer) == [("rejected", "not_lead_unit"),
                                ("rejected", "illegal_transition")]
    assert not any("another unit" in r["message"] for r in answer["results"])
