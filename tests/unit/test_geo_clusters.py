"""DBSCAN over metres: core, border and noise points, deterministic numbering."""

from __future__ import annotations

import numpy as np
import pytest

from geo.clusters import NOISE, clusters, dbscan_labels
from geo.crs import from_local_metres, to_local_metres

CENTRE = (116.306, 39.904)


def at_metres(offsets: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 positions at (east, north) metres from CENTRE."""
    x = np.array([o[0] for o in offsets], dtype=float)
    y = np.array([o[1] for o in offsets], dtype=float)
    return from_local_metres(x, y, CENTRE)


def test_local_metres_round_trip_and_distance():
    lon, lat = at_metres([(0, 0), (300, 400)])
    x, y, _ = to_local_metres(lon, lat, centre=CENTRE)
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(500.0, abs=1e-6)


def test_pile_is_one_cluster_and_scattered_points_are_noise():
    # Four cases within 30 m of each other; three more 400 m and more away from all.
    lon, lat = at_metres([(0, 0), (20, 0), (0, 20), (20, 20), (400, 0), (0, 800), (-900, -900)])
    labels = dbscan_labels(lon, lat, eps_m=50, min_points=3)
    assert labels.tolist() == [0, 0, 0, 0, NOISE, NOISE, NOISE]
    (pile,) = clusters(lon, lat, eps_m=50, min_points=3)
    assert pile.members == (0, 1, 2, 3)
    assert pile.core_count == 4
    x, y, _ = to_local_metres(np.array([pile.centre_lon]), np.array([pile.centre_lat]),
                              centre=CENTRE)
    assert (x[0], y[0]) == pytest.approx((10.0, 10.0), abs=1e-3)
    assert pile.radius_m == pytest.approx(np.hypot(10, 10), abs=1e-3)


def test_distance_exactly_eps_counts_and_border_point_joins_nearest_core():
    # 0-1-2 are 40 m apart in a row: with eps 40 and min 3, point 1 is core (0, 1, 2),
    # 0 and 2 are borders of its cluster. Point 3 is 50 m beyond 2: within eps of no core
    # point, so noise.
    lon, lat = at_metres([(0, 0), (40, 0), (80, 0), (130, 0)])
    labels = dbscan_labels(lon, lat, eps_m=40.000001, min_points=3)
    assert labels.tolist() == [0, 0, 0, NOISE]
    (only,) = clusters(lon, lat, eps_m=40.000001, min_points=3)
    assert only.core_count == 1


def test_largest_cluster_first_then_lowest_index():
    small = [(1000, 0), (1010, 0), (1000, 10)]
    large = [(0, 0), (10, 0), (0, 10), (10, 10)]
    lon, lat = at_metres(small + large)
    labels = dbscan_labels(lon, lat, eps_m=30, min_points=3)
    assert labels.tolist() == [1, 1, 1, 0, 0, 0, 0]


def test_cells_do_not_split_a_pile_across_their_border():
    # Points straddling the cell edges at multiples of eps still form one cluster.
    lon, lat = at_metres([(-5, -5), (5, 5), (-5, 5), (5, -5)])
    assert dbscan_labels(lon, lat, eps_m=20, min_points=4).tolist() == [0, 0, 0, 0]


def test_no_points_and_bad_parameters():
    assert clusters([], [], eps_m=50, min_points=3) == []
    with pytest.raises(ValueError, match="eps_m"):
        dbscan_labels([116.3], [39.9], eps_m=0, min_points=3)


def reference_labels(x: np.ndarray, y: np.ndarray, eps_m: float, min_points: int) -> list[int]:
    """DBSCAN as the module docstring defines it, by brute force over all pairs."""
    n = len(x)
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    near = d2 <= eps_m * eps_m
    core = near.sum(axis=1) >= min_points
    comp = [-1] * n
    for start in range(n):
        if core[start] and comp[start] < 0:
            comp[start], stack = start, [start]
            while stack:
                i = stack.pop()
                for j in np.flatnonzero(near[i] & core):
                    if comp[j] < 0:
                        comp[j] = start
                        stack.append(int(j))
    for i in range(n):
        cores = np.flatnonzero(near[i] & core)
        if not core[i] and len(cores):
            comp[i] = comp[min(cores, key=lambda j: (d2[i, j], j))]
    groups = sorted({c for c in comp if c >= 0},
                    key=lambda c: (-comp.count(c), comp.index(c)))
    rank = {c: r for r, c in enumerate(groups)}
    return [rank[c] if c >= 0 else NOISE for c in comp]


@pytest.mark.parametrize("seed", range(8))
def test_labels_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-2000, 2000, size=(5, 2))
    piles = [c + rng.normal(0, 40, size=(30, 2)) for c in centres]
    spread = rng.uniform(-3000, 3000, size=(60, 2))
    offsets = np.vstack([*piles, spread])
    lon, lat = from_local_metres(offsets[:, 0], offsets[:, 1], CENTRE)
    x, y, _ = to_local_metres(lon, lat)
    eps, minimum = float(rng.choice([30.0, 60.0, 120.0])), int(rng.choice([2, 4, 6]))
    assert dbscan_labels(lon, lat, eps_m=eps, min_points=minimum).tolist() == \
        reference_labels(x, y, eps, minimum)
