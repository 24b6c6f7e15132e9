"""Dispatch by place (issue 11): catalogue rules naming the owner of a special grid of a kind."""

from __future__ import annotations

from shapely.geometry import box

from tests.api.test_auth import assert_error
from tests.fixtures.cases import CATALOGUE, IN_T1_A1, IN_T1_B2
from tests.fixtures.world import grid_feature

SCHOOL = "special_grid_owner:school"
BY_PLACE = [
    {"code": "04", "name": "校园周边"},
    # Led by the school that owns the special grid; the township cooperates.
    {"code": "04.01", "name": "校园周边占道", "lead": SCHOOL, "cooperating": ["territorial"],
     "response_limit_hours": 4, "completion_limit_hours": 48},
    # Led by the township; the school cooperates when the case is on its grounds.
    {"code": "04.02", "name": "校园周边噪声", "lead": "territorial", "cooperating": [SCHOOL],
     "response_limit_hours": 24, "completion_limit_hours": 168},
]


def _import(client, login, items):  # noqa: ANN001, ANN201
    return client.post("/api/v1/catalogue/import", json={"items": items},
                       headers=login("admin"))


def test_a_case_inside_a_school_grid_is_led_by_the_school(client, world, login, file_case):
    assert _import(client, login, CATALOGUE + BY_PLACE).status_code == 200
    case = file_case(category_code="04.01", at=IN_T1_A1)  # inside special grid T1-S1 (school)
    assert case["special_grids"] == ["T1-S1"]
    assert case["lead_unit"]["code"] == "T1-SCH"
    assert case["cooperating_unit_ids"] == [str(world.units["T1"].id)]
    assert case["needs_triage"] is False


def test_outside_every_school_grid_a_school_lead_goes_to_triage(client, world, login, file_case):
    assert _import(client, login, CATALOGUE + BY_PLACE).status_code == 200
    case = file_case(category_code="04.01", at=IN_T1_B2)  # in T1-B2, no special grid
    assert case["special_grids"] == []
    assert case["lead_unit"] is None
    assert case["needs_triage"] is True


def test_a_school_cooperates_only_on_its_own_grounds(client, world, login, file_case):
    assert _import(client, login, CATALOGUE + BY_PLACE).status_code == 200
    inside = file_case(category_code="04.02", at=IN_T1_A1)
    outside = file_case(category_code="04.02", at=IN_T1_B2)
    assert inside["lead_unit"]["code"] == outside["lead_unit"]["code"] == "T1"
    assert inside["cooperating_unit_ids"] == [str(world.units["T1-SCH"].id)]
    assert outside["cooperating_unit_ids"] == []


def test_a_special_grid_kind_no_grid_has_is_refused_at_import(client, world, login):
    items = [{"code": "05", "name": "医院周边", "lead": "special_grid_owner:hospitl",
              "response_limit_hours": 4, "completion_limit_hours": 48}]
    body = assert_error(_import(client, login, items), 422, "catalogue_import_rejected")
    assert [(d["field"], d["problem"]) for d in body["details"]] == [
        ("lead", "unknown_special_grid_kind")]
    assert "school" in body["details"][0]["reason"]  # the known kinds are listed


def test_only_special_grids_carry_a_special_kind(client, world, login):
    features = [grid_feature("T2-X1", "T2", box(116.40, 39.905, 116.401, 39.906),
                             special_kind="school"),
                grid_feature("T2-S9", "T2", box(116.40, 39.905, 116.401, 39.906),
                             kind="special", owner_unit="T1-SCH", special_kind="School!")]
    response = client.post("/api/v1/grids/import",
                           json={"type": "FeatureCollection", "features": features},
                           headers=login("admin"))
    body = assert_error(response, 422, "grid_import_rejected")
    assert {(d["index"], d["code"]) for d in body["details"]} == {
        (0, "special_kind_invalid"), (1, "special_kind_invalid")}


def test_the_grid_export_carries_the_special_kind(client, world, login):
    response = client.get("/api/v1/grids/export", query_string={"kind": "special"},
                          headers=login("admin"))
    assert response.status_code == 200, response.get_json()
    [feature] = response.get_json()["features"]
    assert feature["properties"]["special_kind"] == "school"
