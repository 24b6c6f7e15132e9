"""The grid-count choropleth: RFC 7946 GeoJSON of cases per grid that GDAL (and so QGIS) opens
as is, with the right counts, the previous period's and the change, scoped like the rankings."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from server.cases.models import Case
from tests.conftest import under_ci
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, act

URL = "/api/v1/reports/grid-counts.geojson"
# Beijing-time months: 16:30 UTC on 31 October is 00:30 on 1 November in Beijing.
NOV_FIRST_MINUTES = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
MID_NOV = datetime(2026, 11, 15, 2, 0, tzinfo=UTC)
MID_OCT = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
LAST_OCT_MINUTES = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 Oct in Beijing
DEC = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
LINKED_IN_NOV = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def cases_over_two_months(client, login, file_case, db_session):  # noqa: ANN001, ANN201
    """T1-A1: 2 in November (+1 linked duplicate, +1 in December), 2 in October;
    T1-B2: 1 in November (category 02.01), 1 in October. T1-A1's cases lie under T1-S1."""

    def filed(at, received_at, **fields):  # noqa: ANN001, ANN003, ANN202
        case = file_case(at=at, **fields)
        db_session.execute(sa.update(Case).where(Case.id == uuid.UUID(case["id"]))
                           .values(received_at=received_at))
        return case

    master = filed(IN_T1_A1, NOV_FIRST_MINUTES)
    filed(IN_T1_A1, MID_NOV)
    duplicate = filed((IN_T1_A1[0] + 0.0002, IN_T1_A1[1]), MID_NOV)
    act(client, login("d1.dispatcher"), duplicate, "link", master_case_id=master["id"])
    db_session.execute(sa.update(Case).where(Case.id == uuid.UUID(duplicate["id"]))
                       .values(linked_at=LINKED_IN_NOV))
    filed(IN_T1_A1, DEC)
    filed(IN_T1_A1, MID_OCT)
    filed(IN_T1_A1, LAST_OCT_MINUTES)
    filed(IN_T1_B2, MID_NOV, category_code="02.01")
    filed(IN_T1_B2, MID_OCT)
    db_session.flush()


def _get(client, login, user="t1.dispatcher", **args):  # noqa: ANN001, ANN003, ANN202
    return client.get(URL, query_string={"period": "2026-11", **args}, headers=login(user))


def _by_code(doc: dict) -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in doc["features"]}


def test_a_township_month_counts_each_grid_against_the_month_before(
        client, world, login, cases_over_two_months):
    response = _get(client, login, unit_id=world.units["T1"].id)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/geo+json"
    assert "filename*=UTF-8''grid-counts-T1-2026-11.geojson" in \
        response.headers["Content-Disposition"]
    doc = json.loads(response.data)
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # RFC 7946: WGS-84 only, no crs member
    assert (doc["period"], doc["previous_period"]) == ("2026-11", "2026-10")
    counts = _by_code(doc)
    assert sorted(counts) == ["T1-A1", "T1-A2", "T1-B1", "T1-B2", "T1-C1", "T1-C2"]
    assert counts["T1-A1"] | {} == {
        "code": "T1-A1", "name": "Grid T1-A1", "kind": "basic", "township": "T1",
        "township_name": "Unit T1", "count": 2, "previous_count": 2, "change": 0,
        "retired_at": None}
    assert (counts["T1-B2"]["count"], counts["T1-B2"]["previous_count"]) == (1, 1)
    assert {counts[c]["count"] for c in ("T1-A2", "T1-B1", "T1-C1", "T1-C2")} == {0}
    a1 = next(f for f in doc["features"] if f["properties"]["code"] == "T1-A1")
    assert a1["id"] == world.grid_id("T1-A1")
    assert a1["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lon, lat = _first_position(a1["geometry"])
    assert 116.30 <= lon <= 116.31  # lon first, then lat
    assert 39.90 <= lat <= 39.91


def _first_position(geometry: dict) -> list[float]:
    coords = geometry["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return coords


def test_a_duplicate_linked_after_the_month_still_counts_in_it(
        client, world, login, cases_over_two_months, db_session):
    db_session.execute(sa.update(Case).where(Case.linked_at.is_not(None))
                       .values(linked_at=DEC))
    counts = _by_code(json.loads(_get(client, login, unit_id=world.units["T1"].id).data))
    assert counts["T1-A1"]["count"] == 3


def test_a_category_filter_a_district_and_special_grids(
        client, world, login, cases_over_two_months):
    only_01 = _by_code(json.loads(_get(client, login, unit_id=world.units["T1"].id,
                                       category="01").data))
    assert (only_01["T1-B2"]["count"], only_01["T1-B2"]["previous_count"]) == (0, 1)
    assert only_01["T1-A1"]["change"] == 0
    district = json.loads(_get(client, login, "d1.dispatcher",
                               unit_id=world.units["D1"].id).data)
    assert len(district["features"]) == 8
    assert {f["properties"]["township"] for f in district["features"]} == {"T1", "T2"}
    special = _by_code(json.loads(_get(client, login, unit_id=world.units["T1"].id,
                                       grid_kind="special").data))
    assert list(special) == ["T1-S1"]
    assert (special["T1-S1"]["count"], special["T1-S1"]["previous_count"]) == (2, 2)


def test_the_map_is_scoped_and_its_arguments_checked(client, world, login):
    t1 = world.units["T1"].id
    other_township = _get(client, login, "t2.dispatcher", unit_id=t1)
    assert other_township.status_code == 404
    assert other_township.get_json()["code"] == "unit_not_found"
    assert _get(client, login, "t1.worker", unit_id=t1).status_code == 403
    community = _get(client, login, unit_id=world.units["T1-C1"].id)
    assert community.status_code == 422
    assert community.get_json()["code"] == "unit_not_mappable"
    bad = _get(client, login, unit_id=t1, period="2026-13")
    assert bad.status_code == 422
    assert "period" in bad.get_json()["errors"]["query"]
    unknown = _get(client, login, unit_id=t1, colour="red")
    assert unknown.status_code == 422
    assert "colour" in unknown.get_json()["errors"]["query"]


def _ogrinfo() -> str:
    path = shutil.which("ogrinfo")
    if path is None:
        message = "GDAL's ogrinfo is not installed (Debian: apt-get install gdal-bin)"
        if under_ci():
            pytest.fail(message + " (CI is set: the GDAL check must run)", pytrace=False)
        pytest.skip(message)
    return path


def test_gdal_opens_the_served_file_in_wgs_84_with_every_geometry_valid(
        client, world, login, cases_over_two_months, tmp_path):
    ogrinfo = _ogrinfo()
    response = _get(client, login, "d1.dispatcher", unit_id=world.units["D1"].id)
    path = tmp_path / "grid-counts.geojson"
    path.write_bytes(response.data)
    layer = "grid-counts-D1-2026-11"  # GDAL names the layer after the collection's name

    summary = subprocess.run([ogrinfo, "-ro", "-al", "-so", str(path)], capture_output=True,
                             text=True, check=True).stdout
    assert f"Layer name: {layer}" in summary
    assert "Feature Count: 8" in summary
    assert 'GEOGCRS["WGS 84"' in summary
    assert "Extent: (116.300000, 39.900000) - (116.420000, 39.920000)" in summary
    for field in ("code: String", "count: Integer", "previous_count: Integer",
                  "change: Integer"):
        assert field in summary

    checked = subprocess.run(
        [ogrinfo, "-ro", "-q", "-dialect", "sqlite", "-sql",
         f'SELECT count(*) AS n, sum(ST_IsValid(geometry)) AS valid, sum("count") AS cases '
         f'FROM "{layer}"', str(path)],
        capture_output=True, text=True, check=True).stdout
    assert "n (Integer) = 8" in checked
    assert "valid (Integer) = 8" in checked
    assert "cases (Integer) = 3" in checked
