"""A regular lattice of cells over a set of grids, for looking up many points at once."""

from __future__ import annotations

import math

import numpy as np
import shapely


class Lattice:
    """Square cells (in degrees) over a set of geometries, listing per cell the geometries
    that touch it, so that batches of points find their candidates with integer arithmetic.

    Why not just query the STRtree with the points: building 100k shapely Points alone
    costs about half as much as the STRtree query itself. Here points stay two float
    arrays; candidates are cut down with a numpy bounding-box test, and only the survivors
    get an exact (prepared) GEOS test. A cell covered by exactly one geometry and touched by
    no other settles its points with no test at all, which in a tiling is most of them.
    The STRtree is still used: to fill the cells once, and for very wide searches.
    """

    def __init__(self, geometries: np.ndarray, tree: shapely.STRtree):
        bounds = shapely.bounds(geometries).reshape(-1, 4)
        usable = np.isfinite(bounds).all(axis=1)
        if not usable.any():
            self.x0 = self.y0 = 0.0
            self.cell_deg = 1.0
            self.nx = self.ny = 1
        else:
            b = bounds[usable]
            self.x0, self.y0 = float(b[:, 0].min()), float(b[:, 1].min())
            width = max(float(b[:, 2].max()) - self.x0, 1e-9)
            height = max(float(b[:, 3].max()) - self.y0, 1e-9)
            typical = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
            # About five cells across a typical grid, but no more than ~64 cells per grid in
            # all, so that a few tiny grids far apart cannot blow up the lattice.
            fewest_deg = math.sqrt(width * height / (64 * len(b) + 1024))
            self.cell_deg = max(typical / 5.0, fewest_deg, 1e-9)
            self.nx = int(width // self.cell_deg) + 1
            self.ny = int(height // self.cell_deg) + 1
        ix, iy = np.meshgrid(np.arange(self.nx), np.arange(self.ny))
        ix, iy = ix.ravel(), iy.ravel()
        # Padding absorbs rounding in cell_of: every point mapped to a cell lies in its box.
        pad = max(self.cell_deg * 1e-6, 1e-9)
        boxes = shapely.box(
            self.x0 + ix * self.cell_deg - pad,
            self.y0 + iy * self.cell_deg - pad,
            self.x0 + (ix + 1) * self.cell_deg + pad,
            self.y0 + (iy + 1) * self.cell_deg + pad,
        )
        cell, grid = tree.query(boxes, predicate="intersects")
        n_cells = self.nx * self.ny
        # One extra empty cell at the end, for points outside the lattice.
        self.count = np.bincount(cell, minlength=n_cells + 1)
        self.start = np.zeros(n_cells + 1, dtype=np.int64)
        np.cumsum(self.count[:-1], out=self.start[1:])
        order = np.argsort(cell, kind="stable")
        self.grids = grid[order]
        self.sole_cover = np.full(n_cells + 1, -1, dtype=np.int64)
        single = np.flatnonzero(self.count[:-1] == 1)
        sole = self.grids[self.start[single]]
        covers = shapely.covers(geometries[sole], boxes[single])
        self.sole_cover[single[covers]] = sole[covers]
        self.geometries = geometries
        self.bounds = bounds
        self.tree = tree
        # Prepared geometries make each point-in-polygon test in covering_pairs cheap.
        shapely.prepare(geometries)

    def covering_pairs(self, lons: np.ndarray, lats: np.ndarray):
        """(point index, geometry index) for every geometry that intersects (covers, boundary
        included) each point, exactly as ``geometry.intersects(Point(lon, lat))`` would."""
        cell = self.cell_of(lons, lats)
        known = np.flatnonzero(self.sole_cover[cell] >= 0)
        known_grid = self.sole_cover[cell[known]]
        open_points = np.flatnonzero(self.sole_cover[cell] < 0)
        count = self.count[cell[open_points]]
        point = np.repeat(open_points, count)
        first_row = np.cumsum(count) - count
        slot = (
            np.arange(point.size)
            - np.repeat(first_row, count)
            + np.repeat(self.start[cell[open_points]], count)
        )
        grid = self.grids[slot]
        # A bounding-box test in numpy is far cheaper than a GEOS call per pair.
        x, y = lons[point], lats[point]
        in_box = (
            (x >= self.bounds[grid, 0])
            & (x <= self.bounds[grid, 2])
            & (y >= self.bounds[grid, 1])
            & (y <= self.bounds[grid, 3])
        )
        point, grid = point[in_box], grid[in_box]
        hit = shapely.intersects_xy(self.geometries[grid], lons[point], lats[point])
        return (np.concatenate((known, point[hit])), np.concatenate((known_grid, grid[hit])))

    def pairs_near(self, lons, lats, dlon, dlat):
        """(point index, geometry index) pairs that include every geometry with a point
        inside the box of half-widths (dlon, dlat) around each point; no pair twice."""
        ix0, iy0 = self.cell_xy(lons - dlon, lats - dlat)
        ix1, iy1 = self.cell_xy(lons + dlon, lats + dlat)
        ix0, iy0 = np.maximum(ix0, 0), np.maximum(iy0, 0)
        ix1, iy1 = np.minimum(ix1, self.nx - 1), np.minimum(iy1, self.ny - 1)
        cols = np.maximum(ix1 - ix0 + 1, 0)
        cells_per_point = cols * np.maximum(iy1 - iy0 + 1, 0)
        if cells_per_point.sum() > 16 * lons.size + 1_000_000:
            # Margins much wider than a cell (huge tolerances) would enumerate too many
            # cells; the STRtree handles those with memory proportional to the answer.
            return self.tree.query(
                shapely.points(lons, lats), predicate="dwithin", distance=np.hypot(dlon, dlat)
            )
        # Enumerate each point's block of cells: row-major offsets within the block.
        point = np.repeat(np.arange(lons.size), cells_per_point)
        within = np.arange(point.size) - np.repeat(
            np.cumsum(cells_per_point) - cells_per_point, cells_per_point
        )
        cell = (iy0[point] + within // cols[point]) * self.nx + ix0[point] + within % cols[point]
        count = self.count[cell]
        slot = (
            np.arange(count.sum())
            - np.repeat(np.cumsum(count) - count, count)
            + np.repeat(self.start[cell], count)
        )
        point = np.repeat(point, count)
        grid = self.grids[slot]
        x, y = lons[point], lats[point]
        meets = (
            (self.bounds[grid, 0] <= x + dlon[point])
            & (self.bounds[grid, 2] >= x - dlon[point])
            & (self.bounds[grid, 1] <= y + dlat[point])
            & (self.bounds[grid, 3] >= y - dlat[point])
        )
        # A grid spanning several of a point's cells is listed once per cell.
        key = np.unique(point[meets] * np.int64(self.geometries.size + 1) + grid[meets])
        return key // (self.geometries.size + 1), key % (self.geometries.size + 1)

    def cell_xy(self, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column and row of the cell each point falls in, unclipped (may be out of range).

        NaN and far-away coordinates come out as huge or negative numbers, never in range.
        """
        with np.errstate(invalid="ignore"):
            fx = np.floor((lons - self.x0) / self.cell_deg)
            fy = np.floor((lats - self.y0) / self.cell_deg)
        fx = np.nan_to_num(np.clip(fx, -1, self.nx), nan=-1)
        fy = np.nan_to_num(np.clip(fy, -1, self.ny), nan=-1)
        return fx.astype(np.int64), fy.astype(np.int64)

    def cell_of(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Cell index per point; the extra empty cell for points outside (or NaN)."""
        ix, iy = self.cell_xy(lons, lats)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        return np.where(inside, iy * self.nx + ix, self.nx * self.ny)
