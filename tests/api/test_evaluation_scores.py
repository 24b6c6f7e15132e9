"""A township month computed by hand and compared with the API to the last decimal.

February 2027 (Beijing time) in township T1, every case driven through the public API with
the request clock under the test's control:

  A  contacted in time, rated resolved 满意
  B  contacted in time, rated resolved 基本满意
  C  re-handled: first 不解决 不满意, then resolved 满意 (counts once, by the second)
  D  overdue: contacted after its 24 h limit; rated 不解决 不满意
  E  rated 不满意, then exempted (剔除) in the month: left out everywhere
  F  a duplicate linked to G: left out (G counts)
  G  contacted in time, rated resolved 满意 (closing F with it)
  H  returned by T1 after its response limit ran out (a miss for T1), re-dispatched by the
     district to T1's community T1-C1, contacted in time there, rated resolved 满意

By hand (default weights 10/45/45, 基本满意 = 0.8):
  rated 6 (A B C D G H), resolved 5 → 解决率 5/6 = 83.33 %
  满意 4 (A C G H) + 0.8 × 基本满意 1 (B) = 4.8 → 满意率 4.8/6 = 80.00 %
  response due 7 (A B C D G, H at T1, H at T1-C1), met 5 (A B C G, H at T1-C1) → 71.43 %
  composite = 0.10 × 500/7 + 0.45 × 500/6 + 0.45 × 80 = 80.642857… → 80.64

T2 (one case) and T4 (one case, dispatched by hand) score 100 each and tie at rank 1; T1 is
third and, with bottom N = 1 put in force for February, flagged; T5 has no case: not ranked.
In January T1 (100) ranked above T2 (not resolved), so T1 moved −2 and T2 +1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from server.org.rules import Role, UnitKind
from server.org.services import create_unit, create_user
from server.reports.periods import parse
from server.reports.scores import ranking, ranking_table
from tests.api.test_auth import assert_error
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, act
from tests.fixtures.whistle import Clock
from tests.fixtures.world import NOW, PASSWORD

JAN = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
FEB = datetime(2027, 2, 2, 1, 0, tzinfo=UTC)
MAR = datetime(2027, 3, 3, 1, 0, tzinfo=UTC)
IN_T2 = (116.405, 39.905)


@pytest.fixture
def eval_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(JAN)
    monkeypatch.setattr("server.api.context.now_utc", lambda: c.now)
    return c


class Desk:
    """Signs people in at the clock's time (tokens last hours, the scenario weeks)."""

    def __init__(self, client, clock: Clock) -> None:  # noqa: ANN001
        self.client, self.clock, self.tokens = client, clock, {}

    def __call__(self, username: str) -> dict[str, str]:
        key = (username, self.clock.now)
        if key not in self.tokens:
            r = self.client.post("/api/v1/auth/login",
                                 json={"username": username, "password": PASSWORD})
            assert r.status_code == 201, r.get_json()
            self.tokens[key] = {"Authorization": f"Bearer {r.get_json()['token']}"}
        return self.tokens[key]


@pytest.fixture
def desk(client, eval_clock) -> Desk:  # noqa: ANN001
    return Desk(client, eval_clock)


@pytest.fixture
def more_townships(app, world, db_session):  # noqa: ANN001, ANN201
    """T4 (with dispatcher t4.dispatcher, no grids: its cases come by hand) and T5 (no case)."""
    for code in ("T4", "T5"):
        world.units[code] = create_unit(db_session, code=code, name=f"Unit {code}",
                                        kind=UnitKind.TOWNSHIP, parent_code="D1", now=NOW)
    world.users["t4.dispatcher"] = create_user(
        db_session, app.extensions["gridops.passwords"], username="t4.dispatcher",
        password=PASSWORD, display_name="t4", unit_id=world.units["T4"].id,
        roles=[Role.TOWNSHIP_DISPATCHER], now=NOW)
    db_session.flush()
    return world


@pytest.fixture
def file_case(client, desk, catalogue):  # noqa: ANN001, ANN201
    """file_case(username, at=…, **fields): intake through the API at the clock's time."""

    def _file(username: str, *, at, **fields):  # noqa: ANN001, ANN003, ANN202
        body = {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
                "title": "门口占道摆摊", "description": "小区门口每天晚上有人占道经营。",
                "resident_name": "张三", "resident_phone": "13812341234",
                "lon": at[0], "lat": at[1], **fields}
        response = client.post("/api/v1/cases", json=body, headers=desk(username))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return _file


def get(client, headers, path, expect=200, **query):  # noqa: ANN001, ANN003, ANN201
    response = client.get(f"/api/v1/evaluation/{path}", query_string=query, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def simple_case(client, desk, file_case, username, *, at, rating=("satisfied", True),  # noqa: ANN001
                lead=None):
    """File, accept, contact after 2 h, complete, call back after 4 h; returns the case."""
    case = file_case(username, at=at, **({"category_code": None} if lead else {}))
    clock = desk.clock
    if lead:
        case = act(client, desk("d1.dispatcher"), case, "dispatch", lead_unit_id=lead[0])
        username = lead[1]
    case = act(client, desk(username), case, "accept")
    clock.advance(hours=2)
    case = act(client, desk(username), case, "contact", note="已联系")
    case = act(client, desk(username), case, "complete", result="已处理")
    clock.advance(hours=2)
    satisfaction, resolved = rating
    return act(client, desk("d1.dispatcher"), case, "callback", resolved=resolved,
               satisfaction=satisfaction)


def january(client, desk, file_case):  # noqa: ANN001
    desk.clock.now = JAN
    simple_case(client, desk, file_case, "t1.dispatcher", at=IN_T1_B2)
    desk.clock.now = JAN
    simple_case(client, desk, file_case, "t2.dispatcher", at=IN_T2,
                rating=("dissatisfied", False))


def february(client, desk, file_case, world):  # noqa: ANN001, C901 - one scenario, in order
    clock, t1, d1 = desk.clock, "t1.dispatcher", "d1.dispatcher"
    clock.now = FEB
    names = "ABCDEGH"
    cases = {n: file_case(t1, at=IN_T1_A1) for n in names}
    cases["F"] = file_case(t1, at=(IN_T1_A1[0] + 0.0002, IN_T1_A1[1]))
    for n in names:
        cases[n] = act(client, desk(t1), cases[n], "accept")
    clock.advance(hours=1)
    cases["F"] = act(client, desk(d1), cases["F"], "link", master_case_id=cases["G"]["id"])
    clock.advance(hours=1)  # +2 h: in time
    for n in "ABCEG":
        cases[n] = act(client, desk(t1), cases[n], "contact", note="已联系")
        cases[n] = act(client, desk(t1), cases[n], "complete", result="已处理")
    clock.advance(hours=2)  # +4 h
    for n, satisfaction, resolved in [("A", "satisfied", True), ("B", "basically_satisfied", True),
                                      ("C", "dissatisfied", False), ("E", "dissatisfied", False),
                                      ("G", "satisfied", True)]:
        cases[n] = act(client, desk(d1), cases[n], "callback", resolved=resolved,
                       satisfaction=satisfaction)
    clock.advance(hours=1)
    cases["E"] = act(client, desk(t1), cases["E"], "exemption-request", reason="恶意诉求")
    cases["E"] = act(client, desk(d1), cases["E"], "exemption-decision", approve=True)
    cases["C"] = act(client, desk(t1), cases["C"], "complete", result="再次处理")
    clock.advance(hours=1)
    cases["C"] = act(client, desk(d1), cases["C"], "callback", resolved=True,
                     satisfaction="satisfied")
    clock.now = FEB + timedelta(hours=30)  # past the 24 h response limits
    cases["D"] = act(client, desk(t1), cases["D"], "contact", note="迟了")
    cases["D"] = act(client, desk(t1), cases["D"], "complete", result="已处理")
    cases["H"] = act(client, desk(t1), cases["H"], "return-request", reason="应由社区办理")
    cases["H"] = act(client, desk(d1), cases["H"], "return-approval", with_fault=True)
    cases["H"] = act(client, desk(d1), cases["H"], "dispatch",
                     lead_unit_id=str(world.units["T1-C1"].id))
    leader = "t1.leader"
    cases["H"] = act(client, desk(leader), cases["H"], "accept")
    clock.advance(hours=1)
    cases["H"] = act(client, desk(leader), cases["H"], "contact", note="已联系")
    cases["H"] = act(client, desk(leader), cases["H"], "complete", result="社区已处理")
    cases["D"] = act(client, desk(d1), cases["D"], "callback", resolved=False,
                     satisfaction="dissatisfied")
    cases["H"] = act(client, desk(d1), cases["H"], "callback", resolved=True,
                     satisfaction="satisfied")
    clock.now = FEB + timedelta(days=3)
    simple_case(client, desk, file_case, "t2.dispatcher", at=IN_T2)
    clock.now = FEB + timedelta(days=3)
    # T4 has no grids: t4.dispatcher files it (so sees it) and the district dispatches it.
    simple_case(client, desk, file_case, "t4.dispatcher", at=IN_T2,
                lead=(str(world.units["T4"].id), "t4.dispatcher"))
    return cases


@pytest.fixture
def scenario(client, more_townships, desk, file_case):  # noqa: ANN001, ANN201
    world = more_townships
    d1 = str(world.units["D1"].id)
    put = client.put(f"/api/v1/evaluation/settings?district_id={d1}", headers=desk("d1.dispatcher"),
                     json={"response_weight": 10, "resolution_weight": 45,
                           "satisfaction_weight": 45, "basic_weight": 0.8,
                           "bottom_townships": 1, "bottom_departments": 3,
                           "effective_from": "2027-02-01", "note": "2027 rules"})
    assert put.status_code == 200, put.get_json()
    january(client, desk, file_case)
    cases = february(client, desk, file_case, world)
    desk.clock.now = MAR
    return world, cases


def t1_scores(client, desk, world) -> dict:  # noqa: ANN001
    return get(client, desk("d1.dispatcher"), "scores", unit_id=str(world.units["T1"].id),
               period_kind="month", period="2027-02")


def test_a_township_month_matches_the_hand_computation(client, scenario, desk):  # noqa: ANN001
    world, _ = scenario
    body = t1_scores(client, desk, world)
    assert body["counts"] == {"rated": 6, "resolved": 5, "satisfied": 4,
                              "basically_satisfied": 1, "dissatisfied": 1, "rehandled": 1,
                              "rehandlings": 1, "response_due": 7, "response_met": 5}
    assert body["response"] == {"numerator": 5, "denominator": 7, "rate": 71.43}
    assert body["resolution"] == {"numerator": 5, "denominator": 6, "rate": 83.33}
    assert body["satisfaction"] == {"numerator": 4.8, "denominator": 6, "rate": 80.0}
    assert body["composite"] == 80.64
    assert body["period"]["start_utc"] == "2027-01-31T16:00:00+00:00"
    community = get(client, desk("t1.dispatcher"), "scores", unit_id=str(world.units["T1-C1"].id),
                    period="2027-02")
    assert (community["counts"]["rated"], community["response"]["rate"]) == (1, 100.0)


def _by(items: list[dict], cases: dict) -> dict[str, set[str]]:
    names = {c["id"]: n for n, c in cases.items()}
    grouped: dict[str, set[str]] = {}
    for item in items:
        grouped.setdefault(item["counts_in"], set()).add(
            f"{names[item['case_id']]}:{item['reason']}")
    return grouped


def test_the_drill_down_lists_exactly_the_cases_of_the_hand_computation(client, scenario, desk):  # noqa: ANN001
    world, cases = scenario
    query = {"unit_id": str(world.units["T1"].id), "period": "2027-02"}
    headers = desk("d1.dispatcher")
    resolution = get(client, headers, "scores/cases", figure="resolution", **query)
    assert _by(resolution["items"], cases) == {
        "numerator": {"A:resolved", "B:resolved", "C:resolved", "G:resolved", "H:resolved"},
        "denominator": {"D:not_resolved"},
        "excluded": {"C:superseded", "E:exempted"}}
    assert resolution["excluded"] == {"exempted": 1, "linked_duplicate": 0, "superseded": 1}
    assert (resolution["numerator"], resolution["denominator"], resolution["rate"]) == (5, 6, 83.33)
    superseded = next(i for i in resolution["items"] if i["reason"] == "superseded")
    assert (superseded["facts"]["seq"], superseded["facts"]["superseded_by_seq"]) == (1, 2)
    final_c = next(i for i in resolution["items"]
                   if i["case_id"] == cases["C"]["id"] and i["counts_in"] == "numerator")
    assert final_c["facts"]["rehandle_count"] == 1

    satisfaction = get(client, headers, "scores/cases", figure="satisfaction", **query)
    points = {f"{i['reason']}:{i['points']}" for i in satisfaction["items"]
              if i["counts_in"] != "excluded"}
    assert points == {"satisfied:1.0", "basically_satisfied:0.8", "dissatisfied:0.0"}
    assert sum(i["points"] or 0 for i in satisfaction["items"]) == pytest.approx(4.8)

    response = get(client, headers, "scores/cases", figure="response", **query)
    assert _by(response["items"], cases) == {
        "numerator": {"A:met", "B:met", "C:met", "G:met", "H:met"},
        "denominator": {"D:missed", "H:missed"},
        "excluded": {"E:exempted", "F:linked_duplicate"}}
    assert response["excluded"] == {"exempted": 1, "linked_duplicate": 1,
                                    "cancelled_before_due": 0}
    # Paged: three at a time, the same items in the same order.
    seen, cursor = [], None
    while True:
        page = get(client, headers, "scores/cases", figure="response", limit=3,
                   **query, **({"cursor": cursor} if cursor else {}))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == response["items"]


def test_the_ranking_ties_flags_and_moves(client, scenario, desk):  # noqa: ANN001
    world, _ = scenario
    d1 = str(world.units["D1"].id)
    body = get(client, desk("t2.dispatcher"), "rankings", district_id=d1, kind="township",
               period="2027-02")
    rows = {r["code"]: r for r in body["rows"]}
    assert body["bottom_n"] == 1
    assert {c: (r["rank"], r["composite"], r["flagged"]) for c, r in rows.items()} == {
        "T2": (1, 100.0, False), "T4": (1, 100.0, False), "T1": (3, 80.64, True),
        "T5": (None, None, False)}
    assert [r["code"] for r in body["rows"]] == ["T2", "T4", "T1", "T5"]
    assert {c: (r["previous_rank"], r["rank_change"]) for c, r in rows.items()} == {
        "T1": (1, -2), "T2": (2, 1), "T4": (None, None), "T5": (None, None)}
    assert [r["code"] for r in body["flagged"]] == ["T1"]
    january = get(client, desk("d1.dispatcher"), "rankings", district_id=d1, period="2027-01")
    assert january["bottom_n"] == 2  # the default: February's settings do not reach back
    departments = get(client, desk("d1.staff"), "rankings", district_id=d1, kind="department",
                      period="2027-02")
    assert all(r["rank"] is None for r in departments["rows"])
    assert_error(client.get("/api/v1/evaluation/rankings", headers=desk("d1.staff"),
                            query_string={"district_id": d1, "period": "2027-02"}),
                 404, "district_not_found")
    weekly = get(client, desk("d1.dispatcher"), "rankings", district_id=d1,
                 period_kind="week", period="2027-W05")
    assert {r["code"]: r["rated"] for r in weekly["rows"]}["T1"] == 6
    daily = get(client, desk("d1.dispatcher"), "rankings", district_id=d1,
                period_kind="day", period="2027-02-05")
    assert {r["code"]: r["rank"] for r in daily["rows"]} == {"T2": 1, "T4": 1, "T1": None,
                                                             "T5": None}


def test_the_ranking_as_a_report_table(scenario, db_session):  # noqa: ANN001
    world, _ = scenario
    table = ranking_table(ranking(db_session, district_id=world.units["D1"].id,
                                  kind="township", period=parse("month", "2027-02")))
    assert [c.title for c in table.columns][:8] == ["排名", "单位编码", "单位", "考核件", "响应率",
                                                     "解决率", "满意率", "综合成绩"]
    t1 = next(r for r in table.rows if r["code"] == "T1")
    assert (t1["rank"], t1["response_rate"], t1["composite"], t1["flagged"]) == \
        (3, Decimal("71.43"), Decimal("80.64"), True)
    assert table.name == "township-ranking-2027-02"
    assert any("末 1 名" in note for note in table.notes)


def test_a_closed_month_recomputes_the_same_after_later_activity(client, scenario, desk):  # noqa: ANN001
    world, cases = scenario
    before = t1_scores(client, desk, world)
    t1, d1 = desk("t1.dispatcher"), desk("d1.dispatcher")
    a = act(client, t1, cases["A"], "exemption-request", reason="重复诉求")
    act(client, d1, a, "exemption-decision", approve=True)
    b = act(client, t1, cases["B"], "complete", result="三次处理")
    act(client, d1, b, "callback", resolved=True, satisfaction="satisfied")
    desk.clock.advance(days=1)
    assert t1_scores(client, desk, world) == before
    march = get(client, desk("d1.dispatcher"), "scores", unit_id=str(world.units["T1"].id),
                period="2027-03")
    assert (march["counts"]["rated"], march["counts"]["satisfied"]) == (1, 1)


def test_the_monthly_trend_and_who_may_see_it(client, scenario, desk):  # noqa: ANN001
    world, _ = scenario
    t1 = str(world.units["T1"].id)
    trend = get(client, desk("t1.dispatcher"), "trend", unit_id=t1, last="2027-02", months=3)
    assert [(r["period"], r["rated"], r["composite"]) for r in trend["rows"]] == [
        ("2026-12", 0, None), ("2027-01", 1, 100.0), ("2027-02", 6, 80.64)]
    assert_error(client.get("/api/v1/evaluation/scores", headers=desk("t1.worker"),
                            query_string={"unit_id": t1, "period": "2027-02"}),
                 403, "permission_denied")
    assert_error(client.get("/api/v1/evaluation/scores", headers=desk("t2.dispatcher"),
                            query_string={"unit_id": t1, "period": "2027-02"}),
                 404, "unit_not_found")
    assert_error(client.get("/api/v1/evaluation/scores", headers=desk("t1.dispatcher"),
                            query_string={"unit_id": t1, "period": "2027-13"}),
                 422, "validation_failed")
    assert_error(client.get("/api/v1/evaluation/scores", headers=desk("t1.dispatcher"),
                            query_string={"unit_id": t1, "period": "2027-02", "x": "1"}),
                 422, "validation_failed")


def test_every_evaluation_table_downloads_as_csv_and_xlsx(client, scenario, desk):  # noqa: ANN001
    import io

    from openpyxl import load_workbook

    world, cases = scenario
    t1, d1 = str(world.units["T1"].id), str(world.units["D1"].id)
    headers = desk("d1.dispatcher")

    def download(path: str, fmt: str, **query) -> bytes:  # noqa: ANN003
        r = client.get(f"/api/v1/evaluation/{path}", headers=headers,
                       query_string={**query, "format": fmt})
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        return r.get_data()

    ranking_csv = download("rankings", "csv", district_id=d1, period="2027-02").decode("utf-8")
    assert ranking_csv.startswith("\ufeff排名,单位编码,单位,考核件,响应率,解决率,满意率,综合成绩")
    t1_line = next(line for line in ranking_csv.splitlines() if ",T1," in line)
    assert "71.43%" in t1_line
    assert "80.64" in t1_line
    scores_csv = download("scores", "csv", unit_id=t1, period="2027-02").decode("utf-8")
    assert "83.33%" in scores_csv
    cases_csv = download("scores/cases", "csv", unit_id=t1, period="2027-02",
                         figure="response").decode("utf-8")
    listed = sorted(line.split(",")[0] for line in cases_csv.splitlines()[1:])
    # 7 limits due (H twice) and the 2 left out (E exempted, F linked).
    assert listed == sorted([*(cases[n]["number"] for n in "ABCDEFGH"), cases["H"]["number"]])
    workbook = load_workbook(io.BytesIO(download("trend", "xlsx", unit_id=t1, last="2027-02",
                                                 months=3)))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["月份", "考核件", "应响应", "响应率"]
    assert sheet._charts  # the native line chart of the monthly trend
