"""The console map's GCJ-02 offsets: interpolated from the lattice, they agree with geo.crs."""

from __future__ import annotations

import numpy as np
import pytest

from geo.crs import CRS, from_wgs84
from server.console.offsets import lattice_for


def _interpolate(lattice, lon: float, lat: float) -> tuple[float, float]:  # noqa: ANN001
    """What console.js does (gcj02Shifter): bilinear interpolation of the lattice."""
    fx, fy = (lon - lattice.lon0) / lattice.step_lon, (lat - lattice.lat0) / lattice.step_lat
    i, j = int(np.floor(fx)), int(np.floor(fy))
    tx, ty = fx - i, fy - j

    def blend(grid: list[list[float]]) -> float:
        g = np.asarray(grid)
        return ((g[j, i] * (1 - tx) + g[j, i + 1] * tx) * (1 - ty)
                + (g[j + 1, i] * (1 - tx) + g[j + 1, i + 1] * tx) * ty)

    return lon + blend(lattice.dlon), lat + blend(lattice.dlat)


def test_interpolated_offsets_are_within_a_decimetre_of_the_transform():
    lattice = lattice_for(116.30, 39.90, 116.50, 40.05)
    rng = np.random.default_rng(7)
    for lon, lat in zip(rng.uniform(116.30, 116.50, 200), rng.uniform(39.90, 40.05, 200),
                        strict=True):
        expected = from_wgs84(lon, lat, CRS.GCJ02)
        got = _interpolate(lattice, lon, lat)
        # Degrees to metres near the point (a decimetre needs no ellipsoid).
        dx = (got[0] - expected[0]) * 111_320 * np.cos(np.radians(lat))
        dy = (got[1] - expected[1]) * 110_540
        assert float(np.hypot(dx, dy)) < 0.1
    # The shift itself is hundreds of metres in Beijing: the lattice is not trivially zero.
    assert 0.004 < abs(lattice.dlon[0][0]) < 0.01


def test_a_large_box_stays_within_the_lattice_cap():
    lattice = lattice_for(100.0, 30.0, 110.0, 40.0)
    assert lattice.nx <= 201
    assert lattice.ny <= 201


@pytest.mark.parametrize("bbox", [(116.5, 39.9, 116.3, 40.0), (0, 0, 200, 10),
                                  (float("nan"), 0, 1, 1)])
def test_a_box_that_is_not_one_is_refused(bbox):
    with pytest.raises(ValueError, match="bbox"):
        lattice_for(*bbox)
