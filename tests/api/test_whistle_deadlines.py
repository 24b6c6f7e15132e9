"""A whistle call's arrival and completion deadlines go through the exactly-once reminders of
``server.supervision``, fired by the scheduler's own job: arriving closes that department's
arrival deadline, closing the call its completion deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.jobs import fire_reminders_job
from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind, DeadlineStatus
from tests.fixtures.whistle import PLACE, START, arrival, north_of, whistle


@pytest.fixture
def fire(app, clock, monkeypatch):  # noqa: ANN001, ANN201
    """fire(hours) -> reminders sent by one run of the scheduler job at START + hours."""
    monkeypatch.setattr("server.jobs.now_utc", lambda: clock.now)

    def _fire(hours: float) -> int:
        clock.now = START + timedelta(hours=hours)
        return fire_reminders_job(app)

    return _fire


def inbox(client, headers) -> list[dict]:  # noqa: ANN001
    body = client.get("/api/v1/notifications?limit=200", headers=headers).get_json()
    assert "items" in body, body
    return body["items"]


def test_arrival_and_completion_reminders_fire_once(client, whistle_world, login, raise_call,
                                                    clock, fire, db_session):
    zrzy, cgzf = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    call = raise_call()
    call = whistle(client, login("d1.dispatcher"), call, "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[cgzf],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=10)).isoformat())
    staff, centre = login("d1.staff"), login("d1.dispatcher")
    assert [n["kind"] for n in inbox(client, staff)] == ["whistle_assigned"]

    # The lead is on site after 30 minutes: its arrival deadline stops before any reminder.
    clock.now = START + timedelta(minutes=30)
    arrival(client, login("d1.zrzy"), call, north_of(PLACE, 30))

    assert fire(0.9) == 0
    assert fire(1) == 1  # city management's arrival, 50%
    assert fire(1) == 0  # a second run at the same time sends nothing more
    assert fire(2) == 4  # 75%, 90%, 100% and the overdue escalation
    assert fire(2.5) == 0
    kinds = [n["kind"] for n in inbox(client, staff)]
    assert kinds.count("deadline_reminder") == 4
    assert kinds.count("deadline_overdue") == 1
    # The overdue escalation reaches the command centre that judged the call.
    escalated = [n for n in inbox(client, centre) if n["kind"] == "deadline_overdue"]
    assert len(escalated) == 1
    assert escalated[0]["subject_type"] == "whistle_department"
    [cgzf_row] = [d for d in call["departments"] if d["department"]["id"] == cgzf]
    assert escalated[0]["subject_id"] == cgzf_row["id"]

    # Late arrival, then the caller closes in time: the completion reminders never go out.
    clock.now = START + timedelta(hours=3)
    arrival(client, login("d1.staff"), call, north_of(PLACE, 10))
    clock.now = START + timedelta(hours=4)
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=centre).get_json()
    whistle(client, login("t1.dispatcher"), call, "close", result="处置完毕")
    assert fire(20) == 0

    deadlines = db_session.execute(sa.select(Deadline.subject_type, Deadline.unit_id,
                                             Deadline.kind, Deadline.status)).all()
    by_unit = {(str(unit), kind): status for _, unit, kind, status in deadlines}
    assert by_unit == {
        (zrzy, DeadlineKind.ARRIVAL): DeadlineStatus.MET,
        (cgzf, DeadlineKind.ARRIVAL): DeadlineStatus.MISSED,
        (zrzy, DeadlineKind.COMPLETION): DeadlineStatus.MET,
    }


def test_a_department_that_never_comes_stays_missed_after_close(client, whistle_world, login,
                                                               raise_call, clock, fire,
                                                               db_session):
    scjg = str(whistle_world.units["D1-SCJG"].id)
    call = whistle(client, login("t1.dispatcher"), raise_call(), "accept",
                   lead_department_id=scjg,
                   arrival_due_at=(START + timedelta(hours=1)).isoformat(),
                   completion_due_at=(START + timedelta(hours=3)).isoformat())
    assert fire(1) == 5  # the four arrival nodes and its overdue escalation, all due by now
    clock.now = START + timedelta(hours=5)
    call = whistle(client, login("t1.dispatcher"), call, "close", result="部门未到场,街道自行处置")
    assert call["absent_department_ids"] == [scjg]
    assert call["closed_on_time"] is False
    statuses = set(db_session.scalars(sa.select(Deadline.status)))
    assert statuses == {DeadlineStatus.MISSED}


def _overdue(client, headers) -> list[dict]:  # noqa: ANN001
    return [n for n in inbox(client, headers) if n["kind"] == "deadline_overdue"]


def test_closing_before_the_scheduler_runs_still_sends_the_due_overdue_notices(
        client, whistle_world, login, raise_call, clock, fire, db_session):
    zrzy, scjg = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-SCJG"))
    centre = login("t1.dispatcher")
    call = whistle(client, centre, raise_call(), "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[scjg],
                   arrival_due_at=(START + timedelta(hours=1)).isoformat(),
                   completion_due_at=(START + timedelta(hours=3)).isoformat())
    assert fire(0.4) == 0  # the scheduler's last run before the close
    clock.now = START + timedelta(minutes=27)
    arrival(client, login("d1.zrzy"), call, north_of(PLACE, 20))

    # Market supervision never came (arrival limit 1 h), the lead's work ran past 3 h, and
    # the township closes at 3.5 h: the scheduler has not run since 0.4 h.
    clock.now = START + timedelta(hours=3.5)
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=centre).get_json()
    call = whistle(client, centre, call, "close", result="部门未到场,街道自行处置")
    assert call["absent_department_ids"] == [scjg]

    [absent] = _overdue(client, login("d1.handler"))
    [scjg_row] = [d for d in call["departments"] if d["department"]["id"] == scjg]
    assert (absent["subject_type"], absent["subject_id"]) == ("whistle_department",
                                                              scjg_row["id"])
    [late_work] = _overdue(client, login("d1.zrzy"))
    assert (late_work["subject_type"], late_work["subject_id"]) == ("whistle_call", call["id"])
    # Both escalations reach the command centre that judged the call, once each.
    assert sorted(n["subject_type"] for n in _overdue(client, centre)) == [
        "whistle_call", "whistle_department"]
    # The reminders before the limits are not sent after the close; nothing goes out twice.
    assert fire(4) == 0
    assert fire(11) == 0
    assert len(_overdue(client, centre)) == 2
    assert not [n for n in inbox(client, login("d1.handler")) if n["kind"] == "deadline_reminder"]

    by_unit = {(str(unit), kind): status for unit, kind, status in db_session.execute(
        sa.select(Deadline.unit_id, Deadline.kind, Deadline.status))}
    assert by_unit == {
        (zrzy, DeadlineKind.ARRIVAL): DeadlineStatus.MET,
        (scjg, DeadlineKind.ARRIVAL): DeadlineStatus.MISSED,
        (zrzy, DeadlineKind.COMPLETION): DeadlineStatus.MISSED,
    }


def test_closing_before_an_arrival_limit_passes_cancels_it_without_notice(
        client, whistle_world, login, raise_call, clock, fire, db_session):
    zrzy, scjg = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-SCJG"))
    centre = login("t1.dispatcher")
    call = whistle(client, centre, raise_call(), "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[scjg],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=6)).isoformat())
    clock.now = START + timedelta(minutes=20)
    arrival(client, login("d1.zrzy"), call, north_of(PLACE, 20))
    clock.now = START + timedelta(hours=1.5)  # past 50% and 75% of the arrival limit, unsent
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=centre).get_json()
    call = whistle(client, centre, call, "close", result="已处置")
    assert call["absent_department_ids"] == [scjg]
    assert fire(10) == 0
    assert _overdue(client, centre) == []
    assert _overdue(client, login("d1.handler")) == []
    statuses = {(str(unit), kind): status for unit, kind, status in db_session.execute(
        sa.select(Deadline.unit_id, Deadline.kind, Deadline.status))}
    assert statuses[(scjg, DeadlineKind.ARRIVAL)] is DeadlineStatus.CANCELLED
    assert statuses[(zrzy, DeadlineKind.COMPLETION)] is DeadlineStatus.MET


def test_a_late_arrival_before_the_scheduler_runs_still_escalates_once(
        client, whistle_world, login, raise_call, clock, fire):
    scjg = str(whistle_world.units["D1-SCJG"].id)
    centre = login("t1.dispatcher")
    call = whistle(client, centre, raise_call(), "accept", lead_department_id=scjg,
                   arrival_due_at=(START + timedelta(hours=1)).isoformat(),
                   completion_due_at=(START + timedelta(hours=3)).isoformat())
    clock.now = START + timedelta(hours=1.25)
    result = arrival(client, login("d1.handler"), call, north_of(PLACE, 20))
    assert result["arrival"]["late"] is True
    assert [n["subject_type"] for n in _overdue(client, centre)] == ["whistle_department"]
    assert fire(1.4) == 0  # already sent; the reminders before the limit are moot
    assert len(_overdue(client, login("d1.handler"))) == 1
