"""Texts people read come in Chinese by default (GRID_LOCALE=zh_CN): inbox titles, messages of
operations a phone had rejected, and error messages; English stays the code's catalogue."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.core.i18n import use_locale
from server.supervision.services import fire_due_reminders
from tests.api.test_sync_push import op, phone, push, statuses  # noqa: F401 - phone is a fixture
from tests.fixtures.cases import act


def _titles(client, headers) -> list[str]:  # noqa: ANN001
    return [n["title"] for n in client.get("/api/v1/notifications?limit=200",
                                           headers=headers).get_json()["items"]]


def test_inbox_titles_are_chinese(client, world, login, file_case, db_session):
    case = file_case(category_code="02.01")  # D1-SCJG leads: 12 h to respond
    handler = login("d1.handler")
    assert _titles(client, handler) == [f"新工单 {case['number']}"]
    fire_due_reminders(db_session,
                       now=datetime.fromisoformat(case["received_at"]) + timedelta(hours=6))
    assert f"时限已用 50%：{case['number']} {case['title']}" in _titles(client, handler)

    case = act(client, login("t1.dispatcher"), case, "escalate", reason="需区级协调")
    assert f"上交：{case['number']}" in _titles(client, login("d1.dispatcher"))


def test_a_whistle_call_reaches_the_township_in_chinese(client, login, raise_call):
    call = raise_call("t1.leader")
    assert f"吹哨：{call['description'][:60]}" in _titles(client, login("t1.dispatcher"))


def test_a_rejected_operation_tells_the_worker_in_chinese(
        client, world, login, file_case, phone):  # noqa: F811 - the fixture imported above
    case = file_case(category_code="01.01")  # D1-SCJG cooperates, does not lead
    answer = push(client, phone("d1.handler"), op("accept_case", case_id=case["id"]))
    assert statuses(answer) == [("rejected", "not_lead_unit")]
    assert answer["results"][0]["message"] == f"只有案件 {case['number']} 的主办单位可以签收。"


def test_errors_on_the_web_are_chinese_and_english_is_kept(client, world, login, file_case):
    case = file_case(category_code="02.01")
    response = client.post(f"/api/v1/cases/{case['id']}/complete", headers=login("d1.handler"),
                           json={"version": case["version"], "result": "已处理"})
    assert response.status_code == 409
    assert response.get_json()["message"] == "案件当前为“已派单”，不能报结。"
    with use_locale("en"):
        response = client.post(f"/api/v1/cases/{case['id']}/complete",
                               headers=login("d1.handler"),
                               json={"version": case["version"], "result": "done"})
    assert response.get_json()["message"] == "Cannot complete a case that is dispatched."
