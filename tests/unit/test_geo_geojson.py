"""GeoJSON parsing reports per-feature structural problems; output follows RFC 7946."""

import json
from pathlib import Path

import pytest
import shapely

from geo.geojson import (
    GeoJSONError,
    ParsedFeature,
    feature,
    feature_collection,
    parse_feature_collection,
)

MIXED = Path(__file__).resolve().parents[1] / "data" / "geo" / "grids_mixed.geojson"


@pytest.fixture(scope="module")
def parsed() -> list[ParsedFeature]:
    return parse_feature_collection(json.loads(MIXED.read_text(encoding="utf-8")))


def codes(item: ParsedFeature):
    return [problem.code for problem in item.problems]


def test_every_feature_is_returned_in_order_with_its_index(parsed):
    assert [item.index for item in parsed] == list(range(7))


def test_a_good_feature_has_geometry_properties_id_and_no_problems(parsed):
    good = parsed[0]
    assert good.problems == ()
    assert good.geometry.equals(shapely.box(116.40, 39.91, 116.41, 39.92))
    assert good.properties == {"code": "110101001001", "name": "东华门第一网格"}
    assert good.id == "g-001"


def test_an_invalid_but_readable_polygon_is_not_a_structural_problem(parsed):
    # Validity is check_grid_geometry's job, chosen by the caller.
    assert parsed[1].problems == ()
    assert parsed[1].id == 2
    assert not shapely.is_valid(parsed[1].geometry)


def test_null_geometry_is_missing(parsed):
    assert codes(parsed[2]) == ["geometry_missing"]
    assert parsed[2].geometry is None
    assert parsed[2].properties == {"code": "110101001003"}


def test_a_ring_with_three_positions_is_malformed(parsed):
    assert codes(parsed[3]) == ["geometry_malformed"]
    assert "fewer than 4 positions" in parsed[3].problems[0].reason


def test_a_point_where_a_grid_is_expected_is_the_wrong_type_but_still_returned(parsed):
    assert codes(parsed[4]) == ["geometry_wrong_type"]
    assert parsed[4].geometry.equals(shapely.Point(116.3975, 39.9087))


def test_altitudes_are_dropped_and_null_properties_become_empty(parsed):
    assert parsed[5].problems == ()
    assert not parsed[5].geometry.has_z
    assert parsed[5].properties == {}


def test_a_member_that_is_not_a_feature_is_malformed(parsed):
    assert codes(parsed[6]) == ["feature_malformed"]
    assert "'Banana'" in parsed[6].problems[0].reason


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({"type": "Polygon", "coordinates": None}, '"coordinates" is not an array'),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.4, "39.9"], [116.5, 39.9], [116.5, 40], [116.4, 39.9]]],
            },
            "not a finite number",
        ),
        ({"type": "Polygon", "coordinates": [[116.4, 39.9]]}, "fewer than 4 positions"),
        ({"type": "Polygon", "coordinates": [[None, None, None, None]]}, "not nested as arrays"),
        ({"type": "Point", "coordinates": [116.4]}, "does not have 2 or 3 numbers"),
        ({"type": "Circle", "coordinates": [116.4, 39.9]}, "unknown type 'Circle'"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.4, True], [116.5, 39.9], [116.5, 40], [116.4, 39.9]]],
            },
            "not a finite number",
        ),
    ],
)
def test_malformed_geometries_are_reported_not_raised(raw, fragment):
    [item] = parse_feature_collection(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": raw, "properties": {}}],
        }
    )
    assert codes(item) == ["geometry_malformed"]
    assert fragment in item.problems[0].reason
    assert item.geometry is None


def test_properties_that_are_not_an_object_are_reported():
    [item] = parse_feature_collection(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": None, "properties": ["x"]}],
        }
    )
    assert codes(item) == ["properties_malformed", "geometry_missing"]


def test_other_geometry_types_can_be_allowed_explicitly():
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [116.4, 39.9]},
                "properties": {},
            }
        ],
    }
    [item] = parse_feature_collection(doc, geometry_types=("Point",))
    assert item.problems == ()


@pytest.mark.parametrize(
    "doc",
    [
        [],
        "FeatureCollection",
        {"type": "Feature"},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": {}},
    ],
)
def test_a_document_that_is_not_a_feature_collection_raises(doc):
    with pytest.raises(GeoJSONError):
        parse_feature_collection(doc)


def test_geojson_error_is_a_value_error():
    assert issubclass(GeoJSONError, ValueError)


def test_feature_output_orients_exterior_rings_counter_clockwise_and_round_trips():
    clockwise = shapely.Polygon(shapely.box(116.40, 39.90, 116.41, 39.91).exterior.coords[::-1])
    out = feature(clockwise, {"code": "A"}, id="g-1")
    assert out["type"] == "Feature"
    assert out["id"] == "g-1"
    assert out["properties"] == {"code": "A"}
    ring = shapely.LinearRing(out["geometry"]["coordinates"][0])
    assert ring.is_ccw
    doc = json.loads(json.dumps(feature_collection([out])))
    [item] = parse_feature_collection(doc)
    assert item.problems == ()
    assert item.geometry.equals(clockwise)


def test_feature_without_geometry_or_id():
    out = feature(None, {})
    assert out == {"type": "Feature", "geometry": None, "properties": {}}
    assert feature_collection([out]) == {"type": "FeatureCollection", "features": [out]}
