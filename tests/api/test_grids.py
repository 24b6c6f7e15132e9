"""Grid import (all or nothing, with repair and replacement), export, listing and retiring."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon, box, shape

from geo.crs import CRS, from_wgs84
from tests.api.test_auth import assert_error
from tests.fixtures.world import grid_feature

# In T2's free northern half (the import refuses grids outside their township).
BOWTIE = Polygon([(116.40, 39.91), (116.41, 39.92), (116.41, 39.91), (116.40, 39.92)])


def collection(*features) -> dict:  # noqa: ANN002
    return {"type": "FeatureCollection", "features": list(features)}


def codes(client, headers, **query) -> set[str]:  # noqa: ANN001, ANN003
    response = client.get("/api/v1/grids", query_string={"limit": 1000, **query}, headers=headers)
    return {g["code"] for g in response.get_json()["items"]}


def test_import_stores_grids_and_export_gives_them_back(client, world, login):
    headers = login("admin")
    body = collection(grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92),
                                   community="T2-C1"),
                      grid_feature("T2-N2", "T2", box(116.41, 39.91, 116.42, 39.92)))
    response = client.post("/api/v1/grids/import", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["imported"] == 2
    assert {g["code"] for g in result["grids"]} == {"T2-N1", "T2-N2"}
    n1 = next(g for g in result["grids"] if g["code"] == "T2-N1")
    assert n1["community"]["code"] == "T2-C1"
    assert n1["area_m2"] == pytest.approx(1111.95 * 853.6, rel=0.01)  # 0.01 deg x 0.01 deg at 39.9N
    exported = client.get("/api/v1/grids/export", query_string={"township": "T2"},
                          headers=headers).get_json()
    by_code = {f["properties"]["code"]: f for f in exported["features"]}
    assert set(by_code) == {"T2-A1", "T2-B1", "T2-N1", "T2-N2"}
    assert shape(by_code["T2-N1"]["geometry"]).equals(box(116.40, 39.91, 116.41, 39.92))
    basic_only = client.get("/api/v1/grids/export", query_string={"kind": "special"},
                            headers=headers).get_json()
    assert {f["properties"]["code"] for f in basic_only["features"]} == {"T1-S1"}


def test_a_self_intersecting_polygon_rejects_the_whole_file(client, world, login):
    headers = login("admin")
    body = collection(grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92)),
                      grid_feature("T2-BAD", "T2", BOWTIE))
    response = client.post("/api/v1/grids/import", json=body, headers=headers)
    error = assert_error(response, 422, "grid_import_rejected")
    assert "nothing was imported" in error["message"]
    [problem] = error["details"]
    assert problem["index"] == 1
    assert problem["grid_code"] == "T2-BAD"
    assert problem["code"] == "geometry_invalid"
    assert "crosses or touches itself" in problem["reason"]
    assert problem["location"] == pytest.approx([116.405, 39.915])
    assert "geometry" in error["errors"]["json"]["features"]["1"]
    assert not codes(client, headers) & {"T2-N1", "T2-BAD"}


def test_repair_stores_a_valid_grid_and_reports_the_change(client, world, login, db_session):
    headers = login("admin")
    body = collection(grid_feature("T2-BAD", "T2", BOWTIE))
    response = client.post("/api/v1/grids/import?repair=true", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    [repair] = response.get_json()["repairs"]
    assert repair["grid_code"] == "T2-BAD"
    assert repair["changes"]
    grid_id = response.get_json()["grids"][0]["id"]
    stored = client.get(f"/api/v1/grids/{grid_id}", headers=headers).get_json()
    repaired = shape(stored["geometry"])
    assert repaired.is_valid
    # make_valid splits the bow-tie into its two triangles, each a quarter of the square.
    assert len(repaired.geoms) == 2
    assert repaired.area == pytest.approx(0.5 * 0.01 * 0.01)


@pytest.mark.parametrize(
    ("feature", "field", "code"),
    [
        (grid_feature("X-1", "T2", box(2.0, 48.0, 2.01, 48.01)), "geometry", "coordinates_outside_china"),  # noqa: E501 - a table row
        (grid_feature("X-1", "NOPE", box(116.40, 39.91, 116.41, 39.92)), "properties.township", "unknown_township"),  # noqa: E501 - a table row
        (grid_feature("X-1", "T2", box(116.40, 39.91, 116.41, 39.92), community="T1-C1"), "properties.community", "unknown_community"),  # noqa: E501 - a table row
        (grid_feature("T2-A1", "T2", box(116.40, 39.91, 116.41, 39.92)), "properties.code", "duplicate_grid_code"),  # noqa: E501 - a table row
        (grid_feature("bad code!", "T2", box(116.40, 39.91, 116.41, 39.92)), "properties.code", "grid_code_invalid"),  # noqa: E501 - a table row
        (grid_feature("X-1", "T2", box(116.40, 39.91, 116.41, 39.92), kind="round"), "properties.kind", "grid_kind_invalid"),  # noqa: E501 - a table row
        (grid_feature("X-1", "T2", {"type": "LineString", "coordinates": [[116.4, 39.9], [116.41, 39.91]]}), "geometry", "geometry_wrong_type"),  # noqa: E501 - a table row
        (grid_feature("X-1", "T2", {"type": "Polygon", "coordinates": [[[116.4, 39.9], [116.400001, 39.9], [116.4, 39.900001], [116.4, 39.9]]]}), "geometry", "geometry_degenerate"),  # noqa: E501 - a table row
    ],
)
def test_each_kind_of_bad_feature_has_its_own_code(client, world, login, feature, field, code):
    response = client.post("/api/v1/grids/import", json=collection(feature), headers=login("admin"))
    error = assert_error(response, 422, "grid_import_rejected")
    assert {(p["field"], p["code"]) for p in error["details"]} >= {(field, code)}


def test_duplicate_codes_inside_one_file_are_reported(client, world, login):
    body = collection(grid_feature("X-1", "T2", box(116.40, 39.91, 116.41, 39.92)),
                      grid_feature("X-1", "T2", box(116.41, 39.91, 116.42, 39.92)))
    error = assert_error(client.post("/api/v1/grids/import", json=body, headers=login("admin")),
                         422, "grid_import_rejected")
    assert [(p["index"], p["code"]) for p in error["details"]] == [(1, "duplicate_grid_code")]


def test_replacing_a_grid_keeps_its_history_and_its_workers(client, world, login):
    headers = login("admin")
    old_id = world.grid_id("T2-A1")
    body = collection(grid_feature("T2-A1", "T2", box(116.40, 39.90, 116.408, 39.91)))
    response = client.post("/api/v1/grids/import?replace_existing=true", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["replaced_codes"] == ["T2-A1"]
    new = response.get_json()["grids"][0]
    assert new["replaces_id"] == old_id
    old = client.get(f"/api/v1/grids/{old_id}", headers=headers).get_json()
    assert old["retired_at"] is not None
    assert shape(old["geometry"]).equals(box(116.40, 39.90, 116.41, 39.91))
    listed = client.get("/api/v1/grids", query_string={"include_retired": "true", "township": "T2"},
                        headers=headers).get_json()["items"]
    assert sorted((g["code"], g["retired_at"] is None) for g in listed) == [
        ("T2-A1", False), ("T2-A1", True), ("T2-B1", True)]
    # The grid worker of T2-A1 now holds the new version.
    worker = login("t2.worker")
    assert client.get(f"/api/v1/grids/{new['id']}", headers=worker).status_code == 200


def test_coordinates_in_gcj02_are_stored_in_wgs84(client, world, login):
    headers = login("admin")
    wgs = box(116.40, 39.91, 116.41, 39.92)
    lons, lats = from_wgs84([116.40, 116.41, 116.41, 116.40, 116.40],
                            [39.91, 39.91, 39.92, 39.92, 39.91], CRS.GCJ02)
    ring = [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]
    gcj = {"type": "Polygon", "coordinates": [ring]}
    body = collection(grid_feature("T2-G1", "T2", gcj))
    response = client.post("/api/v1/grids/import?crs=gcj02", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    grid_id = response.get_json()["grids"][0]["id"]
    stored = shape(client.get(f"/api/v1/grids/{grid_id}", headers=headers).get_json()["geometry"])
    assert stored.symmetric_difference(wgs).area < 1e-12
    as_gcj = client.get(f"/api/v1/grids/{grid_id}?crs=gcj02", headers=headers).get_json()
    assert as_gcj["crs"] == "gcj02"
    assert shape(as_gcj["geometry"]).symmetric_difference(shape(gcj)).area < 1e-12


def test_malformed_collections_are_refused_before_any_feature(client, world, login):
    headers = login("admin")
    assert_error(client.post("/api/v1/grids/import", json={"type": "Feature"}, headers=headers),
                 422, "validation_failed")
    assert_error(client.post("/api/v1/grids/import", json=collection(), headers=headers),
                 422, "geojson_empty")
    assert_error(client.post("/api/v1/grids/import?crs=mars", json=collection(), headers=headers),
                 422, "validation_failed")


def test_an_oversize_body_gets_413(app, client, world, login):
    headers = login("admin")
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        big = collection(*[grid_feature(f"X-{i}", "T2", box(116.40, 39.91, 116.41, 39.92))
                           for i in range(20)])
        assert_error(client.post("/api/v1/grids/import", json=big, headers=headers),
                     413, "payload_too_large")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit


def test_retiring_a_grid_twice_conflicts(client, world, login):
    headers = login("admin")
    url = f"/api/v1/grids/{world.grid_id('T2-B1')}/retire"
    retired = client.post(url, headers=headers)
    assert retired.status_code == 200
    assert retired.get_json()["retired_at"]
    assert_error(client.post(url, headers=headers), 409, "grid_already_retired")
    assert "T2-B1" not in codes(client, headers)


def test_listing_pages_through_every_grid_once(client, world, login):
    headers = login("admin")
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/grids", query_string=query, headers=headers).get_json()
        seen += [g["code"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 10
    assert_error(client.get("/api/v1/grids?cursor=garbage", headers=headers), 422, "invalid_cursor")


def test_the_topology_audit_finds_a_planted_overlap_and_gap_with_their_areas(client, world, login):
    from pyproj import Geod

    geod = Geod(ellps="WGS84")

    def true_area(geometry) -> float:  # noqa: ANN001
        area, _ = geod.geometry_area_perimeter(geometry)
        return abs(area)

    headers = login("admin")
    # T2 spans lon 116.40-116.42, lat 39.90-39.92; T2-A1 and T2-B1 tile its southern half,
    # T2-N1 and T2-N2 its northern. Shrink T2-B1 to leave a gap on its east side and stretch
    # T2-A1 into T2-B1 (the import refuses that overlap without the admin's override).
    gap = box(116.418, 39.90, 116.42, 39.91)
    overlap = box(116.41, 39.90, 116.411, 39.91)
    body = collection(grid_feature("T2-A1", "T2", box(116.40, 39.90, 116.411, 39.91)),
                      grid_feature("T2-B1", "T2", box(116.41, 39.90, 116.418, 39.91)),
                      grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92)),
                      grid_feature("T2-N2", "T2", box(116.41, 39.91, 116.42, 39.92)))
    assert client.post("/api/v1/grids/import", json=body, query_string={
        "replace_existing": "true", "override_topology": "true",
        "override_reason": "planting an overlap for the audit"},
        headers=headers).status_code == 201
    audit = client.get("/api/v1/townships/T2/topology-audit", headers=headers).get_json()
    assert audit["clean"] is False
    [found_overlap] = audit["overlaps"]
    assert (found_overlap["code_a"], found_overlap["code_b"]) == ("T2-A1", "T2-B1")
    assert found_overlap["area_m2"] == pytest.approx(true_area(overlap), rel=0.01)
    [found_gap] = audit["gaps"]
    assert found_gap["area_m2"] == pytest.approx(true_area(gap), rel=0.01)
    assert shape(found_gap["geometry"]).symmetric_difference(gap).area < 1e-12
    assert client.get("/api/v1/townships/T1/topology-audit", headers=headers).get_json()["clean"]


def test_the_audit_command_prints_the_same_report(app, world):
    result = app.test_cli_runner().invoke(args=["audit", "T1"])
    assert result.exit_code == 0, result.output
    assert '"clean": true' in result.output
