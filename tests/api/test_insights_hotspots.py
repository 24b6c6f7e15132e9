"""Hotspots and 每月一题 through the API: counts by category × grid and × township against the
previous Beijing month, rising categories, a DBSCAN cluster, a tracked problem's months.

The cases (filed through the API at set times; the month is Beijing's):
  October  o1 01.01 in T1-A1 · o2, o3 02.01 in T1-B2
  November n1, n2, n3 01.01 in T1-A1 within ~25 m (n3 at 23:30 on 30 November, Beijing)
           n4 01.01 in T1-C1 · n5 02.01 in T1-B2 · n6 01.01 in T2-A1
           n7 01.01 in T1-A1, linked to n1 as a duplicate: counts once, by n1
  December d1 01.01 in T1-A1 at 00:10 on 1 December, Beijing (16:10 UTC on 30 November)
"""

from __future__ import annotations

import csv
import io

import pytest

from geo.measure import distance_m
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, act
from tests.fixtures.insights import get, post_case, utc

P = IN_T1_A1
IN_T1_C1 = (116.325, 39.905)
IN_T2_A1 = (116.405, 39.905)


@pytest.fixture
def login(clock_login):  # noqa: ANN001, ANN201
    """Tokens issued at the clock's time: these tests move it by months."""
    return clock_login


@pytest.fixture
def cases(client, login, catalogue, clock, world):  # noqa: ANN001, ANN201
    filed = {}

    def file(name, at_time, category, where, user="t1.dispatcher"):  # noqa: ANN001, ANN202
        clock.now = at_time
        filed[name] = post_case(client, login(user), where, category)

    file("o1", utc(2026, 10, 10, 2), "01.01", P)
    file("o2", utc(2026, 10, 11, 2), "02.01", IN_T1_B2)
    file("o3", utc(2026, 10, 12, 2), "02.01", (IN_T1_B2[0] + 0.001, IN_T1_B2[1]))
    file("n1", utc(2026, 11, 5, 2), "01.01", P)
    file("n2", utc(2026, 11, 10, 2), "01.01", (P[0], P[1] + 0.0002))
    file("n3", utc(2026, 11, 30, 15, 30), "01.01", (P[0] + 0.0002, P[1]))
    file("n4", utc(2026, 11, 12, 2), "01.01", IN_T1_C1)
    file("n5", utc(2026, 11, 12, 3), "02.01", IN_T1_B2)
    file("n6", utc(2026, 11, 15, 2), "01.01", IN_T2_A1, user="t2.dispatcher")
    file("n7", utc(2026, 11, 20, 2), "01.01", (P[0] + 0.0001, P[1] + 0.0001))
    act(client, login("d1.dispatcher"), filed["n7"], "link", master_case_id=filed["n1"]["id"])
    file("d1", utc(2026, 11, 30, 16, 10), "01.01", P)
    clock.now = utc(2026, 12, 5, 2)
    return filed


def test_category_grid_counts_against_the_previous_beijing_month(client, login, world, cases):
    body = get(client, login("t1.dispatcher"), "hotspots", unit_id=str(world.units["T1"].id),
               period="2026-11")
    assert (body["period"], body["previous_period"]) == ("2026-11", "2026-10")
    got = [(r["category_code"], r["grid_code"], r["count"], r["previous"], r["change"],
            r["change_percent"]) for r in body["rows"]]
    # 01.01 in T1-A1: n1, n2, n3 (n7 linked, d1 in December) against o1: +2 = +200 %.
    # 02.01 in T1-B2: n5 against o2, o3: -1 = -50 %. 01.01 in T1-C1: n4, none before.
    assert got == [("01.01", "T1-A1", 3, 1, 2, 200.0), ("01.01", "T1-C1", 1, 0, 1, None),
                   ("02.01", "T1-B2", 1, 2, -1, -50.0)]
    assert body["rows"][0]["category_name"] == "占道经营"


def test_counts_by_township_and_rising_categories_of_a_district(client, login, world, cases):
    headers, d1 = login("d1.dispatcher"), str(world.units["D1"].id)
    body = get(client, headers, "hotspots", unit_id=d1, period="2026-11", by="township")
    got = [(r["category_code"], r["township_code"], r["count"], r["previous"])
           for r in body["rows"]]
    assert got == [("01.01", "T1", 4, 1), ("01.01", "T2", 1, 0), ("02.01", "T1", 1, 2)]
    rising = get(client, headers, "hotspots/rising", unit_id=d1, period="2026-11")
    # 01.01: n1 n2 n3 n4 n6 = 5 against o1 = 1: +4, +400 %; 02.01 fell (1 against 2).
    assert [(r["rank"], r["category_code"], r["count"], r["previous"], r["change"],
             r["change_percent"]) for r in rising["rows"]] == [(1, "01.01", 5, 1, 4, 400.0)]


def test_a_pile_of_one_category_is_a_cluster(client, login, world, cases):
    body = get(client, login("t1.dispatcher"), "hotspots/clusters",
               unit_id=str(world.units["T1"].id), period="2026-11", category="01",
               eps_m=100, min_points=3)
    (pile,) = body["rows"]  # n1, n2, n3; n4 is 1.7 km away (noise), n7 is linked
    members = [cases[n] for n in ("n1", "n2", "n3")]
    assert pile["case_numbers"] == " ".join(sorted(c["number"] for c in members))
    assert (pile["cases"], pile["core_cases"], pile["grid_codes"]) == (3, 3, "T1-A1")
    lon = sum(c["location"]["lon"] for c in members) / 3
    lat = sum(c["location"]["lat"] for c in members) / 3
    assert (pile["centre_lon"], pile["centre_lat"]) == pytest.approx((lon, lat), abs=2e-6)
    radius = max(distance_m(lon, lat, c["location"]["lon"], c["location"]["lat"])
                 for c in members)
    assert pile["radius_m"] == pytest.approx(radius, abs=0.2)
    assert "4 件有位置" in body["notes"][0]  # n1 n2 n3 n4


def test_hotspots_as_csv_with_bom_and_chinese_headers(client, login, world, cases):
    response = get(client, login("t1.dispatcher"), "hotspots", unit_id=str(world.units["T1"].id),
                   period="2026-11", format="csv")
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["类别编码", "类别", "网格"]
    assert rows[1][:6] == ["01.01", "占道经营", "T1-A1", "3", "1", "2"]


def test_hotspot_scope_and_arguments(client, login, world, cases):
    t2 = str(world.units["T2"].id)
    get(client, login("t1.dispatcher"), "hotspots", 404, unit_id=t2, period="2026-11")
    get(client, login("t1.worker"), "hotspots", 403, unit_id=t2, period="2026-11")
    body = get(client, login("d1.dispatcher"), "hotspots", 422, unit_id=t2, period="2026-11",
               colour="red")
    assert "colour" in body["errors"]["query"]
    bad = get(client, login("d1.dispatcher"), "hotspots", 422,
              unit_id=str(world.units["D1-CGZF"].id), period="2026-11")
    assert bad["code"] == "unit_has_no_territory"


def test_a_tracked_problem_shows_its_months_before_and_after(client, login, world, cases):
    district = login("d1.dispatcher")
    created = client.post("/api/v1/tracked-problems", headers=district, json={
        "title": "占道经营整治", "category_codes": ["01.01"],
        "area_unit_id": str(world.units["T1"].id), "starts_on": "2026-11-01"})
    assert created.status_code == 201, created.get_json()
    problem = created.get_json()
    assert problem["district_id"] == str(world.units["D1"].id)
    body = get(client, login("t1.dispatcher"), f"tracked-problems/{problem['id']}",
               months_before=2)
    # September none; October o1; November n1 n2 n3 n4 (n6 is in T2, n7 linked); December d1
    # so far (the month is not over on 5 December).
    assert [(m["month"], m["phase"], m["count"], m["partial"]) for m in body["months"]] == [
        ("2026-09", "before", 0, False), ("2026-10", "before", 1, False),
        ("2026-11", "after", 4, False), ("2026-12", "after", 1, True)]
    # Full months only: before (0 + 1) / 2 = 0.5, after 4 / 1 = 4: +700 %.
    assert (body["mean_before"], body["mean_after"], body["change_percent"]) == (0.5, 4.0, 700.0)
    listed = get(client, district, "tracked-problems", district_id=str(world.units["D1"].id))
    assert [p["id"] for p in listed] == [problem["id"]]
    csv_body = get(client, district, f"tracked-problems/{problem['id']}", format="csv",
                   months_before=2)
    assert "2026-11,实施后,4" in csv_body.data.decode("utf-8")


def test_only_district_dispatchers_and_admins_track_problems(client, login, world, cases):
    body = {"title": "占道", "category_codes": ["01.01"], "area_unit_id": str(world.units["T1"].id),
            "starts_on": "2026-11-01"}
    refused = client.post("/api/v1/tracked-problems", headers=login("t1.dispatcher"), json=body)
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "permission_denied"
    foreign = client.post("/api/v1/tracked-problems", headers=login("d2.dispatcher"), json=body)
    assert foreign.status_code == 404
    unknown = client.post("/api/v1/tracked-problems", headers=login("admin"),
                          json={**body, "category_codes": ["99.99"]})
    assert unknown.status_code == 422
    assert unknown.get_json()["code"] == "unknown_category"
    grid = client.post("/api/v1/tracked-problems", headers=login("admin"),
                       json={**body, "area_unit_id": world.grid_id("T1-A1")})
    assert grid.get_json()["code"] == "unit_has_no_territory"
    made = client.post("/api/v1/tracked-problems", headers=login("admin"), json=body).get_json()
    get(client, login("d2.dispatcher"), f"tracked-problems/{made['id']}", 404)
