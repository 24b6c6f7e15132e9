"""Coordinate systems used by Chinese map providers and every conversion between them.

Everything in the backend is stored in WGS-84 longitude/latitude (longitude first, always);
this module is the only place that knows how the other systems relate to it:

* ``CGCS2000`` (China Geodetic Coordinate System 2000, EPSG:4490) is treated as identical to
  WGS-84. The two datums agree to within a few centimetres, far below the precision of a
  street address or of a hand-drawn grid boundary.
* ``GCJ02`` ("Mars coordinates", used by AMap/Gaode, Tencent and Google Maps in China) is
  WGS-84 plus a published, deliberately irregular offset of a few hundred metres.
* ``BD09`` (Baidu Maps) is GCJ-02 with a second, Baidu-specific rotation and shift.

The GCJ-02 offset is a closed-form function of the WGS-84 position only, so converting
*to* GCJ-02 is exact while converting *from* it needs an iterative inverse. The offset is
applied everywhere, also outside China where real providers leave coordinates alone:
doing so keeps the functions continuous and exactly invertible, and callers reject
positions outside China with :func:`in_china` anyway.

All functions accept Python floats (and return floats) or numpy arrays (and return arrays);
arrays are processed in whole-array numpy operations, never point by point.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pyproj
import shapely


class CRS(StrEnum):
    WGS84 = "wgs84"
    CGCS2000 = "cgcs2000"
    GCJ02 = "gcj02"
    BD09 = "bd09"


# A rectangle, not China's outline: it contains the whole mainland, Hainan, Taiwan and the
# South China Sea islands down to about 3.8°N, and also bits of neighbouring countries. It is
# meant to catch swapped lat/lon, projected metres and stray zeros, not to decide borders.
CHINA_BOUNDS = (73.4, 3.8, 135.1, 53.6)  # lon_min, lat_min, lon_max, lat_max

# Krasovsky 1940 ellipsoid, which the published GCJ-02 algorithm is built on.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

# Baidu's rotation constant: pi * 3000 / 180.
_BD_X_PI = np.pi * 3000.0 / 180.0

# Iterative inverses stop once the forward function reproduces its target this closely
# (1e-12 degree is 0.1 micrometre); the step cap is only a safety net.
_INVERSE_TOLERANCE_DEG = 1e-12
_INVERSE_MAX_STEPS = 12


def in_china(lon, lat):
    """True where (lon, lat) lies inside :data:`CHINA_BOUNDS` (a bounding box, see there).

    Floats give a bool, numpy arrays give a bool array. NaN is never in China.
    """
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    lon_arr = np.asarray(lon, dtype=np.float64)
    lat_arr = np.asarray(lat, dtype=np.float64)
    inside = (
        (lon_arr >= lon_min) & (lon_arr <= lon_max) & (lat_arr >= lat_min) & (lat_arr <= lat_max)
    )
    if inside.ndim == 0:
        return bool(inside)
    return inside


def to_wgs84(lon, lat, crs: CRS) -> tuple:
    """Convert positions given in ``crs`` to WGS-84; returns ``(lon, lat)``."""
    crs = CRS(crs)
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    if crs is CRS.GCJ02:
        lon_arr, lat_arr = _gcj02_to_wgs84(lon_arr, lat_arr)
    elif crs is CRS.BD09:
        lon_arr, lat_arr = _gcj02_to_wgs84(*_bd09_to_gcj02(lon_arr, lat_arr))
    return _as_output(lon_arr, lat_arr, scalar)


def from_wgs84(lon, lat, crs: CRS) -> tuple:
    """Convert WGS-84 positions to ``crs``; returns ``(lon, lat)``."""
    crs = CRS(crs)
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    if crs is CRS.GCJ02:
        lon_arr, lat_arr = _wgs84_to_gcj02(lon_arr, lat_arr)
    elif crs is CRS.BD09:
        lon_arr, lat_arr = _gcj02_to_bd09(*_wgs84_to_gcj02(lon_arr, lat_arr))
    return _as_output(lon_arr, lat_arr, scalar)


def geometry_to_wgs84(geom, crs: CRS):
    """Return ``geom`` (any shapely geometry) with every vertex converted from ``crs``.

    Only vertices move; edges stay straight lines between them, which is accurate because
    the offsets change by millimetres over the length of a grid edge. Z values are dropped.
    """
    crs = CRS(crs)
    if crs in (CRS.WGS84, CRS.CGCS2000):
        return geom
    return shapely.transform(geom, lambda xy: _stack(*to_wgs84(xy[:, 0], xy[:, 1], crs)))


def geometry_from_wgs84(geom, crs: CRS):
    """Return ``geom`` with every vertex converted from WGS-84 to ``crs`` (see above)."""
    crs = CRS(crs)
    if crs in (CRS.WGS84, CRS.CGCS2000):
        return geom
    return shapely.transform(geom, lambda xy: _stack(*from_wgs84(xy[:, 0], xy[:, 1], crs)))


def to_local_metres(lon, lat, *, centre: tuple[float, float] | None = None):
    """Project WGS-84 positions onto a plane in metres around ``centre`` (default: the
    positions' mean): an azimuthal equidistant projection, so distances from the centre are
    exact and distances between points within a few tens of kilometres of it are off by
    well under 0.1 %. For clustering a district's cases by metres. Returns ``(x_m, y_m)``
    arrays and the centre used."""
    lon_arr, lat_arr, _ = _as_arrays(np.atleast_1d(lon), np.atleast_1d(lat))
    if centre is None:
        centre = (float(lon_arr.mean()), float(lat_arr.mean())) if lon_arr.size else (0.0, 0.0)
    aeqd = pyproj.Proj(proj="aeqd", lon_0=centre[0], lat_0=centre[1], ellps="WGS84")
    x_m, y_m = aeqd(lon_arr, lat_arr)
    return np.asarray(x_m, dtype=np.float64), np.asarray(y_m, dtype=np.float64), centre


def from_local_metres(x_m, y_m, centre: tuple[float, float]) -> tuple:
    """The inverse of :func:`to_local_metres` for the same centre: WGS-84 ``(lon, lat)``."""
    aeqd = pyproj.Proj(proj="aeqd", lon_0=centre[0], lat_0=centre[1], ellps="WGS84")
    lon, lat = aeqd(x_m, y_m, inverse=True)
    return lon, lat


def _as_arrays(lon, lat):
    lon_arr = np.asarray(lon, dtype=np.float64)
    lat_arr = np.asarray(lat, dtype=np.float64)
    if lon_arr.shape != lat_arr.shape:
        raise ValueError(f"lon and lat differ in shape: {lon_arr.shape} vs {lat_arr.shape}")
    return lon_arr, lat_arr, lon_arr.ndim == 0


def _as_output(lon_arr, lat_arr, scalar: bool) -> tuple:
    if scalar:
        return float(lon_arr), float(lat_arr)
    return lon_arr, lat_arr


def _stack(lon_arr, lat_arr):
    return np.column_stack((lon_arr, lat_arr))


def _gcj02_offset(lon, lat):
    """The published GCJ-02 offset (dlon, dlat) in degrees at WGS-84 position (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    # The shared periodic term of both polynomials.
    wave = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + wave
    dlat = dlat + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + wave
    dlon = dlon + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    # The polynomials give metres on the Krasovsky ellipsoid; scale them to degrees.
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs84_to_gcj02(lon, lat):
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj02_to_wgs84(gcj_lon, gcj_lat):
    # The common one-step shortcut (offset evaluated at the GCJ position) is off by up to
    # ~2 m; iterating converges to the exact inverse of the forward function.
    return _invert(_wgs84_to_gcj02, gcj_lon, gcj_lat, gcj_lon.copy(), gcj_lat.copy())


def _invert(forward, target_lon, target_lat, lon, lat):
    """Solve forward(lon, lat) == target by fixed-point iteration from the first guess.

    Works because both offsets change by at most a few thousandths of a degree per degree,
    so each step shrinks the error over 100-fold: GCJ-02 takes six steps over China, BD-09
    five, to reach 1e-12 degree.
    """
    for _ in range(_INVERSE_MAX_STEPS):
        fwd_lon, fwd_lat = forward(lon, lat)
        err_lon = fwd_lon - target_lon
        err_lat = fwd_lat - target_lat
        lon = lon - err_lon
        lat = lat - err_lat
        worst = max(_abs_max(err_lon), _abs_max(err_lat))
        if worst < _INVERSE_TOLERANCE_DEG:
            break
    return lon, lat


def _abs_max(values) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _gcj02_to_bd09(lon, lat):
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02(bd_lon, bd_lat):
    # Baidu's published inverse is itself approximate (off by up to ~2e-6 degree, 0.2 m);
    # it is only the first guess for the exact inverse of the forward formula.
    x = bd_lon - 0.0065
    y = bd_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return _invert(_gcj02_to_bd09, bd_lon, bd_lat, z * np.cos(theta), z * np.sin(theta))
