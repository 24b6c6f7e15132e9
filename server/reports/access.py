"""Who may see which unit's evaluation, which rankings, and who may change a district's settings.

The table (docs/evaluation.md, "Who sees what"):

- admin, auditor: everything;
- district dispatcher: every unit of their district, both rankings, the settings;
- township dispatcher, grid leader: their township, its communities and grids, and the
  township ranking of their district (rankings are public within the district);
- department handler / staff: their department (with its outposts when it is a district
  department) and the department ranking of their district;
- grid worker: nothing (403 on every evaluation endpoint).

Outside one's scope a unit or district is answered 404 like an unknown one, so a lookup does
not reveal that it exists. Settings are changed by admins and by the district's own
dispatchers, never by anyone sitting in a judged unit (a township or a department).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.core.errors import Invalid, NotFound, PermissionDenied
from server.grids.models import Grid
from server.org.models import Unit
from server.org.rules import Role, UnitKind, path_ids

GLOBAL_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})
DISTRICT_ROLES = frozenset({Role.DISTRICT_DISPATCHER})
TOWNSHIP_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER})
DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_STAFF})
READ_EVALUATION = GLOBAL_ROLES | DISTRICT_ROLES | TOWNSHIP_ROLES | DEPARTMENT_ROLES
EDIT_SETTINGS = frozenset({Role.ADMIN, Role.DISTRICT_DISPATCHER})


class TargetKind(StrEnum):
    """The kinds of unit that are evaluated (issue 9: district … department, and grids)."""

    DISTRICT = "district"
    TOWNSHIP = "township"
    COMMUNITY = "community"
    GRID = "grid"
    DEPARTMENT = "department"


class RankingKind(StrEnum):
    TOWNSHIP = "township"
    DEPARTMENT = "department"


@dataclass(frozen=True)
class Target:
    """An evaluated unit: a row of ``units`` or (kind GRID) of ``grids``."""

    kind: TargetKind
    id: uuid.UUID
    name: str
    code: str
    district_id: uuid.UUID | None
    unit: Unit | None = None
    grid: Grid | None = None


@dataclass(frozen=True)
class _Seat:
    """Where the actor sits: the nearest district, township and outermost department."""

    district: Unit | None
    township: Unit | None
    department: Unit | None
    chain: tuple[Unit, ...]


def require_reader(actor: Actor) -> None:
    """Role-level gate of every evaluation endpoint: grid workers get 403."""
    actor.require(READ_EVALUATION, "read evaluation figures")


def target_for(session: Session, actor: Actor, unit_id: uuid.UUID) -> Target:
    """The unit or grid ``unit_id`` as the actor may see it; 404 outside their scope."""
    require_reader(actor)
    target = load_target(session, unit_id)
    if target is None or not _sees_target(session, actor, target):
        raise NotFound("No such unit.", code="unit_not_found")
    return target


def ranking_district_for(
    session: Session, actor: Actor, district_id: uuid.UUID, kind: RankingKind
) -> Unit:
    """The district whose ranking of ``kind`` the actor asks for; 404 if they may not see it."""
    require_reader(actor)
    district = session.get(Unit, district_id)
    if district is None or district.kind is not UnitKind.DISTRICT:
        raise NotFound("No such district.", code="district_not_found")
    if actor.has_any(GLOBAL_ROLES):
        return district
    seat = _seat(session, actor)
    if seat.district is None or seat.district.id != district.id:
        raise NotFound("No such district.", code="district_not_found")
    if actor.has_any(DISTRICT_ROLES):
        return district
    if kind is RankingKind.TOWNSHIP and actor.has_any(TOWNSHIP_ROLES) and seat.township:
        return district
    if kind is RankingKind.DEPARTMENT and actor.has_any(DEPARTMENT_ROLES) and seat.department:
        return district
    raise NotFound("No such district.", code="district_not_found")


def settings_district_for(
    session: Session, actor: Actor, district_id: uuid.UUID, *, edit: bool
) -> Unit:
    """The district whose evaluation settings are read (by anyone who sees one of its
    rankings) or changed (admins; the district's dispatchers outside any judged unit)."""
    require_reader(actor)
    district = session.get(Unit, district_id)
    if district is None or district.kind is not UnitKind.DISTRICT:
        raise NotFound("No such district.", code="district_not_found")
    if not _sees_district(session, actor, district):
        raise NotFound("No such district.", code="district_not_found")
    if edit and not may_edit_settings(session, actor, district):
        raise PermissionDenied(
            "Only admins and the district's own dispatchers (not a township or department) "
            "may change its evaluation settings.",
            code="settings_not_editable",
        )
    return district


def may_edit_settings(session: Session, actor: Actor, district: Unit) -> bool:
    if actor.has_any({Role.ADMIN}):
        return True
    if not actor.has_any(DISTRICT_ROLES):
        return False
    seat = _seat(session, actor)
    judged = seat.township is not None or seat.department is not None
    return seat.district is not None and seat.district.id == district.id and not judged


def _sees_district(session: Session, actor: Actor, district: Unit) -> bool:
    if actor.has_any(GLOBAL_ROLES):
        return True
    seat = _seat(session, actor)
    return seat.district is not None and seat.district.id == district.id


def load_target(session: Session, unit_id: uuid.UUID) -> Target | None:
    """The evaluated unit or grid with this id (no scope check), None if there is none."""
    unit = session.get(Unit, unit_id)
    if unit is not None:
        try:
            kind = TargetKind(unit.kind.value)
        except ValueError:
            raise Invalid(
                f"A {unit.kind.value} is not evaluated; ask for a district, township, "
                "community, grid or department.",
                code="unit_not_evaluated",
            ) from None
        return Target(kind=kind, id=unit.id, name=unit.name, code=unit.code,
                      district_id=district_of(session, unit), unit=unit)
    grid = session.get(Grid, unit_id)
    if grid is None:
        return None
    return Target(kind=TargetKind.GRID, id=grid.id, name=grid.name, code=grid.code,
                  district_id=grid.township.parent_id, grid=grid)


def district_of(session: Session, unit: Unit) -> uuid.UUID | None:
    if unit.kind is UnitKind.DISTRICT:
        return unit.id
    ids = path_ids(unit.path)
    return session.scalar(
        sa.select(Unit.id).where(Unit.id.in_(ids), Unit.kind == UnitKind.DISTRICT)
    )


def _sees_target(session: Session, actor: Actor, target: Target) -> bool:
    if actor.has_any(GLOBAL_ROLES):
        return True
    seat = _seat(session, actor)
    if seat.district is None or target.district_id != seat.district.id:
        return False
    if actor.has_any(DISTRICT_ROLES):
        return True
    in_township = (actor.has_any(TOWNSHIP_ROLES) and seat.township is not None
                   and _in_township(target, seat.township))
    in_department = (actor.has_any(DEPARTMENT_ROLES) and seat.department is not None
                     and _in_department(session, target, seat.department))
    return in_township or in_department


def _in_township(target: Target, township: Unit) -> bool:
    if target.grid is not None:
        return target.grid.township_id == township.id
    assert target.unit is not None
    own_kind = target.kind in (TargetKind.TOWNSHIP, TargetKind.COMMUNITY)
    return own_kind and target.unit.path.startswith(township.path)


def _in_department(session: Session, target: Target, department: Unit) -> bool:
    """One's department and the units under it; for a district department also its
    outposts (departments of the same department_kind inside the district's townships)."""
    unit = target.unit
    if unit is None or unit.kind is not UnitKind.DEPARTMENT:
        return False
    if unit.path.startswith(department.path):
        return True
    parent = session.get(Unit, department.parent_id) if department.parent_id else None
    if parent is None or parent.kind is not UnitKind.DISTRICT or not department.department_kind:
        return False
    return (unit.department_kind == department.department_kind
            and unit.path.startswith(parent.path) and unit.parent_id != parent.id)


def _seat(session: Session, actor: Actor) -> _Seat:
    ids = path_ids(actor.unit_path)
    by_id = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(ids)))}
    chain = tuple(by_id[i] for i in ids if i in by_id)  # root first
    district = next((u for u in reversed(chain) if u.kind is UnitKind.DISTRICT), None)
    township = next((u for u in reversed(chain) if u.kind is UnitKind.TOWNSHIP), None)
    department = next((u for u in chain if u.kind is UnitKind.DEPARTMENT), None)
    return _Seat(district=district, township=township, department=department, chain=chain)
