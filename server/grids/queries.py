"""Scoped reads of grids, GeoJSON export, and the topology audit of a township."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from shapely import union_all
from shapely.geometry import mapping
from sqlalchemy.orm import Session

from geo import geojson as gj
from geo.audit import TopologyReport, audit_basic_grids
from geo.crs import CRS, geometry_from_wgs84
from geo.exchange import features_csv
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.cursors import decode_cursor, encode_cursor
from server.core.errors import NotFound
from server.grids.models import Grid, GridImport
from server.grids.rules import GridKind
from server.org.models import Unit
from server.org.rules import Reach, UnitKind


def visible_grids(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """The grids an actor may read: territory for dispatchers, own grids for grid workers."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    if scope.reach is Reach.OWN_GRIDS:
        # A grid worker sees their grids and the special grids laid over their townships.
        return sa.or_(
            Grid.id.in_(scope.grid_ids),
            sa.and_(Grid.kind == GridKind.SPECIAL, Grid.township_id.in_(scope.township_ids)),
        )
    return Grid.township_id.in_(scope.township_ids)


def get_grid_for(session: Session, actor: Actor, grid_id: uuid.UUID) -> Grid:
    grid = session.scalar(sa.select(Grid).where(Grid.id == grid_id, visible_grids(session, actor)))
    if grid is None:
        raise NotFound("No such grid.", code="grid_not_found")
    return grid


def get_township_for(session: Session, actor: Actor, code: str) -> Unit:
    scope = scope_of(session, actor)
    unit = session.scalar(sa.select(Unit).where(Unit.code == code, Unit.kind == UnitKind.TOWNSHIP))
    if unit is None or (scope.township_ids is not None and unit.id not in scope.township_ids):
        raise NotFound(f"No township you can see has code {code!r}.", code="township_not_found")
    return unit


@dataclass(frozen=True)
class GridPage:
    grids: list[Grid]
    next_cursor: str | None


def list_grids(
    session: Session,
    actor: Actor,
    *,
    township_code: str | None = None,
    kind: GridKind | None = None,
    include_retired: bool = False,
    limit: int = 100,
    cursor: str | None = None,
) -> GridPage:
    """Grids in code order (then id, since retired versions share a code), keyset-paginated."""
    query = sa.select(Grid).where(visible_grids(session, actor))
    if township_code is not None:
        query = query.where(Grid.township_id == get_township_for(session, actor, township_code).id)
    if kind is not None:
        query = query.where(Grid.kind == kind)
    if not include_retired:
        query = query.where(Grid.retired_at.is_(None))
    if cursor is not None:
        after_code, after_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(Grid.code > after_code, sa.and_(Grid.code == after_code, Grid.id > after_id))
        )
    rows = list(session.scalars(query.order_by(Grid.code, Grid.id).limit(limit + 1)))
    next_cursor = (
        encode_cursor(rows[limit - 1].code, rows[limit - 1].id) if len(rows) > limit else None
    )
    return GridPage(grids=rows[:limit], next_cursor=next_cursor)


def grid_feature(grid: Grid, crs: CRS = CRS.WGS84) -> dict[str, Any]:
    return gj.feature(
        geometry_from_wgs84(grid.boundary, crs),
        {
            "code": grid.code,
            "name": grid.name,
            "kind": grid.kind.value,
            "township": grid.township.code,
            "community": grid.community.code if grid.community else None,
            "owner_unit": grid.owner_unit.code if grid.owner_unit else None,
            "special_kind": grid.special_kind,
            "area_m2": round(grid.area_m2, 1),
            "created_at": grid.created_at.isoformat(),
            "retired_at": grid.retired_at.isoformat() if grid.retired_at else None,
        },
        id=str(grid.id),
    )


def exported_grids(
    session: Session,
    actor: Actor,
    *,
    township_code: str | None,
    kind: GridKind | None,
    include_retired: bool = False,
) -> list[Grid]:
    """The grids an export holds, by code (then id: retired versions share a code)."""
    query = sa.select(Grid).where(visible_grids(session, actor))
    if township_code is not None:
        query = query.where(Grid.township_id == get_township_for(session, actor, township_code).id)
    if kind is not None:
        query = query.where(Grid.kind == kind)
    if not include_retired:
        query = query.where(Grid.retired_at.is_(None))
    return list(session.scalars(query.order_by(Grid.code, Grid.id)))


def export_grids(
    session: Session,
    actor: Actor,
    *,
    township_code: str | None,
    kind: GridKind | None,
    include_retired: bool = False,
) -> dict[str, Any]:
    """RFC 7946 GeoJSON (WGS-84) the import accepts back (properties use the same names)."""
    grids = exported_grids(session, actor, township_code=township_code, kind=kind,
                           include_retired=include_retired)
    return gj.feature_collection([grid_feature(g) for g in grids])


def export_grids_csv(
    session: Session,
    actor: Actor,
    *,
    township_code: str | None,
    kind: GridKind | None,
    crs: CRS,
    include_retired: bool = False,
) -> str:
    """The same grids as CSV in any crs, which every row names (``geo.exchange``)."""
    grids = exported_grids(session, actor, township_code=township_code, kind=kind,
                           include_retired=include_retired)
    rows = [(grid_feature(g)["properties"], geometry_from_wgs84(g.boundary, crs)) for g in grids]
    return features_csv(GRID_CSV_COLUMNS, rows, crs)


GRID_CSV_COLUMNS = ("code", "name", "kind", "township", "community", "owner_unit", "area_m2",
                    "created_at", "retired_at")


@dataclass(frozen=True)
class SpecialGridIssue:
    code: str
    problem: str  # "owner_missing" | "outside_basic_grids"
    reason: str


@dataclass(frozen=True)
class TownshipAudit:
    township: Unit
    basic_count: int
    special_count: int
    topology: TopologyReport
    special_issues: list[SpecialGridIssue]


def audit_township(session: Session, township: Unit) -> TownshipAudit:
    """Overlaps, gaps and protrusions of the basic grids; special grids lacking owner or place."""
    grids = list(
        session.scalars(
            sa.select(Grid)
            .where(Grid.township_id == township.id, Grid.retired_at.is_(None))
            .order_by(Grid.code)
        )
    )
    basic = [g for g in grids if g.kind is GridKind.BASIC]
    special = [g for g in grids if g.kind is GridKind.SPECIAL]
    topology = audit_basic_grids([(g.code, g.boundary) for g in basic], township.boundary)
    issues: list[SpecialGridIssue] = []
    basic_union = union_all([g.boundary for g in basic]) if basic and special else None
    for g in special:
        if g.owner_unit_id is None:
            issues.append(SpecialGridIssue(g.code, "owner_missing", "No owner unit is recorded."))
        if basic_union is None or not g.boundary.intersects(basic_union):
            issues.append(
                SpecialGridIssue(
                    g.code, "outside_basic_grids", "It overlays no basic grid of the township."
                )
            )
    return TownshipAudit(township, len(basic), len(special), topology, issues)


def audit_as_dict(audit: TownshipAudit) -> dict[str, Any]:
    """The audit as JSON-ready data: geometries as GeoJSON, areas in m² to 0.1 m²."""
    topology = audit.topology

    def area_feature(item: Any, **extra: Any) -> dict[str, Any]:
        return {"area_m2": round(item.area_m2, 1), "geometry": mapping(item.geometry), **extra}

    return {
        "township": audit.township,
        "basic_grids": audit.basic_count,
        "special_grids": audit.special_count,
        "clean": not (topology.overlaps or topology.gaps or topology.protrusions
                      or audit.special_issues),
        "overlaps": [area_feature(o, code_a=o.code_a, code_b=o.code_b) for o in topology.overlaps],
        "gaps": [area_feature(g, location=list(g.location)) for g in topology.gaps],
        "protrusions": [area_feature(p, code=p.code) for p in topology.protrusions],
        "special_grid_issues": [vars(i) for i in audit.special_issues],
    }


def audit_geojson(audit: TownshipAudit) -> dict[str, Any]:
    """The audit as an RFC 7946 FeatureCollection: one feature per overlap, gap and
    protrusion, ``problem`` and ``area_m2`` in its properties, to open next to the grids."""
    topology = audit.topology
    township = audit.township.code
    features = [
        gj.feature(o.geometry, {"problem": "overlap", "township": township,
                                "area_m2": round(o.area_m2, 1), "code_a": o.code_a,
                                "code_b": o.code_b})
        for o in topology.overlaps
    ]
    features += [
        gj.feature(g.geometry, {"problem": "gap", "township": township,
                                "area_m2": round(g.area_m2, 1)})
        for g in topology.gaps
    ]
    features += [
        gj.feature(p.geometry, {"problem": "protrusion", "township": township,
                                "area_m2": round(p.area_m2, 1), "code": p.code})
        for p in topology.protrusions
    ]
    doc = gj.feature_collection(features)
    doc["name"] = f"topology-audit-{township}"  # GDAL names the layer after it
    return doc


def list_imports(session: Session, *, overridden: bool | None, limit: int) -> list[GridImport]:
    """Grid import records, newest first; ``overridden`` filters on the tiling override."""
    query = sa.select(GridImport)
    if overridden is not None:
        query = query.where(GridImport.topology_override.is_(overridden))
    return list(session.scalars(
        query.order_by(GridImport.imported_at.desc(), GridImport.id).limit(limit)))
