"""Residents' contact data leaves closed cases after the retention period (server.retention):
names, phones and Open311 contact fields go, a closed month's figures stay the same, the run
is in the trail, phones that hold a case drop the data, and two runs erase once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.cases.models import Case
from server.cases.rules import CaseStatus
from server.core.clock import now_utc
from server.core.trail import AdminChange
from server.jobs import resident_data_job
from server.open311.models import Open311Request
from server.reports.repeats import ERASED_KEY
from server.retention import count_due, erase_resident_data
from tests.api.test_insights_unit_stats import NOV, build_month, later_activity
from tests.api.test_sync_pull import Phone
from tests.fixtures.cases import act
from tests.fixtures.insights import get, utc
from tests.fixtures.open311 import fms_form

DAYS = 180.0


def figures(client, headers, world) -> dict:  # noqa: ANN001
    """Every evaluation answer about T1's November, as JSON."""
    t1, d1 = str(world.units["T1"].id), str(world.units["D1"].id)
    return {
        "scores": get(client, headers, "evaluation/scores", unit_id=t1, period=NOV),
        "rankings": get(client, headers, "evaluation/rankings", district_id=d1, period=NOV),
        "unit_stats": get(client, headers, "evaluation/unit-stats", unit_id=t1, period=NOV),
        "double_no": get(client, headers, "evaluation/double-no", unit_id=t1, period=NOV),
        "repeats": get(client, headers, "evaluation/repeat-complaints", unit_id=t1, period=NOV),
    }


def _drop_generated_at(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"generated_at", "as_of"}}


def test_a_closed_months_figures_are_the_same_after_erasure(
        client, clock_login, world, clock, catalogue, app, db_session):
    c = build_month(client, clock_login, clock)
    later_activity(client, clock_login, clock, c)
    clock.now = utc(2026, 12, 3, 1)
    before = figures(client, clock_login("d1.dispatcher"), world)
    closed = {k for k, case in c.items() if db_session.get(Case, uuid.UUID(case["id"])).closed_at}
    assert {1, 2} <= closed  # the two calls from one phone are both closed

    # 200 days on: every case closed in November or December is past 180 days.
    later = utc(2027, 6, 21, 1)
    due = count_due(db_session, now=later, retention_days=DAYS)
    assert due.cases == len(closed)
    done = erase_resident_data(db_session, None, now=later, retention_days=DAYS, note="test")
    assert (done.cases, done.skipped) == (len(closed), False)

    clock.now = later
    after = figures(client, clock_login("d1.dispatcher"), world)
    for name in ("scores", "rankings", "unit_stats", "double_no"):
        assert _drop_generated_at(after[name]) == _drop_generated_at(before[name]), name
    # The repeat by phone is still one group of c1 and c2; its phone is gone.
    repeat = [(g["by"], g["cases"], g["case_numbers"]) for g in after["repeats"]["items"]]
    assert repeat == [(g["by"], g["cases"], g["case_numbers"])
                      for g in before["repeats"]["items"]]
    assert after["repeats"]["items"][0]["key"] == ERASED_KEY

    shown = client.get(f"/api/v1/cases/{c[1]['id']}", headers=clock_login("t1.dispatcher"))
    assert shown.get_json()["resident"] == {"view": "shown", "name": None, "phone": None}
    assert shown.get_json()["status"] == "closed"
    timeline = client.get(f"/api/v1/cases/{c[1]['id']}/timeline",
                          headers=clock_login("t1.dispatcher"))
    assert timeline.status_code == 200
    assert len(timeline.get_json()) == db_session.get(Case, uuid.UUID(c[1]["id"])).event_count
    open_case = db_session.get(Case, uuid.UUID(c[7]["id"]))  # completed, never closed
    assert (open_case.resident_name, open_case.resident_phone) == ("张三", "13900000017")
    erased = db_session.get(Case, uuid.UUID(c[1]["id"]))
    assert erased.resident_data_erased_at == later
    assert erased.resident_phone is None
    assert erased.resident_ref

    trail = client.get("/api/v1/admin-changes", query_string={"action": "resident_data.erased"},
                       headers=clock_login("auditor")).get_json()["items"]
    assert len(trail) == 1
    assert trail[0]["actor_username"] == "system"
    assert trail[0]["after"]["cases"] == len(closed)
    assert trail[0]["after"]["retention_days"] == DAYS
    # Nothing more to do: a second run erases nothing and writes no trail row.
    assert erase_resident_data(db_session, None, now=later, retention_days=DAYS).cases == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AdminChange).where(
        AdminChange.action == "resident_data.erased")) == 1


def _closed_case(client, login, file_case, **fields) -> dict:  # noqa: ANN001, ANN003
    case = file_case(**fields)
    township, district = login("t1.dispatcher"), login("d1.dispatcher")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已处理")
    case = act(client, district, case, "callback", resolved=True, satisfaction="satisfied")
    assert case["status"] == "closed"
    return case


def test_a_phone_that_holds_the_case_receives_it_without_the_contact(
        client, world, login, file_case, db_session):
    case = _closed_case(client, login, file_case)
    still_open = file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    assert phone.db["cases"][case["id"]]["resident_name"] == "张*"  # masked, as before

    erase_resident_data(db_session, None, now=now_utc() + timedelta(days=2), retention_days=1)

    seen = phone.sync()
    assert seen["cases"]["updated"] == {case["id"]}
    held = phone.db["cases"][case["id"]]
    assert (held["resident_name"], held["resident_phone"]) == (None, None)
    assert held["version"] == case["version"] + 1
    assert phone.db["cases"][still_open["id"]]["resident_phone"] == "138****1234"


def test_open311_contact_fields_go_with_the_case(client, world, open311_key, db_session, app):
    form = fms_form(open311_key, device_id="phone-1", account_id="fms-42")
    posted = client.post("/open311/v2/requests.json", data=form)
    assert posted.status_code == 201, posted.data
    request = db_session.scalar(sa.select(Open311Request))
    assert (request.email, request.device_id) == ("zhangsan@example.cn", "phone-1")
    case = db_session.get(Case, request.case_id)
    assert case.resident_name == "张三"
    # Closed long ago (as a callback would close it), straight in the table.
    db_session.execute(sa.update(Case).where(Case.id == case.id).values(
        status=CaseStatus.CLOSED, closed_at=now_utc() - timedelta(days=DAYS + 1)))
    db_session.commit()  # (a savepoint) before the job's own session works on the connection
    done = resident_data_job(app, note="test")
    assert (done.cases, done.open311_requests, done.skipped) == (1, 1, False)
    db_session.expire_all()
    request = db_session.get(Open311Request, case.id)
    assert (request.email, request.device_id, request.account_id, request.attributes) == \
        (None, None, None, {})
    case = db_session.get(Case, request.case_id)
    assert (case.resident_name, case.resident_phone) == (None, None)
    # The Open311 GET still answers the request, with its status.
    answer = client.get(f"/open311/v2/requests/{case.number}.json")
    assert answer.status_code == 200
    assert answer.get_json()[0]["status"] == "closed"


def test_the_command_counts_on_a_dry_run_and_erases_otherwise(
        client, world, login, file_case, db_session, app):
    case = _closed_case(client, login, file_case)
    db_session.execute(sa.update(Case).where(Case.id == uuid.UUID(case["id"])).values(
        closed_at=now_utc() - timedelta(days=3)))
    db_session.commit()  # (a savepoint) before the command's own session works on it
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["erase-resident-data", "--dry-run", "--days", "2"])
    assert dry.exit_code == 0, dry.output
    assert "would erase the resident data of 1 cases" in dry.output
    assert db_session.get(Case, uuid.UUID(case["id"])).resident_phone == "13812341234"
    done = runner.invoke(args=["erase-resident-data", "--days", "2"])
    assert done.exit_code == 0, done.output
    assert "erased the resident data of 1 cases" in done.output
    db_session.expire_all()
    assert db_session.get(Case, uuid.UUID(case["id"])).resident_phone is None
    change = db_session.scalar(sa.select(AdminChange).where(
        AdminChange.action == "resident_data.erased"))
    assert change.note == "command line"
    again = runner.invoke(args=["erase-resident-data", "--days", "2"])
    assert "erased the resident data of 0 cases" in again.output


def test_retention_zero_keeps_everything(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "RESIDENT_DATA_RETENTION_DAYS", 0.0)
    assert resident_data_job(app).cases == 0
    refused = app.test_cli_runner().invoke(args=["erase-resident-data"])
    assert refused.exit_code != 0
    assert "--days" in refused.output
    with pytest.raises(ValueError, match="positive"):
        erase_resident_data(db_session, None, now=now_utc(), retention_days=0)


def test_a_repeat_by_phone_stays_one_group_while_its_cases_are_erased_one_by_one(
        client, clock_login, world, clock, catalogue, db_session):
    c = build_month(client, clock_login, clock)  # c1 closed 3 November, c2 on 6 November
    t1 = str(world.units["T1"].id)

    def phone_groups() -> list[tuple[str, int]]:
        body = get(client, clock_login("t1.dispatcher"), "evaluation/repeat-complaints",
                   unit_id=t1, period=NOV)
        return [(g["key"], g["cases"]) for g in body["items"] if g["by"] == "phone"]

    clock.now = utc(2026, 12, 1, 1)
    assert phone_groups() == [("13900000001", 2)]
    first = utc(2026, 11, 5) + timedelta(days=DAYS)  # past c1's retention, not c2's
    erase_resident_data(db_session, None, now=first, retention_days=DAYS)
    one, two = (db_session.get(Case, uuid.UUID(c[k]["id"])) for k in (1, 2))
    assert (one.resident_phone, two.resident_phone) == (None, "13900000001")
    assert one.resident_ref == two.resident_ref
    clock.now = first
    assert phone_groups() == [("13900000001", 2)]  # c2 still has the phone
    second = utc(2026, 11, 7) + timedelta(days=DAYS)
    erase_resident_data(db_session, None, now=second, retention_days=DAYS)
    db_session.expire_all()
    assert db_session.get(Case, uuid.UUID(c[2]["id"])).resident_phone is None
    clock.now = second
    assert phone_groups() == [(ERASED_KEY, 2)]


def test_the_residents_own_words_go_and_the_officials_notes_stay(
        client, world, login, file_case, db_session, open311_key):
    from server.cases.models import CaseEvent, CaseRating
    from server.supervision.models import Notification

    township, district = login("t1.dispatcher"), login("d1.dispatcher")
    case = file_case(description="302室王五每晚在楼道堆放杂物，电话13900001111。")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已清理楼道")
    case = act(client, district, case, "callback", resolved=False, satisfaction="dissatisfied",
               comment="王五又堆回去了，我是李四")
    case = act(client, township, case, "complete", result="已再次清理并告知物业")
    case = act(client, district, case, "callback", resolved=True, satisfaction="satisfied",
               comment="谢谢，李四")
    assert case["status"] == "closed"
    posted = client.post("/open311/v2/requests.json", data=fms_form(open311_key))
    assert posted.status_code == 201, posted.data
    request = db_session.scalar(sa.select(Open311Request))
    db_session.execute(sa.update(Case).where(Case.id == request.case_id).values(
        status=CaseStatus.CLOSED, closed_at=now_utc()))
    open311_title = db_session.get(Case, request.case_id).title
    assert "：" in open311_title

    erase_resident_data(db_session, None, now=now_utc() + timedelta(days=2), retention_days=1)
    db_session.expire_all()

    case_id = uuid.UUID(case["id"])
    erased = db_session.get(Case, case_id)
    assert (erased.description, erased.title) == ("", "门口占道摆摊")  # the operator's title
    assert db_session.get(Case, request.case_id).title == open311_title.split("：")[0]
    ratings = db_session.scalars(sa.select(CaseRating).where(CaseRating.case_id == case_id))
    assert [(r.satisfaction.value, r.comment) for r in ratings] == [
        ("dissatisfied", None), ("satisfied", None)]
    events = db_session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.seq)).all()
    callbacks = [e.data for e in events if e.action == "callback"]
    assert [(d["comment"], d["satisfaction"]) for d in callbacks] == [
        (None, "dissatisfied"), (None, "satisfied")]
    assert [e.data["result"] for e in events if e.action == "complete"] == [
        "已清理楼道", "已再次清理并告知物业"]  # the officials' work text stays
    assert erased.result == "已再次清理并告知物业"
    notices = db_session.scalars(sa.select(Notification).where(
        Notification.subject_id == case_id, Notification.kind == "case_rehandle")).all()
    assert [n.body for n in notices] == [""]
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=district).get_json()
    assert shown["description"] == ""
