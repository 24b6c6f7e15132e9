"""Territory (issue 11): unit boundaries with history, tiling enforced at grid import,
the audit as GeoJSON, and exports that say their coordinate system."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import uuid

import pytest
import sqlalchemy as sa
from pyproj import Geod
from shapely import wkt
from shapely.geometry import box, mapping, shape

from geo.crs import CRS, geometry_from_wgs84
from server.grids.models import Grid, GridImport
from tests.api.test_auth import assert_error
from tests.conftest import under_ci
from tests.fixtures.world import grid_feature

GEOD = Geod(ellps="WGS84")
REASON = "the civil-affairs survey of 2026 moves this line"


def true_area_m2(geometry) -> float:  # noqa: ANN001
    area, _ = GEOD.geometry_area_perimeter(geometry)
    return abs(area)


def collection(*features) -> dict:  # noqa: ANN002
    return {"type": "FeatureCollection", "features": list(features)}


def import_grids(client, headers, body, **query):  # noqa: ANN001, ANN003, ANN201
    return client.post("/api/v1/grids/import", json=body, query_string=query, headers=headers)


def boundary_feature(code: str, geometry) -> dict:  # noqa: ANN001
    return {"type": "Feature", "geometry": mapping(geometry), "properties": {"code": code}}


def ogrinfo() -> str:
    path = shutil.which("ogrinfo")
    if path is None:
        message = "GDAL's ogrinfo is not installed (Debian: apt-get install gdal-bin)"
        if under_ci():
            pytest.fail(message + " (CI is set: the GDAL check must run)", pytrace=False)
        pytest.skip(message)
    return path


# --- unit boundaries ---------------------------------------------------------------------

def test_a_boundary_file_with_one_bad_feature_changes_nothing(client, world, login):
    headers = login("admin")
    body = collection(
        boundary_feature("T1", box(116.29, 39.89, 116.34, 39.93)),
        boundary_feature("T2", box(116.40, 39.90, 116.42, 39.92)),
        {"type": "Feature", "properties": {"code": "T3"},
         "geometry": {"type": "Polygon", "coordinates": [[[116.50, 39.90], [116.51, 39.91],
                                                          [116.51, 39.90], [116.50, 39.91],
                                                          [116.50, 39.90]]]}},
        boundary_feature("D1-CGZF", box(116.3, 39.9, 116.31, 39.91)),
        boundary_feature("NOPE", box(116.3, 39.9, 116.31, 39.91)),
    )
    response = client.post("/api/v1/units/boundaries/import", json=body, headers=headers)
    error = assert_error(response, 422, "boundary_import_rejected")
    assert "nothing was imported" in error["message"]
    found = {(p["index"], p["unit_code"], p["code"]) for p in error["details"]}
    assert found == {(2, "T3", "geometry_invalid"), (3, "D1-CGZF", "unit_has_no_area"),
                     (4, "NOPE", "unknown_unit")}
    exported = client.get("/api/v1/units/boundaries/export", query_string={"kind": "township"},
                          headers=headers).get_json()
    by_code = {f["properties"]["code"]: shape(f["geometry"]) for f in exported["features"]}
    assert by_code["T1"].equals(box(116.30, 39.90, 116.33, 39.92))  # unchanged


def test_a_boundary_import_in_gcj02_is_stored_in_wgs84_with_a_revision(client, world, login):
    headers = login("admin")
    wanted = box(116.295, 39.895, 116.335, 39.925)
    in_gcj = geometry_from_wgs84(wanted, CRS.GCJ02)
    response = client.post("/api/v1/units/boundaries/import?crs=gcj02",
                           json=collection(boundary_feature("T1", in_gcj)), headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["changed"] == 1
    exported = client.get("/api/v1/units/boundaries/export",
                          query_string={"kind": "township", "under": "D1"},
                          headers=headers).get_json()
    by_code = {f["properties"]["code"]: shape(f["geometry"]) for f in exported["features"]}
    assert set(by_code) == {"T1", "T2"}
    assert by_code["T1"].symmetric_difference(wanted).area < 1e-12
    unit_id = world.units["T1"].id
    [revision] = client.get(f"/api/v1/units/{unit_id}/revisions", headers=headers).get_json()
    assert revision["source"] == "boundary_import"
    assert revision["changed_by_user_id"] == str(world.users["admin"].id)
    assert shape(revision["boundary_before"]).equals(box(116.30, 39.90, 116.33, 39.92))
    assert shape(revision["boundary_after"]).symmetric_difference(wanted).area < 1e-12


def test_admins_edit_units_and_each_change_is_a_revision(client, world, login):
    headers = login("admin")
    unit_id = world.units["T1-C1"].id
    response = client.patch(f"/api/v1/units/{unit_id}", json={"name": "东风社区",
                                                               "population": 12_345},
                            headers=headers)
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["name"], response.get_json()["population"]) == ("东风社区", 12_345)
    moved = client.patch(f"/api/v1/units/{world.units['T1-SCH'].id}",
                         json={"parent_code": "T1-C1"}, headers=headers)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["parent_id"] == str(unit_id)
    [revision] = client.get(f"/api/v1/units/{unit_id}/revisions", headers=headers).get_json()
    assert revision["before"] == {"name": "Unit T1-C1", "population": 10_000}
    assert revision["after"] == {"name": "东风社区", "population": 12_345}
    refused = client.patch(f"/api/v1/units/{unit_id}", json={"parent_code": "D1"},
                           headers=headers)
    assert_error(refused, 422, "unit_parent_not_allowed")
    township = world.units["T3"].id
    outline = box(116.50, 39.90, 116.515, 39.91)
    edited = client.patch(f"/api/v1/units/{township}", json={
        "boundary": mapping(geometry_from_wgs84(outline, CRS.BD09)), "crs": "bd09"},
        headers=headers)
    assert edited.status_code == 200, edited.get_json()
    [revision] = client.get(f"/api/v1/units/{township}/revisions", headers=headers).get_json()
    assert revision["before"] == {"boundary": "changed"}
    assert shape(revision["boundary_before"]).equals(box(116.50, 39.90, 116.51, 39.91))
    assert shape(revision["boundary_after"]).hausdorff_distance(outline) < 1e-9
    bad = client.patch(f"/api/v1/units/{township}", json={"boundary": {"type": "Point",
                                                                       "coordinates": [1, 2]}},
                       headers=headers)
    assert_error(bad, 422, "boundary_invalid")
    assert_error(client.patch(f"/api/v1/units/{unit_id}", json={"name": "x"},
                              headers=login("d1.dispatcher")), 403, "permission_denied")
    assert_error(client.patch(f"/api/v1/units/{unit_id}", json={"colour": "red"},
                              headers=headers), 422, "validation_failed")


# --- tiling enforced at import -------------------------------------------------------------

def test_an_overlapping_basic_grid_is_refused_with_the_overlap_area(client, world, login):
    headers = login("admin")
    # T2-N1 reaches 0.002 degree down into T2-A1 (which covers lat 39.90-39.91).
    new = box(116.40, 39.908, 116.41, 39.92)
    overlap = box(116.40, 39.908, 116.41, 39.91)
    response = import_grids(client, headers, collection(grid_feature("T2-N1", "T2", new)))
    error = assert_error(response, 422, "grid_import_rejected")
    [problem] = error["details"]
    assert (problem["grid_code"], problem["code"], problem["other_grid_code"]) == (
        "T2-N1", "grid_overlap", "T2-A1")
    assert problem["area_m2"] == pytest.approx(true_area_m2(overlap), rel=0.01)
    assert problem["area_m2"] > 10_000  # ~222 m x 853 m, not a sliver
    assert overlap.contains(shape({"type": "Point", "coordinates": problem["location"]}))
    assert "T2-A1" in error["errors"]["json"]["features"]["0"]["geometry"][0]


def test_the_override_lets_it_in_and_is_recorded(client, world, login, db_session):
    body = collection(grid_feature("T2-N1", "T2", box(116.40, 39.908, 116.41, 39.92)))
    # Only admins override; a district dispatcher may import but not override.
    assert_error(import_grids(client, login("d1.dispatcher"), body, override_topology="true",
                              override_reason=REASON), 403, "permission_denied")
    headers = login("admin")
    no_reason = import_grids(client, headers, body, override_topology="true")
    assert "override_reason" in assert_error(no_reason, 422, "validation_failed")["errors"]["query"]
    response = import_grids(client, headers, body, override_topology="true",
                            override_reason=REASON)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["topology_override"] is True
    [overridden] = result["overridden"]
    assert (overridden["code"], overridden["other_grid_code"]) == ("grid_overlap", "T2-A1")
    record = db_session.get(GridImport, uuid.UUID(result["import_id"]))
    assert record.override_reason == REASON
    assert record.imported_by_user_id == world.users["admin"].id
    assert record.overridden_problems == result["overridden"]
    grid = db_session.scalar(sa.select(Grid).where(Grid.code == "T2-N1"))
    assert grid.import_id == record.id
    assert result["grids"][0]["import_id"] == str(record.id)
    # Auditors read the records; the overridden ones on their own.
    listed = client.get("/api/v1/grids/imports", query_string={"overridden": "true"},
                        headers=login("auditor")).get_json()
    assert [(r["id"], r["override_reason"]) for r in listed] == [(str(record.id), REASON)]
    assert listed[0]["overridden_problems"][0]["other_grid_code"] == "T2-A1"
    assert_error(client.get("/api/v1/grids/imports", headers=login("d1.dispatcher")), 403,
                 "permission_denied")


def test_overlaps_within_one_file_and_across_townships_are_refused(client, world, login):
    headers = login("d1.dispatcher")
    body = collection(grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.411, 39.92)),
                      grid_feature("T2-N2", "T2", box(116.41, 39.91, 116.42, 39.92)))
    error = assert_error(import_grids(client, headers, body), 422, "grid_import_rejected")
    assert {(p["grid_code"], p["other_grid_code"]) for p in error["details"]} == {
        ("T2-N1", "T2-N2"), ("T2-N2", "T2-N1")}
    # Edge-sharing neighbours and a grid replacing itself are no overlap.
    body = collection(grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92)),
                      grid_feature("T2-N2", "T2", box(116.41, 39.91, 116.42, 39.92)),
                      grid_feature("T2-A1", "T2", box(116.40, 39.90, 116.41, 39.91)))
    response = import_grids(client, headers, body, replace_existing="true")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["topology_override"] is False


def test_an_overlap_with_another_territorys_grid_does_not_name_it(client, world, login):
    # D2's dispatcher files a grid under T3 that lies over D1's T2-B1.
    body = collection(grid_feature("T3-X1", "T3", box(116.415, 39.90, 116.425, 39.91)))
    response = import_grids(client, login("d2.dispatcher"), body)
    error = assert_error(response, 422, "grid_import_rejected")
    overlap = next(p for p in error["details"] if p["code"] == "grid_overlap")
    assert overlap["other_grid_code"] is None
    assert "outside your territory" in overlap["reason"]
    assert "T2-B1" not in response.get_data(as_text=True)


def test_a_basic_grid_outside_its_township_is_refused(client, world, login):
    headers = login("admin")
    # Filed under T1 but lying in T1's east half and beyond it by 0.005 degree.
    new = box(116.325, 39.92, 116.335, 39.93)
    body = collection(grid_feature("T1-X1", "T1", new))
    error = assert_error(import_grids(client, headers, body), 422, "grid_import_rejected")
    [problem] = error["details"]
    assert problem["code"] == "outside_township"
    assert problem["area_m2"] == pytest.approx(true_area_m2(new), rel=0.01)  # all of it
    # A special grid may overlap basic grids but must stay in the district (T1 + T2 here).
    inside = grid_feature("T1-S2", "T1", box(116.301, 39.901, 116.302, 39.902), kind="special",
                          owner_unit="T1-SCH")
    outside = grid_feature("T1-S3", "T1", box(116.35, 39.90, 116.36, 39.91), kind="special",
                           owner_unit="T1-SCH")
    error = assert_error(import_grids(client, headers, collection(inside, outside)), 422,
                         "grid_import_rejected")
    assert [(p["grid_code"], p["code"]) for p in error["details"]] == [
        ("T1-S3", "outside_district")]
    assert import_grids(client, headers, collection(inside)).status_code == 201


# --- the audit as GeoJSON, exports that say their crs ---------------------------------------

def test_the_audit_as_geojson_opens_in_gdal_with_the_areas(client, world, login, tmp_path):
    headers = login("admin")
    body = collection(grid_feature("T2-A1", "T2", box(116.40, 39.90, 116.411, 39.91)))
    assert import_grids(client, headers, body, replace_existing="true", override_topology="true",
                        override_reason=REASON).status_code == 201
    response = client.get("/api/v1/townships/T2/topology-audit?format=geojson", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    doc = json.loads(response.data)
    problems = sorted(f["properties"]["problem"] for f in doc["features"])
    assert problems == ["gap", "overlap"]  # the northern half is uncovered; A1 into B1
    overlap = next(f for f in doc["features"] if f["properties"]["problem"] == "overlap")
    assert overlap["properties"]["area_m2"] == pytest.approx(
        true_area_m2(box(116.41, 39.90, 116.411, 39.91)), rel=0.01)
    path = tmp_path / "audit.geojson"
    path.write_bytes(response.data)
    summary = subprocess.run([ogrinfo(), "-ro", "-al", "-so", str(path)], capture_output=True,
                             text=True, check=True).stdout
    assert "Feature Count: 2" in summary
    assert 'GEOGCRS["WGS 84"' in summary
    assert "area_m2: Real" in summary


def test_geojson_exports_are_wgs84_only(client, world, login):
    headers = login("admin")
    for path in ("/api/v1/grids/export", "/api/v1/units/boundaries/export"):
        refused = client.get(path, query_string={"crs": "gcj02"}, headers=headers)
        error = assert_error(refused, 422, "validation_failed")
        assert "format=csv" in error["errors"]["query"]["crs"][0]


def test_a_gcj02_csv_export_is_read_by_gdal_at_the_gcj02_place(client, world, login, tmp_path):
    headers = login("admin")
    response = client.get("/api/v1/grids/export", headers=headers,
                          query_string={"crs": "gcj02", "format": "csv", "township": "T1"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["crs"] for r in rows} == {"gcj02"}
    a1 = next(r for r in rows if r["code"] == "T1-A1")
    expected = geometry_from_wgs84(box(116.30, 39.90, 116.31, 39.91), CRS.GCJ02)
    assert wkt.loads(a1["wkt"]).hausdorff_distance(expected) < 1e-6  # 7 decimals kept
    path = tmp_path / "grids-gcj02.csv"
    path.write_bytes(response.data)
    summary = subprocess.run([ogrinfo(), "-ro", "-al", "-so", str(path)], capture_output=True,
                             text=True, check=True).stdout
    assert "Feature Count: 7" in summary
    # GDAL takes the geometry from the wkt column and claims no system: nothing says WGS-84.
    assert "Layer SRS WKT:\n(unknown)" in summary
    west, south, east, north = geometry_from_wgs84(box(116.30, 39.90, 116.33, 39.92),
                                                   CRS.GCJ02).bounds
    [extent] = re.findall(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)",
                          summary)
    assert [float(v) for v in extent] == pytest.approx([west, south, east, north], abs=1e-6)
    # The GCJ-02 place is ~600 m from the WGS-84 one: the file is not WGS-84 mislabelled.
    _, _, offset_m = GEOD.inv(116.30, 39.90, west, south)
    assert 300 < offset_m < 900
    detail = subprocess.run([ogrinfo(), "-ro", "-al", "-q", "-where", "code = 'T1-A1'",
                             str(path)], capture_output=True, text=True, check=True).stdout
    assert "crs (String) = gcj02" in detail


# --- the commands ---------------------------------------------------------------------------

def test_the_commands_import_boundaries_override_tiling_and_print_the_audit_as_geojson(
        app, world, tmp_path, db_session):
    runner = app.test_cli_runner()
    boundaries = tmp_path / "townships.geojson"
    boundaries.write_text(json.dumps(collection(
        boundary_feature("T3", box(116.50, 39.90, 116.52, 39.91)))), encoding="utf-8")
    result = runner.invoke(args=["import-boundaries", str(boundaries)])
    assert result.exit_code == 0, result.output
    assert "changed 1 boundaries: T3" in result.output

    grids = tmp_path / "grids.geojson"
    grids.write_text(json.dumps(collection(
        grid_feature("T3-B1", "T3", box(116.505, 39.90, 116.52, 39.91)))), encoding="utf-8")
    refused = runner.invoke(args=["import-grids", str(grids)])
    assert refused.exit_code == 2
    assert "grid_overlap" in refused.output
    assert "T3-A1" in refused.output
    result = runner.invoke(args=["import-grids", str(grids), "--override-topology", REASON])
    assert result.exit_code == 0, result.output
    assert "overridden T3-B1" in result.output
    record = db_session.scalar(sa.select(GridImport).where(GridImport.source == "cli"))
    assert record.override_reason == REASON

    audit = runner.invoke(args=["audit", "T3", "--geojson"])
    assert audit.exit_code == 0, audit.output
    doc = json.loads(audit.output)
    assert [f["properties"]["problem"] for f in doc["features"]] == ["overlap"]
    assert doc["features"][0]["properties"]["area_m2"] == pytest.approx(
        true_area_m2(box(116.505, 39.90, 116.51, 39.91)), rel=0.01)
