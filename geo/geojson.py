"""Reads and writes RFC 7946 GeoJSON, reporting per-feature structural problems as data.

Coordinates are taken and given as they are (RFC 7946: WGS-84 longitude, latitude);
converting from other systems is the caller's job (see ``geo.crs``), as is checking the
geometry itself (see ``geo.validate.check_grid_geometry``).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geo.validate import GeometryProblem

FEATURE_MALFORMED = "feature_malformed"
PROPERTIES_MALFORMED = "properties_malformed"
GEOMETRY_MISSING = "geometry_missing"
GEOMETRY_MALFORMED = "geometry_malformed"
GEOMETRY_WRONG_TYPE = "geometry_wrong_type"

_GRID_TYPES = ("Polygon", "MultiPolygon")
# How deeply positions are nested in "coordinates" for each type (RFC 7946 §3.1).
_POSITION_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


class GeoJSONError(ValueError):
    """The document as a whole is not a GeoJSON FeatureCollection."""


@dataclass(frozen=True)
class ParsedFeature:
    index: int  # position in the collection's "features" array, for error reports
    geometry: BaseGeometry | None  # None when missing or unreadable
    properties: dict
    problems: tuple[GeometryProblem, ...]  # structural only; empty means usable
    id: str | int | None = None  # the Feature's "id" member, if any


def parse_feature_collection(
    doc: dict, *, geometry_types: Collection[str] = _GRID_TYPES
) -> list[ParsedFeature]:
    """Parse a FeatureCollection into one :class:`ParsedFeature` per feature, in order.

    Raises :class:`GeoJSONError` only when ``doc`` is not a FeatureCollection at all; a bad
    feature yields a ParsedFeature with problems so that one bad row does not hide the
    others. ``geometry_types`` lists the acceptable geometry types (grids by default); a
    readable geometry of another type is returned with a ``geometry_wrong_type`` problem.
    Z values are dropped.
    """
    if not isinstance(doc, dict):
        raise GeoJSONError(f"Expected a GeoJSON object, got {type(doc).__name__}.")
    if doc.get("type") != "FeatureCollection":
        raise GeoJSONError(f'Expected "type": "FeatureCollection", got {doc.get("type")!r}.')
    features = doc.get("features")
    if not isinstance(features, list):
        raise GeoJSONError('A FeatureCollection needs a "features" array.')
    return [_parse_feature(index, item, geometry_types) for index, item in enumerate(features)]


def _parse_feature(index: int, item, geometry_types: Collection[str]) -> ParsedFeature:
    if not isinstance(item, dict) or item.get("type") != "Feature":
        got = item.get("type") if isinstance(item, dict) else type(item).__name__
        problem = GeometryProblem(
            FEATURE_MALFORMED, f"Feature {index} is not a GeoJSON Feature (got {got!r}).", None
        )
        return ParsedFeature(index, None, {}, (problem,))

    problems = []
    feature_id = item.get("id")
    if not isinstance(feature_id, (str, int)) or isinstance(feature_id, bool):
        feature_id = None
    properties = item.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        problems.append(
            GeometryProblem(
                PROPERTIES_MALFORMED,
                f'Feature {index} has "properties" that are not an object.',
                None,
            )
        )
        properties = {}

    geometry, geometry_problem = _parse_geometry(index, item.get("geometry"), geometry_types)
    if geometry_problem is not None:
        problems.append(geometry_problem)
    return ParsedFeature(index, geometry, dict(properties), tuple(problems), feature_id)


def _parse_geometry(index: int, raw, geometry_types: Collection[str]):
    if raw is None:
        return None, GeometryProblem(GEOMETRY_MISSING, f"Feature {index} has no geometry.", None)
    geom_type = raw.get("type") if isinstance(raw, dict) else None
    if geom_type not in _POSITION_DEPTH and geom_type != "GeometryCollection":
        return None, GeometryProblem(
            GEOMETRY_MALFORMED,
            f"Feature {index} has a geometry of unknown type {geom_type!r}.",
            None,
        )
    structure_error = _structure_error(raw)
    if structure_error is not None:
        return None, GeometryProblem(
            GEOMETRY_MALFORMED, f"Feature {index} has a {geom_type} whose {structure_error}.", None
        )
    try:
        geometry = shapely.force_2d(shape(raw))
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        shapely.errors.ShapelyError,
    ) as exc:
        return None, GeometryProblem(
            GEOMETRY_MALFORMED,
            f"Feature {index} has a {geom_type} that cannot be read: {exc}.",
            None,
        )
    if geom_type not in geometry_types:
        expected = " or ".join(sorted(geometry_types))
        return geometry, GeometryProblem(
            GEOMETRY_WRONG_TYPE,
            f"Feature {index} is a {geom_type}; expected {expected}.",
            None,
        )
    return geometry, None


def _structure_error(raw: dict) -> str | None:
    """Why the geometry object's nesting breaks RFC 7946, or None.

    shapely's reader is lenient in ways that hide mistakes (``null`` coordinates become an
    empty polygon, for one), so the nesting is checked before handing it over.
    """
    geom_type = raw.get("type")
    if geom_type == "GeometryCollection":
        members = raw.get("geometries")
        if not isinstance(members, list):
            return '"geometries" is not an array'
        for member in members:
            member_type = member.get("type") if isinstance(member, dict) else None
            if member_type not in _POSITION_DEPTH and member_type != "GeometryCollection":
                return f"member has unknown type {member_type!r}"
            error = _structure_error(member)
            if error is not None:
                return f"member {error}"
        return None
    coordinates = raw.get("coordinates")
    # Tuples too: Python callers pass shapely.geometry.mapping() output, which uses them.
    if not isinstance(coordinates, (list, tuple)):
        return '"coordinates" is not an array'
    depth = _POSITION_DEPTH[geom_type]
    if depth == 0:
        return _position_error(coordinates)
    level = [coordinates]
    for step in range(depth):
        next_level = []
        for array in level:
            if not isinstance(array, (list, tuple)) or any(
                not isinstance(a, (list, tuple)) for a in array
            ):
                return '"coordinates" are not nested as arrays of positions'
            next_level.extend(array)
        level = next_level
        # shapely would silently pad a short ring; RFC 7946 requires four positions.
        rings_reached = geom_type in ("Polygon", "MultiPolygon") and step == depth - 2
        if rings_reached and any(len(ring) < 4 for ring in level):
            return "ring has fewer than 4 positions"
    for position in level:
        error = _position_error(position)
        if error is not None:
            return error
    return None


def _position_error(position: list) -> str | None:
    if not 2 <= len(position) <= 3:
        return f"position {position!r} does not have 2 or 3 numbers"
    for value in position:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            return f"position {position!r} holds something that is not a finite number"
    return None


def feature(geometry: BaseGeometry | None, properties: dict, id=None) -> dict:
    """A GeoJSON Feature dict; polygon rings are oriented counter-clockwise as RFC 7946
    requires of new output. ``id`` is included only when given."""
    geometry_json = None if geometry is None else mapping(shapely.orient_polygons(geometry))
    result = {"type": "Feature", "geometry": geometry_json, "properties": dict(properties)}
    if id is not None:
        result["id"] = id
    return result


def feature_collection(features: list[dict]) -> dict:
    """A GeoJSON FeatureCollection dict around already built features."""
    return {"type": "FeatureCollection", "features": list(features)}
