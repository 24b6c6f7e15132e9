"""Checks and repairs grid geometries, reporting problems as data a person can read."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import CHINA_BOUNDS, in_china
from geo.measure import area_m2, planar_area_m2


@dataclass(frozen=True)
class GeometryProblem:
    code: str  # stable slug, safe to branch on and to translate
    reason: str  # one sentence for a person
    location: tuple[float, float] | None  # lon, lat where it fails, if known


GEOMETRY_NOT_POLYGONAL = "geometry_not_polygonal"
GEOMETRY_EMPTY = "geometry_empty"
GEOMETRY_INVALID = "geometry_invalid"
GEOMETRY_DEGENERATE = "geometry_degenerate"
COORDINATES_OUTSIDE_CHINA = "coordinates_outside_china"

# GEOS validity messages (stable across GEOS 3.x) in words a grid administrator knows.
_GEOS_REASONS = {
    "Self-intersection": "The outline crosses or touches itself",
    "Ring Self-intersection": "A ring of the outline touches itself",
    "Interior is disconnected": "A hole cuts the polygon into separate pieces",
    "Hole lies outside shell": "A hole lies outside its polygon",
    "Holes are nested": "A hole lies inside another hole",
    "Nested shells": "One part lies inside another part",
    "Duplicate Rings": "A ring appears twice",
    "Too few points in geometry component": "A ring has too few distinct points",
    "Invalid Coordinate": "A coordinate is not a finite number",
    "Ring is not closed": "A ring does not end where it starts",
}
_REASON_LOCATION = re.compile(r"^(?P<kind>[^\[]*)\[(?P<x>\S+) (?P<y>\S+)(?: \S+)?\]\s*$")
_SELF_INTERSECTION_KINDS = ("Self-intersection", "Ring Self-intersection")


def check_grid_geometry(
    geom: BaseGeometry | None, *, min_area_m2: float = 1.0
) -> list[GeometryProblem]:
    """Every reason ``geom`` cannot serve as a grid's area; an empty list means it can."""
    if geom is None or (isinstance(geom, BaseGeometry) and geom.is_empty):
        return [GeometryProblem(GEOMETRY_EMPTY, "The geometry has no coordinates.", None)]
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        return [
            GeometryProblem(
                GEOMETRY_NOT_POLYGONAL,
                f"The geometry is a {geom.geom_type}; a grid must be a Polygon or MultiPolygon.",
                None,
            )
        ]

    problems = []
    invalid = _invalid_problem(geom)
    if invalid is not None:
        problems.append(invalid)
    problems.extend(_outside_china_problems(geom))
    if invalid is None:
        # The area of an invalid polygon means nothing (a bow-tie's halves cancel to zero);
        # degeneracy is judged once the shape is valid, e.g. after repair.
        problems.extend(_degenerate_problems(geom, min_area_m2))
    return problems


def _invalid_problem(geom: BaseGeometry) -> GeometryProblem | None:
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return None
    kind, location = _parse_reason(reason)
    sentence = _GEOS_REASONS.get(kind, kind or "The geometry is invalid")
    if location is not None:
        sentence = f"{sentence} at ({location[0]:.5f}, {location[1]:.5f})."
    else:
        sentence = f"{sentence}."
    return GeometryProblem(GEOMETRY_INVALID, sentence, location)


def _parse_reason(reason: str) -> tuple[str, tuple[float, float] | None]:
    match = _REASON_LOCATION.match(reason or "")
    if match is None:
        return (reason or "").strip(), None
    try:
        location = (float(match["x"]), float(match["y"]))
    except ValueError:
        location = None
    if location is not None and not np.isfinite(location).all():
        location = None
    return match["kind"].strip(), location


def _outside_china_problems(geom: BaseGeometry) -> list[GeometryProblem]:
    coords = shapely.get_coordinates(geom)
    outside = ~in_china(coords[:, 0], coords[:, 1])
    if not outside.any():
        return []
    first = coords[int(np.argmax(outside))]
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    count = int(outside.sum())
    return [
        GeometryProblem(
            COORDINATES_OUTSIDE_CHINA,
            f"{count} of {len(coords)} coordinates, first ({first[0]:.5f}, {first[1]:.5f}), lie "
            f"outside China (lon {lon_min}–{lon_max}, lat {lat_min}–{lat_max}); "
            "are longitude and latitude swapped, or the coordinates projected?",
            (float(first[0]), float(first[1])),
        )
    ]


def _area_for_degeneracy_m2(geom: BaseGeometry) -> float:
    # The smaller of geodesic and as-drawn area: a sliver with collinear vertices has no
    # area as drawn but gains a spurious geodesic one from the bulge of geodesic edges.
    return min(area_m2(geom), planar_area_m2(geom))


def _degenerate_problems(geom: BaseGeometry, min_area_m2: float) -> list[GeometryProblem]:
    total_m2 = _area_for_degeneracy_m2(geom)
    if not np.isfinite(total_m2):
        return []  # non-finite coordinates are already reported as invalid
    if total_m2 < min_area_m2:
        return [
            GeometryProblem(
                GEOMETRY_DEGENERATE,
                f"The area is {total_m2:.2f} m², below the minimum of {min_area_m2:g} m².",
                _representative_location(geom),
            )
        ]
    parts = list(geom.geoms) if isinstance(geom, shapely.MultiPolygon) else []
    problems = []
    for number, part in enumerate(parts, start=1):
        part_m2 = _area_for_degeneracy_m2(part)
        if part_m2 < min_area_m2:
            problems.append(
                GeometryProblem(
                    GEOMETRY_DEGENERATE,
                    f"Part {number} of {len(parts)} has an area of {part_m2:.2f} m², "
                    f"below the minimum of {min_area_m2:g} m².",
                    _representative_location(part),
                )
            )
    return problems


def _representative_location(geom: BaseGeometry) -> tuple[float, float] | None:
    try:
        point = geom.representative_point()
    except shapely.errors.GEOSException:
        point = None
    if point is None or point.is_empty:
        first = shapely.get_coordinates(geom)[:1]
        return (float(first[0, 0]), float(first[0, 1])) if len(first) else None
    return (point.x, point.y)


def repair_grid_geometry(geom: BaseGeometry) -> tuple[BaseGeometry, list[str]]:
    """Make ``geom`` a valid Polygon/MultiPolygon; returns it with what changed, in words.

    A valid Polygon or MultiPolygon comes back unchanged (the same object) with an empty
    list. Otherwise ``shapely.make_valid`` rebuilds it with the "structure" method, which
    reads the outline as drawn: overlapping parts are merged (the default "linework"
    method would cut their overlap out) and a hole touching its shell becomes a notch.
    Only polygonal parts are kept; parts that collapse to lines or points have no area and
    are dropped (and reported). Raises ``ValueError`` when nothing with an area is left or
    the coordinates are not finite numbers, since no repair can invent the intended outline.
    """
    if geom is None or geom.is_empty:
        raise ValueError("The geometry is empty; there is nothing to repair.")
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise ValueError("The geometry has coordinates that are not finite numbers.")
    polygonal = isinstance(geom, (shapely.Polygon, shapely.MultiPolygon))
    if polygonal and shapely.is_valid(geom):
        return geom, []

    changes = []
    before_m2 = area_m2(geom)
    before_parts = _polygon_count(geom)
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        repaired = geom
    else:
        repaired = shapely.make_valid(geom, method="structure", keep_collapsed=True)
    kept, dropped = _split_polygonal(repaired)
    if not kept:
        raise ValueError(
            f"Nothing with an area is left after repairing the {geom.geom_type} ({reason})."
        )
    result = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
    after_m2 = area_m2(result)
    area_note = f"area {before_m2:.1f} m² → {after_m2:.1f} m²"

    if reason != "Valid Geometry":
        kind, location = _parse_reason(reason)
        where = f" at ({location[0]:.5f}, {location[1]:.5f})" if location else ""
        if kind in _SELF_INTERSECTION_KINDS and len(kept) > before_parts:
            changes.append(
                f"self-intersecting ring{where} split into {len(kept)} polygons; {area_note}"
            )
        else:
            changes.append(
                f"fixed {kind.lower() or 'invalid geometry'}{where}: {before_parts} polygon(s) "
                f"became {len(kept)}; {area_note}"
            )
    if not polygonal:
        changes.append(f"{geom.geom_type} reduced to its polygonal parts")
    if dropped:
        kinds = ", ".join(sorted(dropped))
        changes.append(f"dropped {sum(dropped.values())} part(s) without area ({kinds})")
    return result, changes


def _polygon_count(geom: BaseGeometry) -> int:
    if isinstance(geom, shapely.Polygon):
        return 1
    if hasattr(geom, "geoms"):
        return sum(_polygon_count(part) for part in geom.geoms)
    return 0


def _split_polygonal(geom: BaseGeometry) -> tuple[list[shapely.Polygon], dict[str, int]]:
    """Flatten into (non-empty polygons, {other geometry type: count})."""
    kept: list[shapely.Polygon] = []
    dropped: dict[str, int] = {}
    stack = [geom]
    while stack:
        part = stack.pop()
        if part.is_empty:
            continue
        if isinstance(part, shapely.Polygon):
            kept.append(part)
        elif isinstance(part, shapely.MultiPolygon):
            kept.extend(p for p in part.geoms if not p.is_empty)
        elif isinstance(part, shapely.GeometryCollection):
            # Reversed so that members pop, and are kept, in their original order.
            stack.extend(reversed(part.geoms))
        else:
            dropped[part.geom_type] = dropped.get(part.geom_type, 0) + 1
    return kept, dropped


def as_multipolygon(geom: BaseGeometry | None) -> shapely.MultiPolygon:
    """``geom`` as a MultiPolygon (the storage type): Polygons are wrapped, collections keep
    their polygonal parts, None/empty give an empty MultiPolygon. Lines and points raise
    ``ValueError`` because silently dropping them would lose a whole grid."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.GeometryCollection):
        kept, _ = _split_polygonal(geom)
        return shapely.MultiPolygon(kept)
    raise ValueError(f"A {geom.geom_type} has no area and cannot be a MultiPolygon.")
