"""GET /cases/returns counts one period in Beijing time (a month by default), not every month."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fixtures.cases import act


def _returned(client, login, file_case, *, approve: bool):  # noqa: ANN001, ANN202
    case = file_case(channel="internet", category_code="02.01")  # D1-SCJG leads
    case = act(client, login("d1.handler"), case, "return-request", reason="属于城管职责")
    if approve:
        act(client, login("t1.dispatcher"), case, "return-approval", with_fault=True)
    else:
        act(client, login("t1.dispatcher"), case, "return-refusal", note="属于食品安全")


def _scjg(client, login, **query):  # noqa: ANN001, ANN003, ANN202
    response = client.get("/api/v1/cases/returns", query_string=query,
                          headers=login("d1.dispatcher"))
    assert response.status_code == 200, response.get_json()
    rows = [r for r in response.get_json() if r["unit_code"] == "D1-SCJG"]
    return [(r["period"], r["requested"], r["approved"], r["with_fault"]) for r in rows]


def test_returns_are_counted_for_the_chosen_period(client, world, login, file_case, clock):
    clock.now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 16:00 in Beijing
    _returned(client, login, file_case, approve=True)
    # 16:30 UTC on 30 November is 00:30 on 1 December in Beijing: a December return.
    clock.now = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    _returned(client, login, file_case, approve=False)

    assert _scjg(client, login, period="2026-11") == [("2026-11", 1, 1, 1)]
    assert _scjg(client, login, period="2026-12") == [("2026-12", 1, 0, 0)]
    assert _scjg(client, login, period="2026-11-01/2026-12-31") == [
        ("2026-11-01/2026-12-31", 2, 1, 1)]
    assert _scjg(client, login, period="2026-11-30") == [("2026-11-30", 1, 1, 1)]
    assert _scjg(client, login, period="2026-10") == []
    # Without a period: the month (Beijing) the request is made in.
    assert _scjg(client, login) == [("2026-12", 1, 0, 0)]


def test_a_period_that_is_not_one_is_refused(client, world, login):
    response = client.get("/api/v1/cases/returns", query_string={"period": "2026-13"},
                          headers=login("d1.dispatcher"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert "YYYY-MM" in body["errors"]["query"]["period"][0]
