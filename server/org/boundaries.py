"""Importing and exporting the boundaries of districts, townships and communities.

Like a grid import: a GeoJSON FeatureCollection in any supported CRS, every feature checked
before anything is written, every problem reported with its feature index, all or nothing.
Each changed boundary leaves a revision (``server.org.revisions``) with the old outline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from geo import geojson as gj
from geo.crs import CRS, geometry_from_wgs84, geometry_to_wgs84
from geo.limits import DEFAULT_VERTEX_CAPS, VertexCaps
from geo.validate import as_multipolygon, check_grid_geometry
from server.core.errors import Invalid
from server.core.trail import ActorLike
from server.core.vertex_caps import check_vertex_caps
from server.org.models import Unit
from server.org.revisions import record_revision, state_of
from server.org.rules import UnitKind

MAX_BOUNDARIES_PER_IMPORT = 5_000
# The units whose territory is an area: others (departments, centres) have none.
AREA_KINDS = frozenset({UnitKind.DISTRICT, UnitKind.TOWNSHIP, UnitKind.COMMUNITY})
BOUNDARY_COLUMNS = ("code", "name", "kind", "parent_code", "population")


@dataclass(frozen=True)
class BoundaryProblem:
    index: int
    unit_code: str | None
    field: str
    code: str
    reason: str
    location: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "unit_code": self.unit_code, "field": self.field,
                "code": self.code, "reason": self.reason,
                "location": list(self.location) if self.location else None}


def import_boundaries(
    session: Session, doc: dict[str, Any], *, crs: CRS, now: datetime,
    changed_by_user_id: uuid.UUID | None, actor: ActorLike | None = None,
    vertex_caps: VertexCaps = DEFAULT_VERTEX_CAPS,
) -> list[Unit]:
    """Set the boundary of each unit named by a feature's ``code`` property, all or nothing.

    Returns the units whose boundary changed (a feature equal to the stored outline changes
    nothing and leaves no revision).
    """
    try:
        parsed = gj.parse_feature_collection(doc)
    except gj.GeoJSONError as exc:
        raise Invalid.for_field("type", str(exc), code="geojson_invalid") from exc
    if not parsed:
        raise Invalid.for_field("features", "The collection has no features.", code="geojson_empty")
    if len(parsed) > MAX_BOUNDARIES_PER_IMPORT:
        raise Invalid.for_field("features", f"At most {MAX_BOUNDARIES_PER_IMPORT} features.",
                                code="too_many_features")
    check_vertex_caps(parsed, vertex_caps)
    wanted = {f.properties.get("code") for f in parsed}
    units = {u.code: u for u in session.scalars(
        sa.select(Unit).where(Unit.code.in_([c for c in wanted if isinstance(c, str)])))}
    problems: list[BoundaryProblem] = []
    accepted: list[tuple[Unit, Any]] = []
    seen: dict[str, int] = {}
    for feature in parsed:
        found = _check(feature, units, seen, crs)
        if isinstance(found, list):
            problems += found
        else:
            accepted.append(found)
    if problems:
        bad = len({p.index for p in problems})
        by_feature: dict[str, dict[str, list[str]]] = {}
        for p in problems:
            by_feature.setdefault(str(p.index), {}).setdefault(p.field, []).append(
                f"{p.code}: {p.reason}")
        raise Invalid(f"{bad} of {len(parsed)} features have problems; nothing was imported.",
                      code="boundary_import_rejected",
                      errors={"json": {"features": by_feature}},
                      details=[p.as_dict() for p in problems])
    changed = []
    for unit, geometry in accepted:
        before = state_of(session, unit)
        unit.boundary = geometry
        session.flush()
        if record_revision(session, unit, before, source="boundary_import",
                           changed_by_user_id=changed_by_user_id, now=now,
                           actor=actor) is not None:
            changed.append(unit)
    return changed


def boundary_from_geojson(raw: Any, crs: CRS) -> Any:
    """One GeoJSON (Multi)Polygon of an edit, checked like an imported one, in WGS-84."""
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "geometry": raw, "properties": {}}]}
    [feature] = gj.parse_feature_collection(doc)
    found = list(feature.problems)
    geometry = None
    if not found and feature.geometry is not None:
        geometry = geometry_to_wgs84(feature.geometry, crs)
        found = check_grid_geometry(geometry)
    if found or geometry is None:
        raise Invalid.for_field("boundary", "; ".join(f"{p.code}: {p.reason}" for p in found),
                                code="boundary_invalid")
    return as_multipolygon(geometry)


def _check(
    feature: gj.ParsedFeature, units: dict[str, Unit], seen: dict[str, int], crs: CRS
) -> list[BoundaryProblem] | tuple[Unit, Any]:
    code = feature.properties.get("code")
    label = code if isinstance(code, str) else None
    problems: list[BoundaryProblem] = []

    def problem(field: str, slug: str, reason: str, location: Any = None) -> None:
        problems.append(BoundaryProblem(feature.index, label, field, slug, reason, location))

    unit = units.get(code) if isinstance(code, str) else None
    if unit is None:
        problem("properties.code", "unknown_unit", f"No unit has code {code!r}.")
    elif unit.kind not in AREA_KINDS:
        problem("properties.code", "unit_has_no_area",
                f"A {unit.kind} has no boundary; only districts, townships and communities.")
    elif code in seen:
        problem("properties.code", "duplicate_unit_code",
                f"Unit {code!r} also has feature {seen[code]} of this file.")
    else:
        seen[code] = feature.index
    for p in feature.problems:
        problem("geometry", p.code, p.reason, p.location)
    geometry = None
    if not feature.problems and feature.geometry is not None:
        geometry = geometry_to_wgs84(feature.geometry, crs)
        for p in check_grid_geometry(geometry):
            problem("geometry", p.code, p.reason, p.location)
    if problems or unit is None or geometry is None:
        return problems
    return unit, as_multipolygon(geometry)


def boundary_units(session: Session, *, kind: UnitKind | None, under: Unit | None,
                   visible: sa.ColumnElement[bool]) -> list[Unit]:
    """Units of an area kind that have a boundary, in code order, optionally in a subtree."""
    query = (sa.select(Unit).options(undefer(Unit.boundary))
             .where(Unit.kind.in_(list(AREA_KINDS)), Unit.boundary.is_not(None), visible))
    if kind is not None:
        query = query.where(Unit.kind == kind)
    if under is not None:
        query = query.where(Unit.path.startswith(under.path))
    return list(session.scalars(query.order_by(Unit.code)))


def boundary_rows(session: Session, units: list[Unit], crs: CRS) -> list[tuple[dict, Any]]:
    """(properties, geometry in ``crs``) per unit; the import reads the same ``code``."""
    parents = {u.id: u.code for u in session.scalars(
        sa.select(Unit).where(Unit.id.in_([u.parent_id for u in units if u.parent_id])))}
    return [
        ({"code": u.code, "name": u.name, "kind": u.kind.value,
          "parent_code": parents.get(u.parent_id), "population": u.population},
         geometry_from_wgs84(u.boundary, crs))
        for u in units
    ]


def boundaries_geojson(session: Session, units: list[Unit]) -> dict[str, Any]:
    """RFC 7946 GeoJSON: WGS-84 only (see ``geo.exchange`` for the other systems)."""
    return gj.feature_collection([
        gj.feature(geometry, properties, id=properties["code"])
        for properties, geometry in boundary_rows(session, units, CRS.WGS84)
    ])
