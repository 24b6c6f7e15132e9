"""Scoped reads of units and users: outside the actor's territory an object does not exist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.errors import NotFound
from server.org.models import Unit, User
from server.org.rules import (
    POPULATION_PROBLEMS,
    TERRITORIAL_CHILD,
    TERRITORY_SIGHTS,
    PopulationCheck,
    PopulationNode,
    Sight,
    Subject,
    UnitKind,
    check_populations,
    sights,
)


def _visible_units(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    scope = scope_of(session, actor)
    if scope.unit_paths is None:
        return sa.true()
    clauses = [Unit.path.startswith(p, autoescape=True) for p in scope.unit_paths]
    if scope.ancestor_ids:
        # The chain above one's own territory is shown so clients can draw breadcrumbs.
        clauses.append(Unit.id.in_(scope.ancestor_ids))
        if Sight.TOWNSHIP_DEPARTMENTS in sights(actor.roles, Subject.UNITS):
            # The departments hanging off that chain (the district's, the city's) serve the
            # township (server/whistle/rules.py serves_township): it names them when it calls.
            clauses.append(sa.and_(Unit.kind == UnitKind.DEPARTMENT,
                                   Unit.parent_id.in_(scope.ancestor_ids)))
    return sa.or_(*clauses)


def visible_units(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """The units an actor may read, as a filter (their territory and the chain above it)."""
    return _visible_units(session, actor)


def list_units(
    session: Session,
    actor: Actor,
    *,
    kind: UnitKind | None = None,
    parent_id: uuid.UUID | None = None,
) -> list[Unit]:
    query = sa.select(Unit).where(_visible_units(session, actor))
    if kind is not None:
        query = query.where(Unit.kind == kind)
    if parent_id is not None:
        query = query.where(Unit.parent_id == parent_id)
    return list(session.scalars(query.order_by(Unit.path)))


def get_unit_for(session: Session, actor: Actor, unit_id: uuid.UUID) -> Unit:
    unit = session.scalar(sa.select(Unit).where(Unit.id == unit_id, _visible_units(session, actor)))
    if unit is None:
        raise NotFound("No such unit.", code="unit_not_found")
    return unit


def get_unit_by_code_for(session: Session, actor: Actor, code: str) -> Unit:
    unit = session.scalar(sa.select(Unit).where(Unit.code == code, _visible_units(session, actor)))
    if unit is None:
        raise NotFound("No such unit.", code="unit_not_found")
    return unit


def _in_paths(paths: tuple[str, ...] | list[str]) -> sa.ColumnElement[bool]:
    return User.unit_id.in_(sa.select(Unit.id).where(
        sa.or_(sa.false(), *(Unit.path.startswith(p, autoescape=True) for p in paths))))


def _visible_users(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """Users by the need-to-know table (``Subject.USERS``): their territory's people (not
    those of the units above it), their department's, or themselves."""
    scope = scope_of(session, actor)
    if scope.unit_paths is None:
        return sa.true()
    seen = sights(actor.roles, Subject.USERS)
    clauses: list[sa.ColumnElement[bool]] = [User.id == actor.user_id]
    if seen & TERRITORY_SIGHTS:
        clauses.append(_in_paths(scope.unit_paths))
    if Sight.DEPARTMENT in seen and scope.department_path:
        clauses.append(_in_paths([scope.department_path]))
    return sa.or_(*clauses)


def list_users(
    session: Session, actor: Actor, *, unit_id: uuid.UUID | None = None
) -> list[User]:
    query = sa.select(User).where(_visible_users(session, actor))
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return list(session.scalars(query.order_by(User.username)))


def get_user_for(session: Session, actor: Actor, user_id: uuid.UUID) -> User:
    user = session.scalar(sa.select(User).where(User.id == user_id, _visible_users(session, actor)))
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


@dataclass(frozen=True)
class PopulationRow:
    unit: Unit
    check: PopulationCheck


def population_check(
    session: Session, actor: Actor, *, root: Unit | None = None
) -> list[PopulationRow]:
    """Each territorial unit the actor sees (under ``root`` if given, itself included)
    against the sum of its children's populations, in tree order. One query."""
    scope = scope_of(session, actor)
    query = sa.select(Unit).where(Unit.kind.in_([*TERRITORIAL_CHILD, UnitKind.COMMUNITY]))
    if scope.unit_paths is not None:
        # The subtree only, not the chain above it: a district's sum needs all its townships.
        query = query.where(
            sa.or_(*(Unit.path.startswith(p, autoescape=True) for p in scope.unit_paths)))
    if root is not None:
        query = query.where(Unit.path.startswith(root.path, autoescape=True))
    units = {u.id: u for u in session.scalars(query.order_by(Unit.path))}
    checks = check_populations([
        PopulationNode(u.id, u.parent_id, u.kind, u.population) for u in units.values()
    ])
    return [PopulationRow(units[c.unit_id], c) for c in checks]


def population_as_dict(row: PopulationRow) -> dict[str, Any]:
    c = row.check
    return {
        "unit": {"id": str(row.unit.id), "code": row.unit.code, "name": row.unit.name},
        "kind": row.unit.kind.value,
        "population": c.population,
        "children": c.children,
        "children_with_population": c.children_with_population,
        "children_sum": c.children_sum,
        "difference": c.difference,
        "status": c.status.value,
        "figure_used": c.figure_used,
    }


def population_report(rows: list[PopulationRow]) -> dict[str, Any]:
    return {"units": [population_as_dict(r) for r in rows],
            "problems": sum(1 for r in rows if r.check.status in POPULATION_PROBLEMS)}


def population_problems(session: Session) -> int:
    """How many territorial units of the whole tree do not add up or lack a figure."""
    rows = session.execute(
        sa.select(Unit.id, Unit.parent_id, Unit.kind, Unit.population)
        .where(Unit.kind.in_([*TERRITORIAL_CHILD, UnitKind.COMMUNITY]))
    )
    checks = check_populations([PopulationNode(*row) for row in rows])
    return sum(1 for c in checks if c.status in POPULATION_PROBLEMS)
