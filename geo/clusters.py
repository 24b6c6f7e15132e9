"""Spatial clusters of points: DBSCAN over metres, for where one kind of problem piles up.

Why DBSCAN and not counts per lattice cell: a cell's border cuts a pile of cases in two (a
market on the corner of four cells shows as four middling cells), while DBSCAN follows the
pile wherever it lies and says how far it spreads. Distances are metres on a local
azimuthal equidistant projection (``geo.crs.to_local_metres``), never degrees.

The definition (Ester et al. 1996), made deterministic: a point is *core* when at least
``min_points`` points (itself included) lie within ``eps_m`` of it (on the circle counts);
core points within ``eps_m`` of each other are in one cluster; a non-core point within
``eps_m`` of a core point is a *border* member of the cluster of its nearest core point
(ties: the lower index); every other point is noise. Neighbours are found through square
cells of side ``eps_m``, so only the 3 x 3 cells around a point are searched.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from geo.crs import from_local_metres, to_local_metres

NOISE = -1


@dataclass(frozen=True)
class Cluster:
    members: tuple[int, ...]  # indexes into the input, ascending
    core_count: int
    centre_lon: float  # the mean of the members' positions
    centre_lat: float
    radius_m: float  # the farthest member from the centre


def _neighbours(x: np.ndarray, y: np.ndarray, eps_m: float) -> list[np.ndarray]:
    """For each point, the indexes (ascending, itself included) within ``eps_m``."""
    cx = np.floor(x / eps_m).astype(np.int64).tolist()
    cy = np.floor(y / eps_m).astype(np.int64).tolist()
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(cx, cy, strict=True)):
        buckets.setdefault(key, []).append(i)
    found: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(x)
    eps2 = eps_m * eps_m
    for (a, b), members in buckets.items():
        near = np.array(sorted(j for da in (-1, 0, 1) for db in (-1, 0, 1)
                               for j in buckets.get((a + da, b + db), ())), dtype=np.int64)
        rows = np.array(members, dtype=np.int64)
        d2 = (x[rows, None] - x[None, near]) ** 2 + (y[rows, None] - y[None, near]) ** 2
        close = d2 <= eps2
        for k, i in enumerate(members):
            found[i] = near[close[k]]
    return found


def dbscan_labels(lon, lat, *, eps_m: float, min_points: int) -> np.ndarray:  # noqa: ANN001
    """A cluster number per point (0 = the largest cluster, …) or ``NOISE``.

    Clusters are numbered by size, largest first, then by their lowest member index, so the
    same points in the same order always give the same labels.
    """
    if eps_m <= 0 or min_points < 1:
        raise ValueError("eps_m must be positive and min_points at least 1")
    lon_arr = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_arr = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    n = len(lon_arr)
    labels = np.full(n, NOISE, dtype=np.int64)
    if n == 0:
        return labels
    x, y, _ = to_local_metres(lon_arr, lat_arr)
    near = _neighbours(x, y, eps_m)
    core = np.array([len(nb) >= min_points for nb in near])
    raw = np.full(n, NOISE, dtype=np.int64)
    next_id = 0
    for start in np.flatnonzero(core):
        if raw[start] != NOISE:
            continue
        raw[start] = next_id
        queue = deque([int(start)])
        while queue:
            i = queue.popleft()
            for j in near[i]:
                if core[j] and raw[j] == NOISE:
                    raw[j] = next_id
                    queue.append(int(j))
        next_id += 1
    for i in np.flatnonzero(~core):
        cores = near[i][core[near[i]]]
        if len(cores):
            d2 = (x[cores] - x[i]) ** 2 + (y[cores] - y[i]) ** 2
            raw[i] = raw[cores[int(np.argmin(d2))]]  # argmin takes the first: lowest index
    sizes = [(-(raw == c).sum(), int(np.flatnonzero(raw == c)[0]), c) for c in range(next_id)]
    for rank, (_, _, c) in enumerate(sorted(sizes)):
        labels[raw == c] = rank
    return labels


def clusters(lon, lat, *, eps_m: float, min_points: int) -> list[Cluster]:  # noqa: ANN001
    """The clusters of :func:`dbscan_labels`, largest first, with centre and radius."""
    lon_arr = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_arr = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    labels = dbscan_labels(lon_arr, lat_arr, eps_m=eps_m, min_points=min_points)
    if not len(labels) or labels.max() < 0:
        return []
    x, y, centre = to_local_metres(lon_arr, lat_arr)
    near_counts = np.array([len(nb) for nb in _neighbours(x, y, eps_m)])
    found = []
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        mx, my = float(x[members].mean()), float(y[members].mean())
        clon, clat = from_local_metres(mx, my, centre)
        radius = float(np.sqrt(((x[members] - mx) ** 2 + (y[members] - my) ** 2).max()))
        found.append(Cluster(
            members=tuple(int(i) for i in members),
            core_count=int((near_counts[members] >= min_points).sum()),
            centre_lon=float(clon), centre_lat=float(clat), radius_m=radius))
    return found
