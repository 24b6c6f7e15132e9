"""Unit statistics beside the 三率, 双否/非双是 and repeat complaints, through the API, for a
small constructed township month (T1, November 2026, Beijing time).

Eight 01.01 cases filed on 1 November are led by T1 (completion limit 7 days):
  c1 completed, called back resolved + 满意 (双是)
  c2 called back 不满意 (unresolved), handled again, then 满意: counts once, re-handled once
  c3 called back resolved + 基本满意: 非双是; handled again in time
  c4 called back on 25 November unresolved + 不满意: 双否 (and again 满意 in December)
  c5 returned with fault; c6 return refused, then completed; c7 never completed: overdue
  c8 双是, then exempted (剔除): not a rated case
c1 and c2 share a phone; c3 and c4 lie 22 m apart: one repeat of each kind.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.cases.models import PersonalDataAccess
from tests.fixtures.cases import act
from tests.fixtures.insights import get, post_case, utc

NOV = "2026-11"


def at(k: int, north_m: float = 0.0) -> tuple[float, float]:
    return (116.301 + 0.002 * k, 39.901 + north_m / 111_320.0)


def build_month(client, login, clock) -> dict:  # noqa: ANN001
    township, district = (lambda: login("t1.dispatcher")), (lambda: login("d1.dispatcher"))
    clock.now = utc(2026, 11, 1, 2)
    phones = {1: "13900000001", 2: "13900000001"}
    places = {**{k: at(k) for k in range(1, 9)}, 4: at(3, north_m=22)}
    c = {k: post_case(client, township(), places[k], "01.01",
                      phone=phones.get(k, f"1390000001{k}")) for k in range(1, 9)}

    def step(day, hour, k, headers, action, **body):  # noqa: ANN001, ANN003, ANN202
        clock.now = utc(2026, 11, day, hour)
        c[k] = act(client, headers(), c[k], action, **body)

    for k in (1, 2, 3, 4, 8):
        step(2, 1, k, township, "accept")
        step(2, 2, k, township, "complete", result="已处理")
    for k in (5, 6):
        step(2, 3, k, township, "return-request", reason="不属于本街道")
    step(3, 1, 1, district, "callback", resolved=True, satisfaction="satisfied")
    step(3, 1, 2, district, "callback", resolved=False, satisfaction="dissatisfied")
    step(3, 1, 3, district, "callback", resolved=True, satisfaction="basically_satisfied")
    step(3, 1, 8, district, "callback", resolved=True, satisfaction="satisfied")
    step(3, 2, 5, district, "return-approval", with_fault=True)
    step(3, 2, 6, district, "return-refusal", note="属地管理")
    step(4, 1, 6, township, "accept")
    step(4, 2, 6, township, "complete", result="已处理")
    step(4, 3, 8, township, "exemption-request", reason="恶意重复诉求")
    step(4, 4, 8, district, "exemption-decision", approve=True)
    step(5, 1, 2, township, "complete", result="再次处理")
    step(5, 1, 3, township, "complete", result="再次处理")
    step(6, 1, 2, district, "callback", resolved=True, satisfaction="satisfied")
    step(25, 1, 4, district, "callback", resolved=False, satisfaction="dissatisfied")
    return c


def later_activity(client, login, clock, c) -> None:  # noqa: ANN001
    """December: c4 is handled again and rated 满意; c7 is finally completed."""
    clock.now = utc(2026, 12, 2, 1)
    c[4] = act(client, login("t1.dispatcher"), c[4], "complete", result="第三次处理")
    c[7] = act(client, login("t1.dispatcher"), c[7], "accept")
    c[7] = act(client, login("t1.dispatcher"), c[7], "complete", result="迟到的处理")
    c[4] = act(client, login("d1.dispatcher"), c[4], "callback", resolved=True,
               satisfaction="satisfied")


def expected_t1() -> dict:
    return {
        "received": 8,  # eight dispatched to T1 in November
        "completed": 6,  # c1 c2 c3 c4 c6 c8 (c2, c3 twice: distinct cases)
        "overdue": 1,  # c7: due 8 November, not met (c5's limits were cancelled by the return)
        "return_requests": 2, "returned": 1, "returned_with_fault": 1,
        "return_rate": 12.5,  # 1 / 8
        "rated": 4,  # c1 c2 c3 c4 by their last November rating; c8 exempted
        "rehandled_cases": 1, "rehandlings": 1,  # c2's final rating came after one re-handling
        "not_double_yes": 2,  # c3 (基本满意), c4
        "double_no": 1,  # c4
        "repeat_phone_groups": 1, "repeat_place_groups": 1,
    }


def test_unit_stats_of_a_constructed_township_month(client, clock_login, world, clock, catalogue):
    c = build_month(client, clock_login, clock)
    clock.now = utc(2026, 12, 1, 1)
    body = get(client, clock_login("t1.dispatcher"), "evaluation/unit-stats",
               unit_id=str(world.units["T1"].id), period=NOV)
    assert {k: body[k] for k in expected_t1()} == expected_t1()
    # 万人诉求比: 8 appeals from T1 / 50,000 residents × 10,000 = 1.60.
    assert body["per_10k_residents"] == {"appeals": 8, "population": 50_000, "value": 1.6,
                                         "reason": None}
    later_activity(client, clock_login, clock, c)
    again = get(client, clock_login("d1.dispatcher"), "evaluation/unit-stats",
                unit_id=str(world.units["T1"].id), period=NOV)
    assert {k: again[k] for k in expected_t1()} == expected_t1()  # a closed month stays


def test_double_no_and_not_double_yes_lists(client, clock_login, world, clock, catalogue):
    c = build_month(client, clock_login, clock)
    clock.now = utc(2026, 12, 1, 1)
    headers, t1 = clock_login("d1.dispatcher"), str(world.units["T1"].id)
    double_no = get(client, headers, "evaluation/double-no", unit_id=t1, period=NOV)
    assert [(i["number"], i["satisfaction"], i["resolved"]) for i in double_no["items"]] == [
        (c[4]["number"], "dissatisfied", False)]
    not_yes = get(client, headers, "evaluation/double-no", unit_id=t1, period=NOV,
                  list="not_double_yes")
    assert [i["number"] for i in not_yes["items"]] == [c[3]["number"], c[4]["number"]]
    assert not_yes["items"][0]["lead_unit_code"] == "T1"
    xlsx = get(client, headers, "evaluation/double-no", unit_id=t1, period=NOV, format="xlsx")
    assert xlsx.data[:2] == b"PK"


def test_repeat_complaints_show_phones_only_to_those_who_may_see_them(
        client, clock_login, world, clock, catalogue, db_session):
    c = build_month(client, clock_login, clock)
    clock.now = utc(2026, 12, 1, 1)
    t1 = str(world.units["T1"].id)
    shown = get(client, clock_login("t1.dispatcher"), "evaluation/repeat-complaints",
                unit_id=t1, period=NOV)
    assert [(g["by"], g["key"], g["cases"], g["case_numbers"]) for g in shown["items"]] == [
        ("phone", "13900000001", 2, [c[1]["number"], c[2]["number"]]),
        ("place", "01.01", 2, [c[3]["number"], c[4]["number"]])]
    logged = db_session.scalars(sa.select(PersonalDataAccess.case_id).where(
        PersonalDataAccess.purpose == "repeat_report")).all()
    assert sorted(map(str, logged)) == sorted([c[1]["id"], c[2]["id"]])
    masked = get(client, clock_login("t1.leader"), "evaluation/repeat-complaints",
                 unit_id=t1, period=NOV)
    assert masked["items"][0]["key"] == "139****0001"


def test_no_population_no_ratio(client, clock_login, world, clock, catalogue):
    clock.now = utc(2026, 11, 3, 2)
    post_case(client, clock_login("t2.dispatcher"), (116.405, 39.905), "01.01")
    clock.now = utc(2026, 12, 1, 1)
    headers = clock_login("admin")
    community = get(client, headers, "evaluation/unit-stats",
                    unit_id=str(world.units["T2-C1"].id), period=NOV)
    assert community["per_10k_residents"]["value"] is None
    assert "no population" in community["per_10k_residents"]["reason"]
    # T2 has 30,000 residents and one appeal: 1 / 30,000 × 10,000 = 0.333… → 0.33.
    township = get(client, headers, "evaluation/unit-stats", unit_id=str(world.units["T2"].id),
                   period=NOV)
    assert township["per_10k_residents"]["value"] == 0.33
    department = get(client, headers, "evaluation/unit-stats",
                     unit_id=str(world.units["D1-SCJG"].id), period=NOV)
    assert department["per_10k_residents"]["reason"] == "A department has no territory or " \
                                                        "residents."
    grid = get(client, headers, "evaluation/unit-stats", unit_id=world.grid_id("T2-A1"),
               period=NOV)
    assert (grid["unit"]["kind"], grid["per_10k_residents"]["appeals"]) == ("grid", 1)
    assert grid["per_10k_residents"]["value"] is None
    get(client, clock_login("t1.worker"), "evaluation/unit-stats", 403,
        unit_id=str(world.units["T1"].id), period=NOV)
    get(client, clock_login("t1.dispatcher"), "evaluation/unit-stats", 404,
        unit_id=str(world.units["T2"].id), period=NOV)
