"""Supervision of a case's limits: reminders at 50/75/90/100% and the overdue escalation reach
the lead unit's and the supervising command centre's inboxes, each once (Xining's four nodes)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind, DeadlineStatus
from server.supervision.services import fire_due_reminders
from tests.fixtures.cases import act


def inbox(client, headers) -> list[dict]:  # noqa: ANN001
    return client.get("/api/v1/notifications?limit=200", headers=headers).get_json()["items"]


def test_reminders_fire_at_each_node_once_and_overdue_escalates(client, world, login, file_case,
                                                               db_session):
    case = file_case(category_code="02.01")  # D1-SCJG leads: 12 h to respond, 72 h to complete
    received = datetime.fromisoformat(case["received_at"])
    handler, centre = login("d1.handler"), login("t1.dispatcher")
    assert [n["kind"] for n in inbox(client, handler)] == ["case_dispatched"]

    def fire(hours: float) -> int:
        return fire_due_reminders(db_session, now=received + timedelta(hours=hours))

    assert fire(5.9) == 0
    assert fire(6) == 1  # response 50%
    assert fire(11) == 2  # 75% and 90%
    assert fire(11) == 0  # a second scheduler run at the same time sends nothing more
    assert fire(12) == 2  # 100% and the overdue escalation
    handler_kinds = [n["kind"] for n in inbox(client, handler)]
    assert len(handler_kinds) == 1 + 5  # dispatched + 4 nodes + overdue copy to the lead unit
    centre_titles = [n["title"] for n in inbox(client, centre)]
    assert any(case["number"] in title for title in centre_titles)  # escalated to the centre

    # Completing in time stops the completion deadline's reminders.
    case = client.get(f"/api/v1/cases/{case['id']}", headers=handler).get_json()
    case = act(client, handler, case, "accept")
    act(client, handler, case, "complete", result="已处理")
    assert fire(100) == 0


def test_completing_after_the_limit_before_the_scheduler_runs_still_escalates(
        client, world, clock_login, file_case, clock, db_session):
    """The case is completed after its limit, before the scheduler's next run: the overdue
    escalation due by then goes out with the completion (once), the deadline counts as
    missed, and the reminders still pending are not sent late."""
    from tests.fixtures.whistle import START

    def fire(hours: float) -> int:
        return fire_due_reminders(db_session, now=START + timedelta(hours=hours))

    case = file_case(category_code="02.01")  # D1-SCJG leads: 12 h to respond, 72 h to complete
    clock.now = START + timedelta(hours=1)
    handler = clock_login("d1.handler")
    case = act(client, handler, case, "accept")
    case = act(client, handler, case, "contact", note="已联系")  # the response limit is met
    assert fire(60) == 2  # completion 50% and 75% (the response deadline has ended)
    clock.now = START + timedelta(hours=73)  # past the 72 h limit; no scheduler run since 60 h
    handler, centre = clock_login("d1.handler"), clock_login("t1.dispatcher")
    case = client.get(f"/api/v1/cases/{case['id']}", headers=handler).get_json()
    act(client, handler, case, "complete", result="已处理")

    def overdue(headers) -> list[dict]:  # noqa: ANN001
        return [n for n in inbox(client, headers)
                if n["kind"] == "deadline_overdue" and n["subject_id"] == case["id"]]

    assert len(overdue(handler)) == 1
    assert len(overdue(centre)) == 1
    assert fire(80) == 0  # nothing more goes out, and the escalation is not sent twice
    assert len(overdue(centre)) == 1
    reminders = [n for n in inbox(client, handler)
                 if n["kind"] == "deadline_reminder" and n["subject_id"] == case["id"]]
    assert len(reminders) == 2  # the 90% and 100% notes were not sent after the completion
    [completion] = db_session.scalars(sa.select(Deadline).where(
        Deadline.subject_id == uuid.UUID(case["id"]),
        Deadline.kind == DeadlineKind.COMPLETION))
    assert completion.status is DeadlineStatus.MISSED
    assert completion.escalated_at == START + timedelta(hours=73)
