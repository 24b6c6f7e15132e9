"""Which cases lie in a unit's territory, and which belong to a category: SQL filters.

Territory (属地) is where a case is, not who handles it: a district's cases are those with
its ``district_id``, a township's those with its ``township_id``, a community's those whose
basic grid belongs to it, a grid's those whose basic grid has its code. Departments and
command centres have no territory. This is what hotspots, 每月一题 and the 万人诉求比 count;
the 三率 judge units by what they led instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import Case
from server.catalogue.models import CatalogueItem
from server.core.errors import Invalid, NotFound
from server.grids.models import Grid
from server.grids.rules import GridKind
from server.org.models import Unit
from server.org.rules import UnitKind


@dataclass(frozen=True)
class Area:
    """A territory: a unit (district, township, community) or a basic grid."""

    kind: str  # a UnitKind value, or "grid"
    id: uuid.UUID
    code: str
    name: str
    clause: sa.ColumnElement[bool]  # cases located in it
    population: int | None
    unit: Unit | None = None


def load_area(session: Session, unit_id: uuid.UUID) -> Area:
    """The territory of a unit or grid; NotFound if neither, Invalid if it has none."""
    unit = session.get(Unit, unit_id)
    if unit is not None:
        return Area(unit.kind.value, unit.id, unit.code, unit.name,
                    territory_clause(session, unit), unit.population, unit)
    grid = session.get(Grid, unit_id)
    if grid is None:
        raise NotFound("No such unit.", code="unit_not_found")
    if grid.kind is not GridKind.BASIC:
        raise Invalid.for_field("unit_id", "A special grid has no cases of its own here: name "
                                "a basic grid.", location="query", code="unit_has_no_territory")
    return Area("grid", grid.id, grid.code, grid.name, Case.basic_grid_code == grid.code, None)


def territory_clause(session: Session, unit: Unit) -> sa.ColumnElement[bool]:
    """Cases located in the unit's territory; Invalid for a unit that has none."""
    if unit.kind is UnitKind.DISTRICT:
        return Case.district_id == unit.id
    if unit.kind is UnitKind.TOWNSHIP:
        return Case.township_id == unit.id
    if unit.kind is UnitKind.COMMUNITY:
        codes = sorted(set(session.scalars(sa.select(Grid.code).where(
            Grid.community_id == unit.id, Grid.kind == GridKind.BASIC))))
        return Case.basic_grid_code.in_(codes) if codes else sa.false()
    raise Invalid.for_field(
        "unit_id", f"A {unit.kind.value} has no territory: name a district, township, "
        "community or basic grid.", location="query", code="unit_has_no_territory")


def category_clause(codes: Sequence[str]) -> sa.ColumnElement[bool]:
    """Cases of any of the categories, a category including its sub-categories
    ("01" takes "01.01" and "01.02.03", never "010")."""
    return sa.or_(*(sa.or_(Case.category_code == c,
                           Case.category_code.startswith(c + ".", autoescape=True))
                    for c in codes)) if codes else sa.false()


def category_names(session: Session, codes: set[str | None]) -> dict[str, str]:
    wanted = sorted(c for c in codes if c)
    if not wanted:
        return {}
    return dict(session.execute(sa.select(CatalogueItem.code, CatalogueItem.name)
                                .where(CatalogueItem.code.in_(wanted))).all())


def file_stem(text: str) -> str:
    """A period label as part of a file name (a range's '/' cannot be)."""
    return text.replace("/", "_")
