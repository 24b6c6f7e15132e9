"""Point-to-grid assignment over HTTP: inside, on borders, near, far, other CRSs, batches."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from geo.crs import CRS, from_wgs84
from tests.api.test_auth import assert_error
from tests.fixtures.world import grid_feature

VIAS = ("index", "database")


def assign(client, headers, lon, lat, *, crs="wgs84", via="index"):  # noqa: ANN001, ANN201
    response = client.post(f"/api/v1/assign?via={via}", json={"lon": lon, "lat": lat, "crs": crs},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("via", VIAS)
def test_a_point_inside_gets_its_basic_grid_and_the_special_grids_over_it(
    client, world, login, via
):
    found = assign(client, login("t1.worker"), 116.306, 39.904, via=via)
    assert found["method"] == "inside"
    assert found["basic_grid"]["code"] == "T1-A1"
    assert [g["code"] for g in found["special_grids"]] == ["T1-S1"]
    assert found["needs_triage"] is False
    assert found["explanation"] == "位于基础网格 T1-A1 内。"


@pytest.mark.parametrize("via", VIAS)
def test_a_point_on_a_shared_edge_gets_the_same_grid_every_time(client, world, login, via):
    headers = login("t1.dispatcher")
    answers = [assign(client, headers, 116.31, 39.905, via=via) for _ in range(3)]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["method"] == "boundary"
    assert answers[0]["basic_grid"]["code"] == "T1-A1"
    assert answers[0]["boundary_grid_codes"] == ["T1-A1", "T1-B1"]
    vertex = assign(client, headers, 116.31, 39.91, via=via)
    assert vertex["boundary_grid_codes"] == ["T1-A1", "T1-A2", "T1-B1", "T1-B2"]
    assert vertex["basic_grid"]["code"] == "T1-A1"
    assert vertex["explanation"].startswith("位于 T1-A1、T1-A2、T1-B1、T1-B2 的共有边界上")


@pytest.mark.parametrize("crs", [CRS.GCJ02, CRS.BD09, CRS.CGCS2000])
def test_a_point_in_another_crs_lands_where_its_wgs84_twin_does(client, world, login, crs):
    headers = login("t1.dispatcher")
    wgs = assign(client, headers, 116.325, 39.915)
    lon, lat = from_wgs84(116.325, 39.915, crs)
    twin = assign(client, headers, float(lon), float(lat), crs=crs.value)
    assert twin["basic_grid"] == wgs["basic_grid"]
    assert wgs["basic_grid"]["code"] == "T1-C2"
    assert twin["wgs84"] == pytest.approx(wgs["wgs84"], abs=1e-7)
    if crs is CRS.GCJ02:
        # Read as WGS-84 by mistake, the same numbers land hundreds of metres away.
        assert assign(client, headers, float(lon), float(lat))["basic_grid"] != wgs["basic_grid"]


@pytest.mark.parametrize("via", VIAS)
def test_a_point_just_outside_goes_to_the_nearest_grid_flagged(client, world, login, via):
    # 0.0002 deg of longitude east of T1's east edge is about 17 m.
    found = assign(client, login("t1.dispatcher"), 116.3302, 39.915, via=via)
    assert found["method"] == "nearest"
    assert found["basic_grid"]["code"] == "T1-C2"
    assert found["distance_m"] == pytest.approx(17.07, abs=0.05)
    assert found["needs_triage"] is False


@pytest.mark.parametrize("via", VIAS)
def test_a_point_far_from_every_grid_needs_manual_triage(client, world, login, via):
    found = assign(client, login("t1.dispatcher"), 116.36, 39.915, via=via)
    assert found["method"] == "none"
    assert found["basic_grid"] is None
    assert found["needs_triage"] is True
    assert found["explanation"].endswith("米内没有基础网格：转人工分拣。")


def test_a_retired_grid_takes_no_new_points(client, world, login):
    headers = login("admin")
    assert assign(client, headers, 116.415, 39.905)["basic_grid"]["code"] == "T2-B1"
    client.post(f"/api/v1/grids/{world.grid_id('T2-B1')}/retire", headers=headers)
    for via in VIAS:
        found = assign(client, headers, 116.415, 39.905, via=via)
        assert found["method"] == "none", via


def test_the_index_sees_grids_imported_after_it_was_built(client, world, login):
    headers = login("admin")
    assert assign(client, headers, 116.405, 39.915)["method"] == "none"
    body = {"type": "FeatureCollection",
            "features": [grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92))]}
    assert client.post("/api/v1/grids/import", json=body, headers=headers).status_code == 201
    assert assign(client, headers, 116.405, 39.915)["basic_grid"]["code"] == "T2-N1"


def test_coordinates_outside_china_are_refused(client, world, login):
    response = client.post("/api/v1/assign", json={"lon": 2.35, "lat": 48.85},
                           headers=login("t1.worker"))
    error = assert_error(response, 422, "coordinates_outside_china")
    assert "lon" in error["errors"]["json"]
    bad = client.post("/api/v1/assign", json={"lon": 200, "lat": 39.9}, headers=login("t1.worker"))
    assert "lon" in assert_error(bad, 422, "validation_failed")["errors"]["json"]


@pytest.mark.parametrize("via", VIAS)
def test_a_batch_answers_in_the_order_of_its_points(client, world, login, via):
    points = [{"lon": 116.415, "lat": 39.905}, {"lon": 116.306, "lat": 39.904},
              {"lon": 116.36, "lat": 39.915}]
    response = client.post(f"/api/v1/assign/batch?via={via}", json={"points": points},
                           headers=login("d1.dispatcher"))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["basic_grid"]["code"] if r["basic_grid"] else None for r in results] == \
        ["T2-B1", "T1-A1", None]


def test_a_batch_over_the_limit_or_with_a_point_abroad_is_refused(app, client, world, login):
    headers = login("d1.dispatcher")
    limit = app.config["MAX_BATCH_POINTS"]
    app.config["MAX_BATCH_POINTS"] = 2
    try:
        points = [{"lon": 116.4, "lat": 39.9}] * 3
        assert_error(client.post("/api/v1/assign/batch", json={"points": points}, headers=headers),
                     422, "too_many_points")
    finally:
        app.config["MAX_BATCH_POINTS"] = limit
    points = [{"lon": 116.4, "lat": 39.9}, {"lon": 2.35, "lat": 48.85}]
    error = assert_error(client.post("/api/v1/assign/batch", json={"points": points},
                                     headers=headers), 422, "coordinates_outside_china")
    assert list(error["errors"]["json"]["points"]) == ["1"]


def test_assignment_needs_a_token(client, world):
    assert_error(client.post("/api/v1/assign", json={"lon": 116.4, "lat": 39.9}), 401,
                 "unauthenticated")
