"""Tiling checks of a grid import: basic grids must not overlap and must stay in their township.

The geometry work is ``geo.audit`` (pure shapely, geodesic m²); this module gathers what it
compares against (the active basic grids near the file, the townships' and districts'
boundaries) and turns each conflict into a :class:`FeatureProblem` of the import report.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geo.audit import TilingConflict, overlaps_of_new_grids, parts_outside
from server.grids.models import Grid
from server.grids.rules import FeatureProblem, GridKind
from server.org.models import Unit
from server.org.rules import UnitKind

# The problem codes that ``override_topology`` lets through; nothing else can be overridden.
GRID_OVERLAP = "grid_overlap"
OUTSIDE_TOWNSHIP = "outside_township"
OUTSIDE_DISTRICT = "outside_district"
OVERRIDABLE = frozenset({GRID_OVERLAP, OUTSIDE_TOWNSHIP, OUTSIDE_DISTRICT})


@dataclass(frozen=True)
class Tolerances:
    """Areas in geodesic m² below which a conflict is digitising noise, not a problem."""

    overlap_m2: float = 1.0
    outside_m2: float = 100.0


DEFAULT_TOLERANCES = Tolerances()  # config.py's defaults; the API passes the settings

@dataclass(frozen=True)
class NewGrid:
    """What the checks need of one feature that passed the per-feature checks."""

    index: int
    code: str
    kind: GridKind
    township: Unit
    geometry: BaseGeometry


def tiling_problems(
    session: Session,
    grids: Sequence[NewGrid],
    *,
    replaced_codes: Collection[str],
    tolerances: Tolerances,
    visible_township_ids: frozenset[uuid.UUID] | None = None,
) -> list[FeatureProblem]:
    """Overlaps of new basic grids with active ones (except those being replaced) and with
    each other; basic grids outside their township; special grids outside their district.

    An overlapped grid of a township outside ``visible_township_ids`` (None = all) is not
    named, so the answer does not reveal another territory's grid codes.
    """
    basic = [g for g in grids if g.kind is GridKind.BASIC]
    problems = _overlap_problems(session, basic, replaced_codes, tolerances.overlap_m2,
                                 visible_township_ids)
    by_township: dict[uuid.UUID, list[NewGrid]] = {}
    for g in basic:
        by_township.setdefault(g.township.id, []).append(g)
    for members in by_township.values():
        boundary = members[0].township.boundary
        if boundary is not None:  # no boundary recorded: nothing to check against
            problems += _outside_problems(members, boundary, OUTSIDE_TOWNSHIP,
                                          f"township {members[0].township.code}",
                                          tolerances.outside_m2)
    by_district: dict[uuid.UUID, list[NewGrid]] = {}
    for g in grids:
        if g.kind is GridKind.SPECIAL and g.township.parent_id is not None:
            by_district.setdefault(g.township.parent_id, []).append(g)
    for district_id, members in by_district.items():
        district = session.get(Unit, district_id)
        area = district_area(session, district)
        if area is not None:
            problems += _outside_problems(members, area, OUTSIDE_DISTRICT,
                                          f"district {district.code}", tolerances.outside_m2)
    return sorted(problems, key=lambda p: (p.index, p.code, p.other_grid_code or ""))


def district_area(session: Session, district: Unit) -> BaseGeometry | None:
    """The district's own boundary, else the union of its townships' (None if one lacks it)."""
    if district.boundary is not None:
        return district.boundary
    boundaries = list(session.scalars(
        sa.select(Unit.boundary).where(Unit.parent_id == district.id,
                                       Unit.kind == UnitKind.TOWNSHIP)))
    if not boundaries or any(b is None for b in boundaries):
        return None
    return shapely.union_all(boundaries)


def _overlap_problems(
    session: Session, basic: Sequence[NewGrid], replaced_codes: Collection[str],
    tolerance_m2: float, visible_township_ids: frozenset[uuid.UUID] | None,
) -> list[FeatureProblem]:
    if not basic:
        return []
    min_lon, min_lat, max_lon, max_lat = shapely.union_all(
        [shapely.envelope(g.geometry) for g in basic]).bounds
    # Every active basic grid whose bounding box meets the file's, of any township: a grid
    # laid over another township's grids is the case that went to the wrong township.
    existing = session.execute(
        sa.select(Grid.code, Grid.boundary, Grid.township_id).where(
            Grid.retired_at.is_(None), Grid.kind == GridKind.BASIC,
            Grid.code.not_in(list(replaced_codes)) if replaced_codes else sa.true(),
            Grid.min_lon <= max_lon, Grid.max_lon >= min_lon,
            Grid.min_lat <= max_lat, Grid.max_lat >= min_lat,
        )
    ).all()
    hidden = {code for code, _, township_id in existing
              if visible_township_ids is not None and township_id not in visible_township_ids}
    conflicts = overlaps_of_new_grids(
        [(g.code, g.geometry) for g in basic], [(code, geom) for code, geom, _ in existing],
        tolerance_m2=tolerance_m2,
    )
    return [_overlap_problem(basic[c.index], c, tolerance_m2, c.other in hidden)
            for c in conflicts]


def _overlap_problem(
    grid: NewGrid, c: TilingConflict, tolerance_m2: float, hidden: bool
) -> FeatureProblem:
    other = None if hidden else c.other
    what = "a basic grid outside your territory" if hidden else f"basic grid {c.other}"
    return FeatureProblem(
        grid.index, grid.code, "geometry", GRID_OVERLAP,
        f"Overlaps {what} by {c.area_m2:.1f} m² (tolerance {tolerance_m2:g} m²); "
        "an admin may pass override_topology with a reason to import it anyway.",
        c.location, area_m2=c.area_m2, other_grid_code=other,
    )


def _outside_problems(
    members: Sequence[NewGrid], area: BaseGeometry, code: str, what: str, tolerance_m2: float
) -> list[FeatureProblem]:
    conflicts = parts_outside([g.geometry for g in members], area, tolerance_m2=tolerance_m2)
    return [
        FeatureProblem(
            members[c.index].index, members[c.index].code, "geometry", code,
            f"{c.area_m2:.1f} m² lie outside the boundary of {what} "
            f"(tolerance {tolerance_m2:g} m²).",
            c.location, area_m2=c.area_m2,
        )
        for c in conflicts
    ]
