"""Topology audit of a township's basic grids: where they overlap, leave gaps, or stick out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.measure import area_m2


@dataclass(frozen=True)
class Overlap:
    code_a: str  # code_a < code_b
    code_b: str
    area_m2: float
    geometry: BaseGeometry


@dataclass(frozen=True)
class Gap:
    area_m2: float
    geometry: BaseGeometry
    location: tuple[float, float]  # lon, lat of a point inside the gap


@dataclass(frozen=True)
class Protrusion:
    code: str
    area_m2: float
    geometry: BaseGeometry  # the part of the basic grid outside the township boundary


@dataclass(frozen=True)
class TopologyReport:
    overlaps: tuple[Overlap, ...]
    gaps: tuple[Gap, ...]
    protrusions: tuple[Protrusion, ...]

    @property
    def clean(self) -> bool:
        return not (self.overlaps or self.gaps or self.protrusions)


def audit_basic_grids(
    grids: Sequence[tuple[str, BaseGeometry]],
    township_boundary: BaseGeometry | None,
    *,
    min_area_m2: float = 1.0,
) -> TopologyReport:
    """Find overlaps between basic grids, gaps they leave, and parts outside the township.

    ``grids`` are (code, geometry) pairs. Only pieces with a geodesic area above
    ``min_area_m2`` are reported, so shared edges and digitising dust do not count.
    Without a township boundary, gaps are the holes enclosed by the grids' union. Invalid
    geometries are audited in their ``make_valid`` form; report them separately with
    ``geo.validate.check_grid_geometry``.
    """
    codes = [code for code, _ in grids]
    geometries = np.array([_usable(geom) for _, geom in grids], dtype=object)
    township = _usable(township_boundary) if township_boundary is not None else None
    return TopologyReport(
        overlaps=_overlaps(codes, geometries, min_area_m2),
        gaps=_gaps(geometries, township, min_area_m2),
        protrusions=_protrusions(codes, geometries, township, min_area_m2),
    )


def _usable(geom: BaseGeometry | None) -> BaseGeometry:
    """The polygonal part of ``geom``, made valid, so that overlay operations cannot fail."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    return _polygonal(geom)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the areas of an overlay result; lines and points left where shapes touch go."""
    if isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return geom
    parts = shapely.get_parts(geom)
    polygons = [part for part in parts if isinstance(part, (shapely.Polygon, shapely.MultiPolygon))]
    if not polygons:
        return shapely.MultiPolygon()
    return shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]


def _overlaps(codes: list[str], geometries: np.ndarray, min_area_m2: float) -> tuple[Overlap, ...]:
    tree = shapely.STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    # Each unordered pair once; a grid always intersects itself.
    keep = left < right
    left, right = left[keep], right[keep]
    # Interiors must meet: grids that only share an edge or a vertex are neighbours.
    share_area = shapely.relate_pattern(geometries[left], geometries[right], "2********")
    left, right = left[share_area], right[share_area]
    pieces = shapely.intersection(geometries[left], geometries[right])
    found = []
    for i, j, piece in zip(left.tolist(), right.tolist(), pieces, strict=True):
        piece = _polygonal(piece)
        piece_m2 = area_m2(piece)
        if piece_m2 > min_area_m2:
            code_a, code_b = sorted((codes[i], codes[j]))
            found.append(Overlap(code_a, code_b, piece_m2, piece))
    return tuple(sorted(found, key=lambda o: (o.code_a, o.code_b, -o.area_m2)))


def _gaps(
    geometries: np.ndarray, township: BaseGeometry | None, min_area_m2: float
) -> tuple[Gap, ...]:
    union = shapely.union_all(geometries) if geometries.size else shapely.MultiPolygon()
    if township is not None:
        uncovered = _polygonal(shapely.difference(township, union))
        pieces = shapely.get_parts(uncovered)
    else:
        pieces = [
            shapely.Polygon(ring)
            for polygon in shapely.get_parts(_polygonal(union))
            for ring in polygon.interiors
        ]
    found = []
    for piece in pieces:
        piece_m2 = area_m2(piece)
        if piece_m2 > min_area_m2:
            point = piece.representative_point()
            found.append(Gap(piece_m2, piece, (point.x, point.y)))
    return tuple(sorted(found, key=lambda g: g.location))


def _protrusions(
    codes: list[str], geometries: np.ndarray, township: BaseGeometry | None, min_area_m2: float
) -> tuple[Protrusion, ...]:
    if township is None or geometries.size == 0:
        return ()
    shapely.prepare(township)
    sticking_out = np.flatnonzero(~shapely.covered_by(geometries, township))
    outside = shapely.difference(geometries[sticking_out], township)
    found = []
    for i, piece in zip(sticking_out.tolist(), outside, strict=True):
        piece = _polygonal(piece)
        piece_m2 = area_m2(piece)
        if piece_m2 > min_area_m2:
            found.append(Protrusion(codes[i], piece_m2, piece))
    return tuple(sorted(found, key=lambda p: p.code))


@dataclass(frozen=True)
class TilingConflict:
    """A new grid's problem with the tiling: it overlaps another grid, or leaves its area.

    ``index`` is the position in the new grids given; ``other`` the code of the grid it
    overlaps (None when it sticks out of ``area``); the piece is measured geodesically.
    """

    index: int
    other: str | None
    area_m2: float
    location: tuple[float, float]


def overlaps_of_new_grids(
    new: Sequence[tuple[str, BaseGeometry]],
    existing: Sequence[tuple[str, BaseGeometry]],
    *,
    tolerance_m2: float,
) -> list[TilingConflict]:
    """Where new basic grids overlap existing ones or each other by more than the tolerance.

    A pair among the new grids is reported on both, so each feature's report is complete.
    Grids that only share an edge or a vertex do not overlap.
    """
    if not new:
        return []
    new_geoms = np.array([_usable(geom) for _, geom in new], dtype=object)
    old_geoms = np.array([_usable(geom) for _, geom in existing], dtype=object)
    found: list[TilingConflict] = []
    if old_geoms.size:
        tree = shapely.STRtree(old_geoms)
        left, right = tree.query(new_geoms, predicate="intersects")
        for i, j, piece_m2, at in _pieces(new_geoms[left], old_geoms[right], left, right):
            if piece_m2 > tolerance_m2:
                found.append(TilingConflict(i, existing[j][0], piece_m2, at))
    tree = shapely.STRtree(new_geoms)
    left, right = tree.query(new_geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    for i, j, piece_m2, at in _pieces(new_geoms[left], new_geoms[right], left, right):
        if piece_m2 > tolerance_m2:
            found.append(TilingConflict(i, new[j][0], piece_m2, at))
            found.append(TilingConflict(j, new[i][0], piece_m2, at))
    return sorted(found, key=lambda c: (c.index, c.other or ""))


def _pieces(a: np.ndarray, b: np.ndarray, left: np.ndarray, right: np.ndarray):
    """(i, j, m², a point inside) for each pair whose interiors meet."""
    share_area = shapely.relate_pattern(a, b, "2********")
    pieces = shapely.intersection(a[share_area], b[share_area])
    for i, j, piece in zip(left[share_area].tolist(), right[share_area].tolist(), pieces,
                           strict=True):
        piece = _polygonal(piece)
        point = piece.representative_point() if not piece.is_empty else None
        yield i, j, area_m2(piece), (point.x, point.y) if point is not None else (0.0, 0.0)


def parts_outside(
    geometries: Sequence[BaseGeometry], area: BaseGeometry, *, tolerance_m2: float
) -> list[TilingConflict]:
    """The geometries whose part outside ``area`` is larger than the tolerance."""
    if not geometries:
        return []
    geoms = np.array([_usable(geom) for geom in geometries], dtype=object)
    area = _usable(area)
    shapely.prepare(area)
    sticking_out = np.flatnonzero(~shapely.covered_by(geoms, area))
    found = []
    for i, piece in zip(sticking_out.tolist(), shapely.difference(geoms[sticking_out], area),
                        strict=True):
        piece = _polygonal(piece)
        piece_m2 = area_m2(piece)
        if piece_m2 > tolerance_m2:
            point = piece.representative_point()
            found.append(TilingConflict(i, None, piece_m2, (point.x, point.y)))
    return found
