"""双考评 from whistle calls through the API, for November 2026 (Beijing time).

Call A (24 Nov): lead D1-ZRZY arrives on time (20 min), D1-CGZF late (170 min); closed in
time; rated 满意 (ZRZY) and 基本满意 (CGZF). Call B (25 Nov): lead D1-CGZF on time (50 min),
ZRZY only on 2 December (absent in November); CGZF marks it unjustified. Call C (27 Nov):
rejected.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.insights import get, utc
from tests.fixtures.whistle import PLACE, START, arrival, north_of, whistle


@pytest.fixture
def login(clock_login):  # noqa: ANN001, ANN201
    """Tokens issued at the clock's time (raise_call signs in through this too)."""
    return clock_login


def _accept(client, district, call, lead, cooperating, at):  # noqa: ANN001, ANN202
    return whistle(client, district, call, "accept", lead_department_id=lead,
                   cooperating_department_ids=[cooperating],
                   arrival_due_at=(at + timedelta(hours=2)).isoformat(),
                   completion_due_at=(at + timedelta(hours=48)).isoformat())


def build_calls(client, login, raise_call, clock, world) -> None:  # noqa: ANN001
    zrzy, cgzf = (str(world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    district = lambda: login("d1.dispatcher")  # noqa: E731
    town = lambda: login("t1.dispatcher")  # noqa: E731
    near = north_of(PLACE, 30)

    clock.now = START
    a = raise_call(department_ids=[zrzy])
    clock.now = START + timedelta(minutes=10)
    a = _accept(client, district(), a, zrzy, cgzf, START)
    clock.now = START + timedelta(minutes=30)
    a = arrival(client, login("d1.zrzy"), a, near)["call"]
    clock.now = START + timedelta(hours=3)
    a = arrival(client, login("d1.staff"), a, near)["call"]
    clock.now = START + timedelta(hours=8)
    a = whistle(client, town(), a, "close", result="已处置")
    a = whistle(client, town(), a, "ratings", department_id=zrzy, satisfaction="satisfied")
    a = whistle(client, town(), a, "ratings", department_id=cgzf,
                satisfaction="basically_satisfied")

    b_at = START + timedelta(days=1)
    clock.now = b_at
    b = raise_call(department_ids=[cgzf])
    clock.now = b_at + timedelta(minutes=10)
    b = _accept(client, district(), b, cgzf, zrzy, b_at)
    clock.now = b_at + timedelta(minutes=60)
    b = arrival(client, login("d1.staff"), b, near)["call"]
    clock.now = utc(2026, 11, 26, 2)
    b = whistle(client, login("d1.staff"), b, "unjustified", reason="不属于城管职责")

    clock.now = utc(2026, 11, 27, 2)
    c = raise_call(department_ids=[cgzf])
    whistle(client, district(), c, "reject", reason="街道自行处置")

    clock.now = utc(2026, 12, 2, 2)  # after November: changes nothing there
    arrival(client, login("d1.zrzy"), b, near)


def test_departments_side_for_a_month(client, clock_login, raise_call, clock, whistle_world):
    build_calls(client, clock_login, raise_call, clock, whistle_world)
    body = get(client, clock_login("d1.handler"), "evaluation/whistle",
               district_id=str(whistle_world.units["D1"].id), period="2026-11")
    rows = {r["department_code"]: r for r in body["rows"]}
    keys = ("named", "lead", "answered", "on_time", "late", "absent", "pending", "on_time_rate",
            "mean_response_minutes", "ratings", "satisfied", "basically_satisfied",
            "dissatisfied", "satisfaction_rate", "unjustified")
    # CGZF: late on A (170 min), on time on B (50 min): 1 of 2 on time, mean 110 min; rated
    # 基本满意 once: 0.8 / 1 = 80 %; it objected to B.
    assert {k: rows["D1-CGZF"][k] for k in keys} == dict(zip(keys, (
        2, 1, 2, 1, 1, 0, 0, 50.0, 110.0, 1, 0, 1, 0, 80.0, 1), strict=True))
    # ZRZY: on time on A (20 min); on B it came only in December: absent in November.
    assert {k: rows["D1-ZRZY"][k] for k in keys} == dict(zip(keys, (
        2, 1, 1, 1, 0, 1, 0, 50.0, 20.0, 1, 1, 0, 0, 100.0, 0), strict=True))


def test_townships_side_for_a_month(client, clock_login, raise_call, clock, whistle_world):
    build_calls(client, clock_login, raise_call, clock, whistle_world)
    body = get(client, clock_login("t1.dispatcher"), "evaluation/whistle",
               district_id=str(whistle_world.units["D1"].id), period="2026-11", side="townships")
    (t1,) = body["rows"]
    # 3 raised, 2 accepted, 1 rejected, A closed in time, B called unjustified: (2 - 1) / 3.
    assert {k: t1[k] for k in ("township_code", "raised", "accepted", "rejected", "closed",
                               "closed_on_time", "marked_unjustified", "justified_rate")} == {
        "township_code": "T1", "raised": 3, "accepted": 2, "rejected": 1, "closed": 1,
        "closed_on_time": 1, "marked_unjustified": 1, "justified_rate": 33.33}
    csv_file = get(client, clock_login("t1.dispatcher"), "evaluation/whistle",
                   district_id=str(whistle_world.units["D1"].id), period="2026-11",
                   side="townships", format="csv")
    assert csv_file.data.decode("utf-8").startswith("\ufeff街乡编码,街乡,吹哨次数")
    # A township sees the township side only; the department side is the departments' ranking.
    get(client, clock_login("t1.dispatcher"), "evaluation/whistle", 404,
        district_id=str(whistle_world.units["D1"].id), period="2026-11")
