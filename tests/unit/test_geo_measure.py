"""Distances and areas are geodesic metres, checked against independent references."""

import math

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.measure import (
    Outlines,
    area_m2,
    degree_margin,
    distance_m,
    planar_area_m2,
    point_to_geometry_distance_m,
)

GEOD = pyproj.Geod(ellps="WGS84")


def test_distance_matches_the_geographiclib_jfk_to_lhr_example():
    # GeographicLib's GeodSolve example, quoted in mrJean1/PyGeodesy pygeodesy/geodsolve.py:
    # Inverse(40.6, -73.8, 51.6, -0.5) -> s12 = 5551759.400319 m.
    assert distance_m(-73.8, 40.6, -0.5, 51.6) == pytest.approx(5551759.400319, abs=1e-6)


def test_one_degree_of_latitude_at_the_equator_is_the_meridian_arc():
    assert distance_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(110574.389, abs=1e-3)


def _truth_area_m2(lon_min, lat_min, lon_max, lat_max):
    lons = [lon_min, lon_max, lon_max, lon_min]
    lats = [lat_min, lat_min, lat_max, lat_max]
    return abs(GEOD.polygon_area_perimeter(lons, lats)[0])


def test_area_of_a_rectangle_near_beijing_matches_pyproj():
    square = shapely.box(116.40, 39.90, 116.41, 39.91)
    assert area_m2(square) == pytest.approx(_truth_area_m2(116.40, 39.90, 116.41, 39.91), rel=1e-9)
    assert 900_000 < area_m2(square) < 1_000_000  # ~853 m x 1110 m


def test_area_ignores_ring_orientation_and_subtracts_holes():
    outer = _truth_area_m2(116.40, 39.90, 116.42, 39.92)
    hole = _truth_area_m2(116.405, 39.905, 116.41, 39.91)
    ccw = shapely.Polygon(
        shapely.box(116.40, 39.90, 116.42, 39.92).exterior.coords,
        [shapely.box(116.405, 39.905, 116.41, 39.91).exterior.coords],
    )
    cw = shapely.Polygon(ccw.exterior.coords[::-1], [ccw.interiors[0].coords[::-1]])
    assert area_m2(ccw) == pytest.approx(outer - hole, rel=1e-9)
    assert area_m2(cw) == pytest.approx(outer - hole, rel=1e-9)


def test_area_sums_multipolygons_and_ignores_lines_and_points_in_collections():
    a = shapely.box(116.40, 39.90, 116.41, 39.91)
    b = shapely.box(116.50, 39.90, 116.51, 39.91)
    collection = shapely.GeometryCollection(
        [
            a,
            shapely.LineString([(116, 39), (117, 40)]),
            shapely.Point(116, 39),
            shapely.MultiPolygon([b]),
        ]
    )
    assert area_m2(shapely.MultiPolygon([a, b])) == pytest.approx(area_m2(a) + area_m2(b))
    assert area_m2(collection) == pytest.approx(area_m2(a) + area_m2(b))
    assert area_m2(shapely.Polygon()) == 0.0
    assert area_m2(None) == 0.0


def test_planar_area_agrees_with_geodesic_area_but_is_zero_for_a_collinear_sliver():
    square = shapely.box(116.40, 39.90, 116.41, 39.91)
    assert planar_area_m2(square) == pytest.approx(area_m2(square), rel=1e-4)
    sliver = shapely.Polygon([(116.40, 39.90), (116.45, 39.90), (116.50, 39.90)])
    assert planar_area_m2(sliver) == 0.0
    assert area_m2(sliver) > 1.0  # geodesic edges bulge apart


SQUARE = shapely.box(116.40, 39.90, 116.41, 39.91)


@pytest.mark.parametrize(("lon", "lat"), [(116.405, 39.905), (116.40, 39.905), (116.41, 39.91)])
def test_point_distance_is_zero_inside_and_on_the_boundary(lon, lat):
    assert point_to_geometry_distance_m(lon, lat, SQUARE) == 0.0


def test_point_distance_to_an_edge_is_the_geodesic_to_the_foot_of_the_perpendicular():
    assert point_to_geometry_distance_m(116.42, 39.905, SQUARE) == pytest.approx(
        distance_m(116.42, 39.905, 116.41, 39.905), abs=1e-6
    )
    assert point_to_geometry_distance_m(116.405, 39.92, SQUARE) == pytest.approx(
        distance_m(116.405, 39.92, 116.405, 39.91), abs=1e-6
    )


def test_point_distance_to_a_corner_is_the_geodesic_to_the_corner():
    assert point_to_geometry_distance_m(116.42, 39.92, SQUARE) == pytest.approx(
        distance_m(116.42, 39.92, 116.41, 39.91), abs=1e-9
    )


def test_point_distance_to_an_empty_geometry_is_infinite():
    assert point_to_geometry_distance_m(116.4, 39.9, shapely.Polygon()) == math.inf


def test_point_distance_measures_to_the_nearest_part_and_counts_holes():
    far = shapely.box(116.60, 39.90, 116.61, 39.91)
    assert point_to_geometry_distance_m(116.42, 39.905, shapely.MultiPolygon([SQUARE, far])) == (
        pytest.approx(point_to_geometry_distance_m(116.42, 39.905, SQUARE), abs=1e-9)
    )
    donut = shapely.Polygon(
        shapely.box(116.40, 39.90, 116.42, 39.92).exterior.coords,
        [shapely.box(116.405, 39.905, 116.415, 39.915).exterior.coords],
    )
    assert point_to_geometry_distance_m(116.41, 39.906, donut) == pytest.approx(
        distance_m(116.41, 39.906, 116.41, 39.905), abs=1e-6
    )


def _dense_min_distance_m(lon, lat, geom):
    """Geodesic distance to finely sampled points of every edge, refined around the best."""
    best = math.inf
    for ring in [geom.exterior, *geom.interiors]:
        coords = list(ring.coords)
        for (ax, ay), (bx, by) in zip(coords[:-1], coords[1:], strict=True):
            lo, hi = 0.0, 1.0
            for _ in range(3):
                t = np.linspace(lo, hi, 401)
                _, _, d = GEOD.inv(
                    np.full(t.size, lon),
                    np.full(t.size, lat),
                    ax + t * (bx - ax),
                    ay + t * (by - ay),
                )
                k = int(np.argmin(d))
                lo, hi = t[max(k - 1, 0)], t[min(k + 1, t.size - 1)]
                best = min(best, float(d[k]))
    return best


@settings(max_examples=60, deadline=None, database=None)
@given(
    vertices=st.lists(
        st.tuples(st.floats(-0.02, 0.02), st.floats(-0.02, 0.02)), min_size=3, max_size=7
    ),
    point=st.tuples(st.floats(-0.03, 0.03), st.floats(-0.03, 0.03)),
)
def test_point_distance_agrees_with_dense_geodesic_sampling_to_a_tenth_of_a_millimetre(
    vertices, point
):
    polygon = shapely.convex_hull(shapely.MultiPoint([(116.4 + x, 40.0 + y) for x, y in vertices]))
    if polygon.geom_type != "Polygon" or area_m2(polygon) < 1.0:
        return
    lon, lat = 116.4 + point[0], 40.0 + point[1]
    ours = point_to_geometry_distance_m(lon, lat, polygon)
    if ours == 0.0:
        # Covered, or on the outline to within floating point (see the test below).
        assert polygon.distance(shapely.Point(lon, lat)) < 1e-12
        return
    reference = _dense_min_distance_m(lon, lat, polygon)
    assert ours == pytest.approx(reference, abs=1e-4)


def test_a_point_on_an_edge_to_within_floating_point_is_at_zero_metres():
    # Found by hypothesis: the midpoint of an edge lies 3.6e-15 degrees (0.4 nm) off it, so
    # shapely's exact predicate says "outside" while the distance is 0 m. Zero is the right
    # answer for assignment, which compares distances at centimetre resolution.
    offsets = [(0.0, 0.015625), (0.0, 0.002145966906757075), (0.015625, 0.0017223706723664862)]
    polygon = shapely.convex_hull(shapely.MultiPoint([(116.4 + x, 40.0 + y) for x, y in offsets]))
    (ax, ay), (bx, by) = polygon.exterior.coords[0], polygon.exterior.coords[1]
    lon, lat = ax + 0.5 * (bx - ax), ay + 0.5 * (by - ay)
    assert not polygon.intersects(shapely.Point(lon, lat))  # the predicate's exact answer
    assert polygon.distance(shapely.Point(lon, lat)) < 1e-12
    assert point_to_geometry_distance_m(lon, lat, polygon) == 0.0


def test_outlines_answer_many_pairs_like_the_single_point_function():
    geoms = [SQUARE, shapely.box(116.60, 39.90, 116.61, 39.91), shapely.Polygon()]
    outlines = Outlines(geoms)
    lons = np.array([116.42, 116.405, 116.62, 116.5])
    lats = np.array([39.905, 39.905, 39.95, 39.9])
    which = np.array([0, 0, 1, 2])
    result = outlines.distance_m(lons, lats, which)
    for i in range(4):
        assert result[i] == point_to_geometry_distance_m(lons[i], lats[i], geoms[which[i]])


@settings(max_examples=150, deadline=None, database=None)
@given(
    lat=st.floats(-80.0, 80.0),
    metres=st.floats(0.0, 50_000.0),
    azimuth=st.floats(-180.0, 180.0),
    fraction=st.floats(0.0, 1.0),
)
def test_degree_margin_is_never_smaller_than_the_true_offset(lat, metres, azimuth, fraction):
    dlon, dlat = degree_margin(lat, metres)
    lon2, lat2, _ = GEOD.fwd(116.0, lat, azimuth, metres * fraction)
    assert abs(lon2 - 116.0) <= dlon
    assert abs(lat2 - lat) <= dlat


def test_degree_margin_is_tight_enough_to_be_useful_and_vectorised():
    dlon, dlat = degree_margin(40.0, 100.0)
    assert dlat < 100.0 / 110_000 * 1.01
    assert dlon < 100.0 / (111_320 * math.cos(math.radians(40.0))) * 1.01
    dlons, dlats = degree_margin(np.array([30.0, 40.0]), 100.0)
    assert dlons.shape == dlats.shape == (2,)
    assert dlons[1] == dlon
    assert dlats[1] == dlat
