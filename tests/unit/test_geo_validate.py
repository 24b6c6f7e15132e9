"""Grid geometry problems come back as data with stable codes, and repairs say what changed."""

import pytest
import shapely

from geo.measure import area_m2
from geo.validate import GeometryProblem, as_multipolygon, check_grid_geometry, repair_grid_geometry

SQUARE = shapely.box(116.40, 39.90, 116.41, 39.91)
BOWTIE = shapely.Polygon([(116.40, 39.90), (116.41, 39.91), (116.41, 39.90), (116.40, 39.91)])


def codes(problems):
    return [problem.code for problem in problems]


def test_a_valid_grid_has_no_problems():
    assert check_grid_geometry(SQUARE) == []
    assert (
        check_grid_geometry(shapely.MultiPolygon([SQUARE, shapely.box(116.5, 39.9, 116.51, 39.91)]))
        == []
    )


def test_self_intersection_is_invalid_with_its_location_in_lon_lat():
    problems = check_grid_geometry(BOWTIE)
    invalid = next(p for p in problems if p.code == "geometry_invalid")
    assert invalid.location == pytest.approx((116.405, 39.905))
    assert invalid.reason == "The outline crosses or touches itself at (116.40500, 39.90500)."


def test_problems_are_frozen_values():
    problem = GeometryProblem("geometry_empty", "The geometry has no coordinates.", None)
    with pytest.raises(AttributeError):
        problem.code = "other"  # type: ignore[misc]
    assert problem == GeometryProblem("geometry_empty", "The geometry has no coordinates.", None)


@pytest.mark.parametrize(
    "geom",
    [
        shapely.Point(116.4, 39.9),
        shapely.LineString([(116.4, 39.9), (116.5, 40)]),
        shapely.GeometryCollection([SQUARE]),
    ],
)
def test_non_polygonal_geometry_is_reported_alone(geom):
    problems = check_grid_geometry(geom)
    assert codes(problems) == ["geometry_not_polygonal"]
    assert geom.geom_type in problems[0].reason


@pytest.mark.parametrize("geom", [None, shapely.Polygon(), shapely.MultiPolygon()])
def test_missing_or_empty_geometry_is_empty(geom):
    assert codes(check_grid_geometry(geom)) == ["geometry_empty"]


def test_swapped_coordinates_are_outside_china_at_the_first_bad_vertex():
    swapped = shapely.box(39.90, 116.40, 39.91, 116.41)
    problems = check_grid_geometry(swapped)
    assert codes(problems) == ["coordinates_outside_china"]
    assert problems[0].location == swapped.exterior.coords[0]
    assert "swapped" in problems[0].reason


def test_a_zero_area_sliver_is_degenerate():
    sliver = shapely.Polygon([(116.40, 39.90), (116.41, 39.91), (116.42, 39.92)])
    problems = check_grid_geometry(sliver)
    assert "geometry_degenerate" in codes(problems)


def test_a_tiny_polygon_is_degenerate_below_the_minimum_area():
    tiny = shapely.box(116.40, 39.90, 116.400005, 39.900005)  # about 0.2 m²
    assert codes(check_grid_geometry(tiny)) == ["geometry_degenerate"]
    assert check_grid_geometry(tiny, min_area_m2=0.01) == []


def test_a_degenerate_part_of_a_multipolygon_is_reported_with_its_number():
    multi = shapely.MultiPolygon([SQUARE, shapely.box(116.5, 39.9, 116.500001, 39.900001)])
    problems = check_grid_geometry(multi)
    assert codes(problems) == ["geometry_degenerate"]
    assert problems[0].reason.startswith("Part 2 of 2")
    assert problems[0].location == pytest.approx((116.5000005, 39.9000005))


def test_a_hole_outside_its_shell_is_invalid():
    polygon = shapely.Polygon(
        SQUARE.exterior.coords, [shapely.box(116.5, 39.9, 116.501, 39.901).exterior.coords]
    )
    problems = check_grid_geometry(polygon)
    assert codes(problems) == ["geometry_invalid"]
    assert problems[0].reason.startswith("A hole lies outside its polygon at (")


def test_repair_leaves_a_valid_grid_alone_and_reports_nothing():
    repaired, changes = repair_grid_geometry(SQUARE)
    assert repaired is SQUARE
    assert changes == []


def test_repair_splits_a_bowtie_into_two_triangles_and_says_so():
    repaired, changes = repair_grid_geometry(BOWTIE)
    assert repaired.geom_type == "MultiPolygon"
    assert len(repaired.geoms) == 2
    assert shapely.is_valid(repaired)
    assert len(changes) == 1
    assert changes[0].startswith(
        "self-intersecting ring at (116.40500, 39.90500) split into 2 polygons; area "
    )
    assert f"→ {area_m2(repaired):.1f} m²" in changes[0]


def test_repair_drops_parts_that_collapse_to_lines_and_reports_them():
    collapsed = shapely.Polygon(
        [(116.41, 39.90), (116.42, 39.90), (116.41, 39.90), (116.41, 39.90)]
    )
    repaired, changes = repair_grid_geometry(shapely.MultiPolygon([SQUARE, collapsed]))
    assert repaired.equals(SQUARE)
    assert "dropped 1 part(s) without area (LineString)" in changes


def test_repair_turns_a_hole_touching_its_shell_into_a_notch():
    polygon = shapely.from_wkt(
        "POLYGON((116.4 39.9, 116.5 39.9, 116.5 40, 116.4 40, 116.4 39.9),"
        "(116.4 39.9, 116.45 39.95, 116.45 39.9, 116.4 39.9))"
    )
    repaired, changes = repair_grid_geometry(polygon)
    assert repaired.geom_type == "Polygon"
    assert shapely.is_valid(repaired)
    assert repaired.area == pytest.approx(0.01 - 0.05 * 0.05 / 2)
    assert changes == [
        f"fixed self-intersection at (116.45000, 39.90000): 1 polygon(s) became 1; "
        f"area {area_m2(polygon):.1f} m² → {area_m2(repaired):.1f} m²"
    ]


def test_repair_of_overlapping_parts_keeps_all_the_area():
    multi = shapely.MultiPolygon(
        [shapely.box(116.40, 39.90, 116.42, 39.92), shapely.box(116.41, 39.91, 116.43, 39.93)]
    )
    repaired, changes = repair_grid_geometry(multi)
    assert shapely.is_valid(repaired)
    assert repaired.area == pytest.approx(shapely.union_all(list(multi.geoms)).area)
    assert changes
    assert "area" in changes[0]


def test_repair_refuses_what_has_no_area_left():
    with pytest.raises(ValueError, match="Nothing with an area"):
        repair_grid_geometry(shapely.Polygon([(116.40, 39.90), (116.45, 39.90), (116.50, 39.90)]))
    with pytest.raises(ValueError, match="empty"):
        repair_grid_geometry(shapely.Polygon())


def test_repair_reduces_a_collection_to_its_polygons():
    collection = shapely.GeometryCollection([SQUARE, shapely.Point(116.5, 39.9)])
    repaired, changes = repair_grid_geometry(collection)
    assert repaired.equals(SQUARE)
    assert "GeometryCollection reduced to its polygonal parts" in changes
    assert "dropped 1 part(s) without area (Point)" in changes


def test_as_multipolygon_wraps_polygons_and_keeps_multipolygons():
    wrapped = as_multipolygon(SQUARE)
    assert wrapped.geom_type == "MultiPolygon"
    assert wrapped.geoms[0].equals(SQUARE)
    multi = shapely.MultiPolygon([SQUARE])
    assert as_multipolygon(multi) is multi
    assert as_multipolygon(None).is_empty
    assert as_multipolygon(None).geom_type == "MultiPolygon"
    mixed = shapely.GeometryCollection([SQUARE, shapely.LineString([(116, 39), (117, 40)])])
    assert as_multipolygon(mixed).equals(wrapped)
    with pytest.raises(ValueError, match="no area"):
        as_multipolygon(shapely.Point(116.4, 39.9))
