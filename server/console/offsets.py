"""WGS-84 → GCJ-02 offsets on a regular lattice, for the console map to interpolate.

The map draws on GCJ-02 tiles when ``GRID_MAP_TILES_CRS=gcj02``: every overlay point is moved
by the offset at its place. The offset is smooth (its shortest wave is 1/3 degree), so a
bilinear interpolation on a 0.01° lattice is within about 0.1 m of ``geo.crs`` itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.crs import CRS, from_wgs84

STEP_DEG = 0.01
MAX_SIDE = 201  # lattice points per side: 2 degrees at STEP_DEG, coarser beyond
MARGIN_DEG = 0.02  # the map pans a little outside the data's box


@dataclass(frozen=True)
class OffsetLattice:
    lon0: float
    lat0: float
    step_lon: float
    step_lat: float
    nx: int
    ny: int
    dlon: list[list[float]]  # [row j (lat)][column i (lon)], degrees
    dlat: list[list[float]]

    def as_dict(self) -> dict[str, object]:
        return {"lon0": self.lon0, "lat0": self.lat0, "step_lon": self.step_lon,
                "step_lat": self.step_lat, "nx": self.nx, "ny": self.ny,
                "dlon": self.dlon, "dlat": self.dlat}


def lattice_for(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> OffsetLattice:
    """The offsets over the box (WGS-84, degrees); ValueError for a box that is not one."""
    values = (min_lon, min_lat, max_lon, max_lat)
    if not all(math.isfinite(v) for v in values) or min_lon > max_lon or min_lat > max_lat:
        raise ValueError("bbox must be min_lon,min_lat,max_lon,max_lat")
    if not (min_lon >= -180 and max_lon <= 180 and min_lat >= -90 and max_lat <= 90):
        raise ValueError("bbox outside the world")
    lon0, lat0 = min_lon - MARGIN_DEG, min_lat - MARGIN_DEG
    width, height = max_lon - min_lon + 2 * MARGIN_DEG, max_lat - min_lat + 2 * MARGIN_DEG
    nx = min(MAX_SIDE, math.ceil(width / STEP_DEG) + 1)
    ny = min(MAX_SIDE, math.ceil(height / STEP_DEG) + 1)
    step_lon, step_lat = width / (nx - 1), height / (ny - 1)
    lons, lats = np.meshgrid(lon0 + step_lon * np.arange(nx), lat0 + step_lat * np.arange(ny))
    gcj_lon, gcj_lat = from_wgs84(lons.ravel(), lats.ravel(), CRS.GCJ02)
    dlon = (np.asarray(gcj_lon) - lons.ravel()).reshape(ny, nx)
    dlat = (np.asarray(gcj_lat) - lats.ravel()).reshape(ny, nx)
    return OffsetLattice(lon0, lat0, step_lon, step_lat, nx, ny,
                         np.round(dlon, 9).tolist(), np.round(dlat, 9).tolist())
