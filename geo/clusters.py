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
cells of side ``eps_m`` (only the 3 x 3 cells around a point are searched), in whole-array
numpy, so tens of thousands of cases take well under a second.
"""

from __future__ import annotations

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


def _pairs(x: np.ndarray, y: np.ndarray, eps_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with j within ``eps_m`` of i (i == j included), sorted by i then j.

    Each point looks up the points of its cell and of the eight around it among the points
    sorted by cell (``searchsorted``): no Python loop runs per point.
    """
    n = len(x)
    cx = np.floor(x / eps_m).astype(np.int64)
    cy = np.floor(y / eps_m).astype(np.int64)
    cx -= cx.min()
    cy -= cy.min() - 1  # rows start at 1, so that dy = ±1 never wraps into the next column
    width = int(cy.max()) + 2
    key = cx * width + cy
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    found_i, found_j = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            target = key + dx * width + dy
            lo = np.searchsorted(sorted_key, target, side="left")
            counts = np.searchsorted(sorted_key, target, side="right") - lo
            ii = np.repeat(np.arange(n), counts)
            offsets = np.arange(len(ii)) - np.repeat(np.cumsum(counts) - counts, counts)
            jj = order[np.repeat(lo, counts) + offsets]
            close = (x[ii] - x[jj]) ** 2 + (y[ii] - y[jj]) ** 2 <= eps_m * eps_m
            found_i.append(ii[close])
            found_j.append(jj[close])
    i_all, j_all = np.concatenate(found_i), np.concatenate(found_j)
    by = np.lexsort((j_all, i_all))
    return i_all[by], j_all[by]


def _components(n: int, a: np.ndarray, b: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """For each node, the lowest node index of its connected component over the edges
    (a, b) (both directions listed): label propagation with pointer jumping."""
    label = np.arange(n)
    while True:
        new = label.copy()
        np.minimum.at(new, a, label[b])
        new[nodes] = new[new[nodes]]
        if np.array_equal(new, label):
            return label
        label = new


def _dbscan(x: np.ndarray, y: np.ndarray, eps_m: float, min_points: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """(labels, neighbour counts) of points already in metres."""
    n = len(x)
    pi, pj = _pairs(x, y, eps_m)
    counts = np.bincount(pi, minlength=n)
    core = counts >= min_points
    both = core[pi] & core[pj]
    root = _components(n, pi[both], pj[both], np.flatnonzero(core))
    raw = np.where(core, root, NOISE)
    # A border point joins the cluster of its nearest core point (ties: the lower index).
    edge = ~core[pi] & core[pj]
    bi, bj = pi[edge], pj[edge]
    if len(bi):
        d2 = (x[bi] - x[bj]) ** 2 + (y[bi] - y[bj]) ** 2
        best = np.lexsort((bj, d2, bi))
        first = best[np.unique(bi[best], return_index=True)[1]]
        raw[bi[first]] = root[bj[first]]
    labels = np.full(n, NOISE, dtype=np.int64)
    members = np.flatnonzero(raw != NOISE)
    if len(members):
        ids, compact = np.unique(raw[members], return_inverse=True)
        sizes = np.bincount(compact)
        lowest = np.full(len(ids), n, dtype=np.int64)
        np.minimum.at(lowest, compact, members)
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.lexsort((lowest, -sizes))] = np.arange(len(ids))
        labels[members] = rank[compact]
    return labels, counts


def dbscan_labels(lon, lat, *, eps_m: float, min_points: int) -> np.ndarray:  # noqa: ANN001
    """A cluster number per point (0 = the largest cluster, …) or ``NOISE``.

    Clusters are numbered by size, largest first, then by their lowest member index, so the
    same points in the same order always give the same labels.
    """
    if eps_m <= 0 or min_points < 1:
        raise ValueError("eps_m must be positive and min_points at least 1")
    lon_arr = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_arr = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if len(lon_arr) == 0:
        return np.full(0, NOISE, dtype=np.int64)
    x, y, _ = to_local_metres(lon_arr, lat_arr)
    return _dbscan(x, y, eps_m, min_points)[0]


def clusters(lon, lat, *, eps_m: float, min_points: int) -> list[Cluster]:  # noqa: ANN001
    """The clusters of :func:`dbscan_labels`, largest first, with centre and radius."""
    if eps_m <= 0 or min_points < 1:
        raise ValueError("eps_m must be positive and min_points at least 1")
    lon_arr = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat_arr = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if len(lon_arr) == 0:
        return []
    x, y, centre = to_local_metres(lon_arr, lat_arr)
    labels, near_counts = _dbscan(x, y, eps_m, min_points)
    clustered = np.flatnonzero(labels != NOISE)
    if not len(clustered):
        return []
    # Members of each cluster, ascending: a stable sort of the ascending indexes by label.
    ordered = clustered[np.argsort(labels[clustered], kind="stable")]
    groups = np.split(ordered, np.cumsum(np.bincount(labels[clustered]))[:-1])
    mx = np.array([x[m].mean() for m in groups])
    my = np.array([y[m].mean() for m in groups])
    clon, clat = from_local_metres(mx, my, centre)  # one projection for all the centres
    return [Cluster(
        members=tuple(int(i) for i in members),
        core_count=int((near_counts[members] >= min_points).sum()),
        centre_lon=float(clon[k]), centre_lat=float(clat[k]),
        radius_m=float(np.sqrt(((x[members] - mx[k]) ** 2 + (y[members] - my[k]) ** 2).max())))
        for k, members in enumerate(groups)]
