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
    return client.get("/api/v1/notifications?limit=200", headers=headers).get_json()["items"]


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
