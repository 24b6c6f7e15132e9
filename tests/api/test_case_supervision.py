"""Supervision of a case's limits: reminders at 50/75/90/100% and the overdue escalation reach
the lead unit's and the supervising command centre's inboxes, each once (Xining's four nodes)."""

from __future__ import annotations

from datetime import datetime, timedelta

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
