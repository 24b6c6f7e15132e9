"""Which grid a case belongs to: the assignment rule and an in-memory index that applies it.

The rule lives in :func:`decide` alone. Whoever gathers the facts about a point (this
module's :class:`GridIndex`, or a PostGIS query elsewhere) hands them to ``decide``, so the
two paths can only disagree if their facts do.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.lattice import Lattice
from geo.measure import Outlines, degree_margin


class AssignMethod(StrEnum):
    INSIDE = "inside"
    BOUNDARY = "boundary"
    NEAREST = "nearest"
    NONE = "none"


BASIC = "basic"
SPECIAL = "special"

# Column codes in BatchAssignment.method_code, indexing this tuple.
METHOD_CODES = (AssignMethod.INSIDE, AssignMethod.BOUNDARY, AssignMethod.NEAREST, AssignMethod.NONE)
_INSIDE, _BOUNDARY, _NEAREST, _NONE = range(4)

# Candidates for the nearest step are prefiltered at tolerance + this; anything kept by
# round(distance, 2) <= tolerance is nearer than tolerance + 0.005 m, so this is safe.
_PREFILTER_SLACK_M = 0.01


@dataclass(frozen=True)
class GridShape:
    id: str
    code: str
    kind: str  # "basic" or "special"
    geometry: BaseGeometry


@dataclass(frozen=True)
class Assignment:
    basic: str | None  # grid id
    basic_code: str | None
    method: AssignMethod
    distance_m: float | None  # only for NEAREST, rounded to 0.01 m
    boundary_codes: tuple[str, ...]  # for BOUNDARY: codes of all covering basic grids, sorted
    special: tuple[str, ...]  # ids of every covering special grid, ordered by code
    special_codes: tuple[str, ...]


def round_distance_m(distance_m):
    """Distances are compared and reported at centimetre resolution; this is that rounding.

    numpy's rounding, for floats and arrays alike, so the batch path rounds exactly like
    :func:`decide` (Python's ``round`` can differ from it in the last place).
    """
    rounded = np.round(np.asarray(distance_m, dtype=np.float64), 2)
    return float(rounded) if rounded.ndim == 0 else rounded


def decide(
    covering_basic: Sequence[tuple[str, str]],
    nearby_basic: Sequence[tuple[str, str, float]],
    covering_special: Sequence[tuple[str, str]],
    *,
    tolerance_m: float,
) -> Assignment:
    """Apply the assignment rule to the facts about one point.

    ``covering_basic``: (id, code) of every active basic grid whose geometry intersects the
    point, boundary included. One → INSIDE. Several (the point is on a shared edge or
    vertex, or in an overlap) → BOUNDARY, choosing the smallest code. None → among
    ``nearby_basic`` (id, code, distance_m) those with round(distance_m, 2) <= tolerance_m,
    the nearest (ties: smallest code) → NEAREST; if there are none → NONE, meaning manual
    triage. ``covering_special``: (id, code) of every covering special grid; all of them
    are reported, ordered by code, whatever happened to the basic grid. Codes are compared
    as strings; equal codes fall back to the id so the outcome never depends on input order.
    """
    _check_tolerance(tolerance_m)
    special = sorted(
        {tuple(item) for item in covering_special}, key=lambda item: (item[1], item[0])
    )
    special_ids = tuple(grid_id for grid_id, _ in special)
    special_codes = tuple(code for _, code in special)

    covering = sorted({tuple(item) for item in covering_basic}, key=lambda item: (item[1], item[0]))
    if covering:
        chosen_id, chosen_code = covering[0]
        if len(covering) == 1:
            return Assignment(
                chosen_id, chosen_code, AssignMethod.INSIDE, None, (), special_ids, special_codes
            )
        return Assignment(
            chosen_id,
            chosen_code,
            AssignMethod.BOUNDARY,
            None,
            tuple(code for _, code in covering),
            special_ids,
            special_codes,
        )

    near = []
    for grid_id, code, distance_m in nearby_basic:
        rounded_m = round_distance_m(distance_m)
        if rounded_m <= tolerance_m:
            near.append((rounded_m, code, grid_id))
    if near:
        rounded_m, code, grid_id = min(near)
        return Assignment(
            grid_id, code, AssignMethod.NEAREST, rounded_m, (), special_ids, special_codes
        )
    return Assignment(None, None, AssignMethod.NONE, None, (), special_ids, special_codes)


def _check_tolerance(tolerance_m: float) -> None:
    if not (
        isinstance(tolerance_m, numbers.Real) and math.isfinite(tolerance_m) and tolerance_m >= 0
    ):
        raise ValueError(f"tolerance_m must be a finite number >= 0, got {tolerance_m!r}")


class _Layer:
    """The grids of one kind: geometries, their code order, an STRtree for single points,
    a lattice for batches, and their outlines for distances."""

    def __init__(self, shapes: Sequence[GridShape]):
        self.ids = [shape.id for shape in shapes]
        self.codes = [shape.code for shape in shapes]
        self.geometries = np.array([shape.geometry for shape in shapes], dtype=object)
        self.tree = shapely.STRtree(self.geometries)
        # by_rank[r] is the grid with the r-th smallest (code, id); rank is its inverse,
        # so "smallest code" among grids becomes a numpy minimum over their ranks.
        self.by_rank = np.array(
            sorted(range(len(shapes)), key=lambda i: (self.codes[i], self.ids[i])), dtype=np.int64
        )
        self.rank = np.empty(len(shapes), dtype=np.int64)
        self.rank[self.by_rank] = np.arange(len(shapes))
        self.ids_array = np.array(self.ids + [None], dtype=object)  # [-1] is "no grid"
        self.codes_array = np.array(self.codes + [None], dtype=object)
        self.outlines = Outlines(self.geometries)
        self.lattice = Lattice(self.geometries, self.tree)

    def __len__(self) -> int:
        return len(self.ids)


class GridIndex:
    """All active grids of an area, for assigning many points quickly in memory."""

    def __init__(self, shapes: Iterable[GridShape]):
        shapes = list(shapes)
        seen: set[str] = set()
        for shape in shapes:
            if shape.kind not in (BASIC, SPECIAL):
                raise ValueError(
                    f"Grid {shape.id!r} has kind {shape.kind!r}; expected 'basic' or 'special'."
                )
            if shape.id in seen:
                raise ValueError(f"Grid id {shape.id!r} appears more than once.")
            seen.add(shape.id)
        self._basic = _Layer([shape for shape in shapes if shape.kind == BASIC])
        self._special = _Layer([shape for shape in shapes if shape.kind == SPECIAL])

    def __len__(self) -> int:
        return len(self._basic) + len(self._special)

    def assign(self, lon: float, lat: float, *, tolerance_m: float) -> Assignment:
        """Assign one point: gather its facts from the STRtrees and apply :func:`decide`."""
        _check_tolerance(tolerance_m)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return decide((), (), (), tolerance_m=tolerance_m)
        point = shapely.Point(lon, lat)
        basic, special = self._basic, self._special
        covering_basic = [
            (basic.ids[i], basic.codes[i])
            for i in basic.tree.query(point, predicate="intersects").tolist()
        ]
        covering_special = [
            (special.ids[i], special.codes[i])
            for i in special.tree.query(point, predicate="intersects").tolist()
        ]
        nearby_basic = []
        if not covering_basic:
            dlon, dlat = degree_margin(lat, tolerance_m + _PREFILTER_SLACK_M)
            candidates = basic.tree.query(
                point, predicate="dwithin", distance=math.hypot(dlon, dlat)
            )
            if candidates.size:
                distances_m = basic.outlines.distance_m(
                    np.full(candidates.size, lon, dtype=np.float64),
                    np.full(candidates.size, lat, dtype=np.float64),
                    candidates,
                )
                nearby_basic = [
                    (basic.ids[i], basic.codes[i], d)
                    for i, d in zip(candidates.tolist(), distances_m.tolist(), strict=True)
                ]
        return decide(covering_basic, nearby_basic, covering_special, tolerance_m=tolerance_m)

    def assign_many(self, lons, lats, *, tolerance_m: float) -> BatchAssignment:
        """Assign many points at once with whole-array operations; the same result per point
        as :meth:`assign`. Non-finite coordinates get NONE."""
        _check_tolerance(tolerance_m)
        lons = np.asarray(lons, dtype=np.float64).ravel()
        lats = np.asarray(lats, dtype=np.float64).ravel()
        if lons.shape != lats.shape:
            raise ValueError(f"lons and lats differ in length: {lons.size} vs {lats.size}")
        n = lons.size
        basic, special = self._basic, self._special

        point_idx, grid_idx = basic.lattice.covering_pairs(lons, lats)
        counts = np.bincount(point_idx, minlength=n)
        grid_rank = basic.rank[grid_idx]
        min_rank = np.full(n, len(basic), dtype=np.int64)
        np.minimum.at(min_rank, point_idx, grid_rank)
        covered = counts > 0
        basic_index = np.full(n, -1, dtype=np.int32)
        basic_index[covered] = basic.by_rank[min_rank[covered]]
        method_code = np.where(counts == 1, _INSIDE, np.where(covered, _BOUNDARY, _NONE)).astype(
            np.uint8
        )
        distance_m = np.full(n, np.nan)

        on_boundary = counts[point_idx] > 1
        boundary_offsets, boundary_index = _grouped_by_rank(
            n, point_idx[on_boundary], grid_rank[on_boundary], basic.by_rank
        )

        sp_point, sp_grid = special.lattice.covering_pairs(lons, lats)
        special_offsets, special_index = _grouped_by_rank(
            n, sp_point, special.rank[sp_grid], special.by_rank
        )

        uncovered = np.flatnonzero(~covered & np.isfinite(lons) & np.isfinite(lats))
        if uncovered.size and len(basic):
            self._nearest(lons, lats, uncovered, tolerance_m, basic_index, method_code, distance_m)

        return BatchAssignment(
            basic_index,
            method_code,
            distance_m,
            boundary_offsets,
            boundary_index,
            special_offsets,
            special_index,
            basic,
            special,
        )

    def _nearest(self, lons, lats, uncovered, tolerance_m, basic_index, method_code, distance_m):
        """Fill in NEAREST results, in place, for the points that no basic grid covers."""
        basic = self._basic
        dlon, dlat = degree_margin(lats[uncovered], tolerance_m + _PREFILTER_SLACK_M)
        near_k, near_grid = basic.lattice.pairs_near(lons[uncovered], lats[uncovered], dlon, dlat)
        if near_k.size == 0:
            return
        near_point = uncovered[near_k]
        rounded_m = round_distance_m(
            basic.outlines.distance_m(lons[near_point], lats[near_point], near_grid)
        )
        keep = rounded_m <= tolerance_m
        near_point, near_grid, rounded_m = near_point[keep], near_grid[keep], rounded_m[keep]
        if near_point.size == 0:
            return
        # Per point: smallest rounded distance, then smallest code rank; take each first.
        order = np.lexsort((basic.rank[near_grid], rounded_m, near_point))
        near_point, near_grid, rounded_m = near_point[order], near_grid[order], rounded_m[order]
        first = np.flatnonzero(np.r_[True, near_point[1:] != near_point[:-1]])
        chosen = near_point[first]
        basic_index[chosen] = near_grid[first]
        method_code[chosen] = _NEAREST
        distance_m[chosen] = rounded_m[first]


def _grouped_by_rank(n: int, point_idx: np.ndarray, rank: np.ndarray, by_rank: np.ndarray):
    """CSR layout: grids of point i are grid_index[offsets[i]:offsets[i + 1]], by code."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(point_idx, minlength=n), out=offsets[1:])
    if point_idx.size == 0:
        return offsets, np.empty(0, dtype=np.int32)
    order = np.lexsort((rank, point_idx))
    return offsets, by_rank[rank[order]].astype(np.int32)


@dataclass
class BatchAssignment:
    """Results of :meth:`GridIndex.assign_many` as columns; :class:`Assignment` per point on
    demand (indexing, iteration).

    Columns (one row per input point): ``basic_index`` (int32, position of the chosen basic
    grid in the index, -1 for none), ``method_code`` (uint8, index into ``METHOD_CODES``),
    ``distance_m`` (float64, NaN unless NEAREST). ``basic_ids()``/``basic_codes()`` give
    object arrays of the chosen grid's id/code (None for none), for bulk updates.
    """

    basic_index: np.ndarray
    method_code: np.ndarray
    distance_m: np.ndarray
    boundary_offsets: np.ndarray
    boundary_index: np.ndarray
    special_offsets: np.ndarray
    special_index: np.ndarray
    _basic: _Layer = field(repr=False)
    _special: _Layer = field(repr=False)

    def __len__(self) -> int:
        return int(self.basic_index.size)

    def __iter__(self) -> Iterator[Assignment]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> Assignment:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"point {i} out of range for {n} points")
        i %= n
        basic, special = self._basic, self._special
        method = METHOD_CODES[self.method_code[i]]
        chosen = int(self.basic_index[i])
        boundary = self.boundary_index[self.boundary_offsets[i] : self.boundary_offsets[i + 1]]
        specials = self.special_index[
            self.special_offsets[i] : self.special_offsets[i + 1]
        ].tolist()
        return Assignment(
            basic=basic.ids[chosen] if chosen >= 0 else None,
            basic_code=basic.codes[chosen] if chosen >= 0 else None,
            method=method,
            distance_m=float(self.distance_m[i]) if method is AssignMethod.NEAREST else None,
            boundary_codes=tuple(basic.codes[j] for j in boundary.tolist()),
            special=tuple(special.ids[j] for j in specials),
            special_codes=tuple(special.codes[j] for j in specials),
        )

    def methods(self) -> np.ndarray:
        """The method of every point as an object array of :class:`AssignMethod`."""
        return np.array(METHOD_CODES, dtype=object)[self.method_code]

    def basic_ids(self) -> np.ndarray:
        return self._basic.ids_array[self.basic_index]

    def basic_codes(self) -> np.ndarray:
        return self._basic.codes_array[self.basic_index]
