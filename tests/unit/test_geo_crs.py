"""Coordinate conversions agree with published reference values and invert exactly."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import (
    CHINA_BOUNDS,
    CRS,
    from_wgs84,
    geometry_from_wgs84,
    geometry_to_wgs84,
    in_china,
    to_wgs84,
)
from geo.measure import distance_m

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat), longitude first. Source: googollee/eviltransform,
# python/test.py and go/transform_test.go (TESTS, stored there as lat, lng, lat, lng).
EVILTRANSFORM_WGS_GCJ = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_reproduces_eviltransform_reference_pairs(
    wgs_lon, wgs_lat, gcj_lon, gcj_lat
):
    lon, lat = from_wgs84(wgs_lon, wgs_lat, CRS.GCJ02)
    assert lon == pytest.approx(gcj_lon, abs=1e-10)
    assert lat == pytest.approx(gcj_lat, abs=1e-10)


@pytest.mark.parametrize(("wgs_lon", "wgs_lat", "gcj_lon", "gcj_lat"), EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_inverts_reference_pairs_to_better_than_1e7_degree(
    wgs_lon, wgs_lat, gcj_lon, gcj_lat
):
    lon, lat = to_wgs84(gcj_lon, gcj_lat, CRS.GCJ02)
    assert abs(lon - wgs_lon) < 1e-7
    assert abs(lat - wgs_lat) < 1e-7


def test_conversions_match_coordtransform_reference_output_for_beijing():
    # Source: wandergis/coordtransform, test/app.js, all four computed from (116.404, 39.915).
    assert from_wgs84(116.404, 39.915, CRS.GCJ02) == pytest.approx(
        (116.41024449916938, 39.91640428150164), abs=1e-10
    )
    gcj_to_bd = from_wgs84(*to_wgs84(116.404, 39.915, CRS.GCJ02), CRS.BD09)
    assert gcj_to_bd == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)
    # coordtransform's BD-09 -> GCJ-02 is Baidu's one-step approximate inverse, off by up
    # to ~2e-6 degree; ours is exact, so agreement is only to that approximation.
    bd_to_gcj = from_wgs84(*to_wgs84(116.404, 39.915, CRS.BD09), CRS.GCJ02)
    assert bd_to_gcj == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-6)
    # coordtransform's GCJ-02 -> WGS-84 is the one-step shortcut (metre-level error).
    gcj_to_wgs = to_wgs84(116.404, 39.915, CRS.GCJ02)
    assert gcj_to_wgs == pytest.approx((116.39775550083061, 39.91359571849836), abs=2e-5)
    assert from_wgs84(*gcj_to_wgs, CRS.GCJ02) == pytest.approx((116.404, 39.915), abs=1e-12)


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        # Source: hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to GCJ02").
        (CRS.WGS84, CRS.GCJ02, (123.00607541, 45.00197815)),
        # Source: hujiulong/gcoord, test/unit/crs/WGS84.spec.ts ("WGS84 to BD09").
        (CRS.WGS84, CRS.BD09, (123.0124491, 45.0083293)),
        # Source: hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to WGS84").
        (CRS.GCJ02, CRS.WGS84, (122.99395597, 44.99804071)),
        # Source: hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts ("GCJ02 to BD09").
        (CRS.GCJ02, CRS.BD09, (123.00636499, 45.00636899)),
        # Source: hujiulong/gcoord, test/unit/crs/BD09.spec.ts ("BD09 to GCJ02").
        (CRS.BD09, CRS.GCJ02, (122.99363304, 44.99365430)),
        # Source: hujiulong/gcoord, test/unit/crs/BD09.spec.ts ("BD09 to WGS84").
        (CRS.BD09, CRS.WGS84, (122.98762210, 44.99171540)),
    ],
)
def test_conversions_of_123_45_match_gcoord_reference_values(source, target, expected):
    # gcoord asserts toBeCloseTo(value, 5), i.e. within 5e-6; its inverses are iterative
    # only to 1e-6 (GCJ) or one-step (BD), so that is the agreement to expect.
    lon, lat = from_wgs84(*to_wgs84(123.0, 45.0, source), target)
    assert lon == pytest.approx(expected[0], abs=5e-6)
    assert lat == pytest.approx(expected[1], abs=5e-6)


def test_gcj02_offset_near_beijing_is_a_few_hundred_metres():
    lon, lat = from_wgs84(116.3975, 39.9087, CRS.GCJ02)  # Tian'anmen
    assert 300.0 < distance_m(116.3975, 39.9087, lon, lat) < 700.0


def test_cgcs2000_and_wgs84_are_the_identity():
    for crs in (CRS.WGS84, CRS.CGCS2000):
        assert to_wgs84(116.3975, 39.9087, crs) == (116.3975, 39.9087)
        assert from_wgs84(116.3975, 39.9087, crs) == (116.3975, 39.9087)


def test_crs_accepts_its_string_value():
    assert to_wgs84(116.41, 39.92, "gcj02") == to_wgs84(116.41, 39.92, CRS.GCJ02)
    with pytest.raises(ValueError, match="epsg"):
        to_wgs84(116.41, 39.92, "epsg:3857")


def test_scalars_give_floats_and_arrays_give_arrays_with_the_same_values():
    lons = np.array([116.3975, 121.4737, 113.2644])
    lats = np.array([39.9087, 31.2304, 23.1291])
    for crs in CRS:
        out_lon, out_lat = to_wgs84(lons, lats, crs)
        assert isinstance(out_lon, np.ndarray)
        assert out_lon.shape == (3,)
        for i in range(3):
            one = to_wgs84(float(lons[i]), float(lats[i]), crs)
            assert type(one[0]) is float
            assert one == pytest.approx((out_lon[i], out_lat[i]), abs=1e-12)


def test_mismatched_array_shapes_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        to_wgs84(np.zeros(3), np.zeros(2), CRS.GCJ02)


def test_nan_stays_nan_without_spoiling_other_points():
    lon, lat = to_wgs84(np.array([np.nan, 116.4]), np.array([np.nan, 39.9]), CRS.BD09)
    assert np.isnan(lon[0])
    assert np.isnan(lat[0])
    assert np.isfinite(lon[1])
    assert np.isfinite(lat[1])


china_lon = st.floats(CHINA_BOUNDS[0], CHINA_BOUNDS[2])
china_lat = st.floats(CHINA_BOUNDS[1], CHINA_BOUNDS[3])


@settings(max_examples=150, deadline=None, database=None)
@given(lon=china_lon, lat=china_lat, crs=st.sampled_from(list(CRS)))
def test_to_then_from_wgs84_returns_the_position_within_1e9_degree(lon, lat, crs):
    back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert abs(back[0] - lon) < 1e-9
    assert abs(back[1] - lat) < 1e-9
    back = from_wgs84(*to_wgs84(lon, lat, crs), crs)
    assert abs(back[0] - lon) < 1e-9
    assert abs(back[1] - lat) < 1e-9


def test_array_round_trip_over_china_is_exact_to_1e9_degree():
    rng = np.random.default_rng(7)
    lons = rng.uniform(CHINA_BOUNDS[0], CHINA_BOUNDS[2], 20_000)
    lats = rng.uniform(CHINA_BOUNDS[1], CHINA_BOUNDS[3], 20_000)
    for crs in CRS:
        back_lon, back_lat = to_wgs84(*from_wgs84(lons, lats, crs), crs)
        assert np.abs(back_lon - lons).max() < 1e-9
        assert np.abs(back_lat - lats).max() < 1e-9


def test_in_china_works_on_scalars_and_arrays():
    assert in_china(116.4, 39.9) is True
    assert in_china(39.9, 116.4) is False  # swapped
    assert in_china(float("nan"), 39.9) is False
    assert in_china(0.0, 0.0) is False
    result = in_china(np.array([116.4, 39.9, 112.3]), np.array([39.9, 116.4, 16.8]))
    assert result.tolist() == [True, False, True]  # the last is in the Paracel Islands


def test_geometry_conversion_moves_every_vertex_like_the_point_functions():
    square = shapely.box(116.40, 39.90, 116.41, 39.91)
    converted = geometry_from_wgs84(square, CRS.BD09)
    expected = [from_wgs84(x, y, CRS.BD09) for x, y in square.exterior.coords]
    assert np.allclose(converted.exterior.coords, expected, rtol=0, atol=1e-12)
    back = geometry_to_wgs84(converted, CRS.BD09)
    assert np.allclose(back.exterior.coords, square.exterior.coords, rtol=0, atol=1e-9)


def test_geometry_conversion_in_wgs84_returns_the_geometry_unchanged():
    square = shapely.box(116.40, 39.90, 116.41, 39.91)
    assert geometry_to_wgs84(square, CRS.CGCS2000) is square
