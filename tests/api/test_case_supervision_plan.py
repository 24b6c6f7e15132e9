"""A case's planned supervision nodes are readable before they fire, scoped like the case."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.supervision.services import fire_due_reminders


def _plan(client, headers, case):  # noqa: ANN001, ANN202
    response = client.get(f"/api/v1/cases/{case['id']}/supervision", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {d["kind"]: d for d in response.get_json()["deadlines"]}


def test_the_reminder_plan_is_readable_before_and_after_it_fires(
        client, world, login, file_case, db_session):
    case = file_case(category_code="02.01")  # D1-SCJG: 12 h to respond, 72 h to complete
    received = datetime.fromisoformat(case["received_at"])
    headers = login("t1.dispatcher")

    plan = _plan(client, headers, case)
    assert set(plan) == {"response", "completion"}
    response = plan["response"]
    assert (response["status"], response["met"], response["unit"]["code"]) == (
        "active", None, "D1-SCJG")
    assert datetime.fromisoformat(response["due_at"]) == received + timedelta(hours=12)
    nodes = [(r["node"], datetime.fromisoformat(r["fire_at"]) - received, r["sent"])
             for r in response["reminders"]]
    assert nodes[:4] == [("50%", timedelta(hours=6), False), ("75%", timedelta(hours=9), False),
                         ("90%", timedelta(hours=10.8), False),
                         ("100%", timedelta(hours=12), False)]

    fire_due_reminders(db_session, now=received + timedelta(hours=6))
    sent = {r["node"]: r["sent"] for r in _plan(client, headers, case)["response"]["reminders"]}
    assert (sent["50%"], sent["75%"]) == (True, False)


def test_the_plan_is_scoped_like_the_case(client, world, login, file_case):
    case = file_case(category_code="02.01")
    assert _plan(client, login("d1.handler"), case)["completion"]["status"] == "active"
    response = client.get(f"/api/v1/cases/{case['id']}/supervision",
                          headers=login("t2.dispatcher"))
    assert response.status_code == 404
    assert response.get_json()["code"] == "case_not_found"
