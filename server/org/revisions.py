"""Editing units (name, population, parent, boundary) with a revision row for every change."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from server.core.errors import Conflict, Invalid
from server.core.trail import ActorLike, record_change
from server.org.models import Unit, UnitRevision
from server.org.rules import ALLOWED_PARENTS, UnitKind

UNSET: Any = object()  # "not given": None means "clear it" for population and boundary


@dataclass(frozen=True)
class UnitState:
    """The edited fields of a unit at one moment; boundary kept apart (it is geometry)."""

    fields: dict[str, Any]
    boundary: BaseGeometry | None


def state_of(session: Session, unit: Unit) -> UnitState:
    parent_code = None
    if unit.parent_id is not None:
        parent_code = session.scalar(sa.select(Unit.code).where(Unit.id == unit.parent_id))
    return UnitState(
        {"name": unit.name, "population": unit.population, "parent_code": parent_code},
        unit.boundary,
    )


def record_revision(
    session: Session, unit: Unit, before: UnitState, *, source: str,
    changed_by_user_id: uuid.UUID | None, now: datetime, actor: ActorLike | None = None,
) -> UnitRevision | None:
    """Write what changed since ``before`` (only the changed fields); None if nothing did."""
    after = state_of(session, unit)
    changed = [k for k in after.fields if after.fields[k] != before.fields[k]]
    boundary_changed = not _same_geometry(before.boundary, after.boundary)
    if not changed and not boundary_changed:
        return None
    revision = UnitRevision(
        unit_id=unit.id, changed_at=now, changed_by_user_id=changed_by_user_id, source=source,
        before={k: before.fields[k] for k in changed}, after={k: after.fields[k] for k in changed},
        boundary_before=before.boundary if boundary_changed else None,
        boundary_after=after.boundary if boundary_changed else None,
    )
    if boundary_changed:
        revision.before["boundary"] = "changed"
        revision.after["boundary"] = "changed"
    session.add(revision)
    session.flush()
    record_change(session, actor, "unit.updated", unit, before=revision.before,
                  after=revision.after, note=source, now=now)
    return revision


def _same_geometry(a: BaseGeometry | None, b: BaseGeometry | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.equals_exact(b, 0.0) or a.equals(b)


def update_unit(
    session: Session, unit: Unit, *, now: datetime, changed_by_user_id: uuid.UUID | None,
    actor: ActorLike | None = None,
    name: str = UNSET, population: int | None = UNSET, parent_code: str = UNSET,
    boundary: BaseGeometry | None = UNSET,
) -> Unit:
    """Change what is given, keep the rest; one revision row records before and after."""
    before = state_of(session, unit)
    if name is not UNSET:
        unit.name = name
    if population is not UNSET:
        unit.population = population
    if boundary is not UNSET:
        unit.boundary = boundary
    if parent_code is not UNSET and parent_code != before.fields["parent_code"]:
        _move(session, unit, parent_code)
    session.flush()
    record_revision(session, unit, before, source="edit", changed_by_user_id=changed_by_user_id,
                    now=now, actor=actor)
    return unit


def _move(session: Session, unit: Unit, parent_code: str) -> None:
    """Put ``unit`` under another parent; its whole subtree's paths follow."""
    parent = session.scalar(sa.select(Unit).where(Unit.code == parent_code))
    if parent is None:
        raise Invalid.for_field("parent_code", f"No unit has code {parent_code!r}.",
                                code="unknown_unit")
    if parent.kind not in ALLOWED_PARENTS[unit.kind]:
        raise Invalid.for_field("parent_code", f"A {unit.kind} cannot sit under a {parent.kind}.",
                                code="unit_parent_not_allowed")
    if parent.path.startswith(unit.path):
        raise Invalid.for_field("parent_code", "A unit cannot move under itself.",
                                code="unit_parent_cycle")
    if unit.kind is UnitKind.COMMUNITY:
        _refuse_if_community_has_grids(session, unit)
    old_path = unit.path
    new_path = parent.path + unit.id.hex + "/"
    unit.parent_id = parent.id
    for member in session.scalars(sa.select(Unit).where(Unit.path.startswith(old_path))):
        member.path = new_path + member.path[len(old_path):]


def _refuse_if_community_has_grids(session: Session, unit: Unit) -> None:
    # Grids name both their township and their community: moving the community alone would
    # leave them in two townships at once. Re-import those grids first.
    from server.grids.models import Grid  # grids build on org; imported here only

    if session.scalar(sa.select(Grid.id).where(Grid.community_id == unit.id,
                                               Grid.retired_at.is_(None)).limit(1)):
        raise Conflict.for_field(
            "parent_code", "Active grids belong to this community; move or re-import them first.",
            code="community_has_grids")


def list_revisions(session: Session, unit: Unit) -> list[UnitRevision]:
    return list(session.scalars(
        sa.select(UnitRevision).where(UnitRevision.unit_id == unit.id)
        .order_by(UnitRevision.changed_at, UnitRevision.id)))
