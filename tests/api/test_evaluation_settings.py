"""Evaluation settings per district with history, and the units a case counts for."""

from __future__ import annotations

import pytest

from server.org.rules import Role, UnitKind
from server.org.services import create_unit, create_user
from tests.api.test_auth import assert_error
from tests.api.test_evaluation_scores import FEB, Desk, get
from tests.fixtures.cases import IN_T1_A1, act
from tests.fixtures.whistle import Clock
from tests.fixtures.world import NOW, PASSWORD

SETTINGS = {"response_weight": 20, "resolution_weight": 40, "satisfaction_weight": 40,
            "basic_weight": 1, "bottom_townships": 1, "bottom_departments": 2}


@pytest.fixture
def desk(client, monkeypatch) -> Desk:  # noqa: ANN001
    clock = Clock(FEB)
    monkeypatch.setattr("server.api.context.now_utc", lambda: clock.now)
    return Desk(client, clock)


def put(client, desk, username, district, expect=200, **body):  # noqa: ANN001, ANN003, ANN201
    response = client.put("/api/v1/evaluation/settings", query_string={"district_id": district},
                          json={**SETTINGS, **body}, headers=desk(username))
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def test_settings_have_a_default_a_history_and_apply_from_their_day(client, world, desk):  # noqa: ANN001
    d1 = str(world.units["D1"].id)
    first = get(client, desk("t1.dispatcher"), "settings", district_id=d1)
    assert first["in_force"] == {"response_weight": 10.0, "resolution_weight": 45.0,
                                 "satisfaction_weight": 45.0, "basic_weight": 0.8,
                                 "bottom_townships": 2, "bottom_departments": 3}
    assert [v["effective_from"] for v in first["history"]] == [None]
    later = put(client, desk, "d1.dispatcher", d1, effective_from="2027-03-01", note="新办法")
    assert later["in_force"] == first["in_force"]  # not yet in force
    today = put(client, desk, "admin", d1, response_weight=12.5, resolution_weight=42.5,
                satisfaction_weight=45)
    assert today["in_force"]["response_weight"] == 12.5
    assert [(v["effective_from"], v["note"]) for v in today["history"]] == [
        (None, None), ("2027-02-02", None), ("2027-03-01", "新办法")]
    assert today["history"][2]["set_by_user_id"] == str(world.users["d1.dispatcher"].id)
    t1 = str(world.units["T1"].id)
    for period, weight, basic in [("2027-02", 10.0, 0.8), ("2027-03", 20.0, 1.0)]:
        body = get(client, desk("d1.dispatcher"), "scores", unit_id=t1, period=period)
        assert (body["settings"]["response_weight"], body["settings"]["basic_weight"]) == \
            (weight, basic)
    day = get(client, desk("d1.dispatcher"), "scores", unit_id=t1, period_kind="day",
              period="2027-02-02")
    assert day["settings"]["response_weight"] == 12.5


def test_only_the_district_may_change_its_settings_and_never_backwards(client, world, desk):  # noqa: ANN001
    d1 = str(world.units["D1"].id)
    for username in ("t1.dispatcher", "d1.staff", "auditor"):
        assert_error(client.put("/api/v1/evaluation/settings", query_string={"district_id": d1},
                                json=SETTINGS, headers=desk(username)),
                     403, "settings_not_editable")
    assert_error(client.put("/api/v1/evaluation/settings", query_string={"district_id": d1},
                            json=SETTINGS, headers=desk("d2.dispatcher")),
                 404, "district_not_found")
    assert_error(client.get("/api/v1/evaluation/settings", query_string={"district_id": d1},
                            headers=desk("t1.worker")), 403, "permission_denied")
    bad = put(client, desk, "d1.dispatcher", d1, expect=422, response_weight=30,
              basic_weight=1.5, effective_from="2027-02-01")
    assert bad["code"] == "invalid_settings"
    assert set(bad["errors"]["json"]) == {"weights", "basic_weight", "effective_from"}
    too_fine = put(client, desk, "d1.dispatcher", d1, expect=422, response_weight=10.005,
                   resolution_weight=44.995)
    assert too_fine["code"] == "invalid_settings"
    missing = client.put("/api/v1/evaluation/settings", query_string={"district_id": d1},
                         json={"response_weight": 10}, headers=desk("d1.dispatcher"))
    assert_error(missing, 422, "validation_failed")


def test_an_outposts_case_counts_for_its_department_and_grid_not_the_township(
        app, client, world, desk, db_session, catalogue):  # noqa: ANN001
    outpost = create_unit(db_session, code="T1-CGZF", name="T1 综合执法队",
                          kind=UnitKind.DEPARTMENT, parent_code="T1",
                          department_kind="city_management", now=NOW)
    create_user(db_session, app.extensions["gridops.passwords"], username="t1.cgzf",
                password=PASSWORD, display_name="t1.cgzf", unit_id=outpost.id,
                roles=[Role.DEPARTMENT_STAFF], now=NOW)
    db_session.flush()
    body = {"channel": "internet", "appeal_type": "complaint", "title": "违建",
            "description": "楼顶违建", "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}
    case = client.post("/api/v1/cases", json=body, headers=desk("t1.dispatcher")).get_json()
    case = act(client, desk("t1.dispatcher"), case, "dispatch", lead_unit_id=str(outpost.id))
    staff = desk("t1.cgzf")
    case = act(client, staff, case, "accept")
    case = act(client, staff, case, "contact", note="已联系")
    case = act(client, staff, case, "complete", result="已拆除")
    desk.clock.advance(hours=1)
    act(client, desk("d1.dispatcher"), case, "callback", resolved=True, satisfaction="satisfied")
    desk.clock.advance(days=30)
    rated = {}
    for code, unit_id in [("D1-CGZF", world.units["D1-CGZF"].id), ("T1", world.units["T1"].id),
                          ("D1", world.units["D1"].id), ("T1-A1", world.grids["T1-A1"].id),
                          ("T1-B1", world.grids["T1-B1"].id), ("T1-CGZF", outpost.id)]:
        scores = get(client, desk("admin"), "scores", unit_id=str(unit_id), period="2027-02")
        rated[code] = (scores["counts"]["rated"], scores["counts"]["response_due"])
    assert rated == {"D1-CGZF": (1, 1), "T1": (0, 0), "D1": (1, 1), "T1-A1": (1, 1),
                     "T1-B1": (0, 0), "T1-CGZF": (1, 1)}
    grid = get(client, desk("t1.dispatcher"), "scores/cases", unit_id=str(world.grids["T1-A1"].id),
               period="2027-02", figure="satisfaction")
    assert [(i["case_id"], i["counts_in"], i["points"]) for i in grid["items"]] == \
        [(case["id"], "numerator", 1.0)]
    ranking = get(client, desk("d1.staff"), "rankings", district_id=str(world.units["D1"].id),
                  kind="department", period="2027-02")
    assert [(r["code"], r["rank"], r["flagged"]) for r in ranking["rows"]] == [
        ("D1-CGZF", 1, True), ("D1-SCJG", None, False)]


def test_a_running_period_leaves_out_limits_not_yet_due(client, world, desk, catalogue):  # noqa: ANN001
    body = {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
            "title": "占道", "description": "占道经营", "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}
    assert client.post("/api/v1/cases", json=body, headers=desk("t1.dispatcher")).status_code == 201
    t1 = str(world.units["T1"].id)

    def response() -> dict:
        body = get(client, desk("t1.dispatcher"), "scores", unit_id=t1, period="2027-02")
        return body["response"]

    assert response() == {"numerator": 0, "denominator": 0, "rate": None}
    desk.clock.advance(hours=25)  # the 24 h limit ran out without a contact
    assert response() == {"numerator": 0, "denominator": 1, "rate": 0.0}
