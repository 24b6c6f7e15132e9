"""Case counts per grid of a township or district as a GeoJSON choropleth (RFC 7946).

One Feature per grid of the area that existed during the period, its boundary in WGS-84
lon/lat (RFC 7946 has no ``crs`` member: WGS-84 is the only system), rings counter-clockwise,
the geometry as stored (grids are validated at import, so it is valid), and properties a GIS
colours by: ``count`` this period, ``previous_count`` the period before, ``change``.

What is counted: appeals received (受理) in the period — ``received_at`` in [start, end) —
located in the grid (basic grids: the case's basic grid; special grids: the special grids the
case's point fell in). A linked duplicate (linked to its master before the period's end) is
left out, so one problem reported ten times counts once. Exempted cases (剔除) count: an
exemption takes a case out of a unit's score, not out of what residents asked for. Facts
after the period's end change nothing, so a closed month's map is stable.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo import geojson as gj
from server.cases.models import Case, CaseSpecialGrid
from server.grids.models import Grid
from server.grids.rules import GridKind
from server.org.models import Unit
from server.org.rules import UnitKind
from server.reports.periods import Period


@dataclass(frozen=True)
class GridCount:
    grid: Grid
    count: int
    previous_count: int

    @property
    def change(self) -> int:
        return self.count - self.previous_count


def grid_counts(
    session: Session,
    *,
    area: Unit,
    period: Period,
    grid_kind: GridKind = GridKind.BASIC,
    category_prefix: str | None = None,
) -> list[GridCount]:
    """Every grid of ``area`` (a township or district) in the period with its two counts."""
    grids = list(session.scalars(
        sa.select(Grid)
        .where(Grid.kind == grid_kind, Grid.township_id.in_(_townships(area)),
               Grid.created_at < period.end_utc,
               sa.or_(Grid.retired_at.is_(None), Grid.retired_at > period.start_utc))
        .order_by(Grid.code, Grid.created_at)
    ))
    counts = _counts(session, [g.id for g in grids], period, grid_kind, category_prefix)
    return [GridCount(g, *counts.get(g.id, (0, 0))) for g in grids]


def grid_counts_geojson(
    session: Session,
    *,
    area: Unit,
    period: Period,
    grid_kind: GridKind = GridKind.BASIC,
    category_prefix: str | None = None,
) -> dict:
    """The FeatureCollection; foreign members name the area, period and filter (RFC 7946 §6.1)."""
    rows = grid_counts(session, area=area, period=period, grid_kind=grid_kind,
                       category_prefix=category_prefix)
    features = [gj.feature(row.grid.boundary, _properties(row), id=str(row.grid.id))
                for row in rows]
    return {
        **gj.feature_collection(features),
        "name": f"grid-counts-{area.code}-{period.label}",
        "area": {"id": str(area.id), "code": area.code, "name": area.name,
                 "kind": area.kind.value},
        "period": period.label,
        "previous_period": period.previous().label,
        "category_prefix": category_prefix,
    }


def _properties(row: GridCount) -> dict:
    grid = row.grid
    return {
        "code": grid.code,
        "name": grid.name,
        "kind": grid.kind.value,
        "township": grid.township.code,
        "township_name": grid.township.name,
        "count": row.count,
        "previous_count": row.previous_count,
        "change": row.change,
        "retired_at": grid.retired_at.isoformat() if grid.retired_at else None,
    }


def _townships(area: Unit) -> sa.Select | list[uuid.UUID]:
    if area.kind is UnitKind.TOWNSHIP:
        return [area.id]
    if area.kind is UnitKind.DISTRICT:
        return sa.select(Unit.id).where(Unit.kind == UnitKind.TOWNSHIP,
                                        Unit.path.startswith(area.path))
    raise ValueError(f"a grid map covers a township or a district, not a {area.kind.value}")


def _counts(
    session: Session, grid_ids: list[uuid.UUID], period: Period, grid_kind: GridKind,
    category_prefix: str | None,
) -> dict[uuid.UUID, tuple[int, int]]:
    """grid id -> (count, previous count), both periods in one pass over the cases' index."""
    if not grid_ids:
        return {}
    previous = period.previous()
    if grid_kind is GridKind.BASIC:
        grid_col = Case.basic_grid_id
        query = sa.select(grid_col)
    else:
        grid_col = CaseSpecialGrid.grid_id
        query = sa.select(grid_col).join(Case, Case.id == CaseSpecialGrid.case_id)
    query = query.add_columns(_received_in(period), _received_in(previous)).where(
        Case.received_at >= previous.start_utc, Case.received_at < period.end_utc,
        grid_col.in_(grid_ids),
    ).group_by(grid_col)
    if category_prefix:
        query = query.where(Case.category_code.startswith(category_prefix, autoescape=True))
    return {grid_id: (int(now), int(before)) for grid_id, now, before in session.execute(query)}


def _received_in(period: Period) -> sa.ColumnElement[int]:
    """How many of the group's cases were received in ``period`` and not linked by its end."""
    counted = sa.and_(
        Case.received_at >= period.start_utc, Case.received_at < period.end_utc,
        sa.or_(Case.linked_at.is_(None), Case.linked_at >= period.end_utc),
    )
    return sa.func.coalesce(sa.func.sum(sa.case((counted, 1), else_=0)), 0)
