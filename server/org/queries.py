"""Scoped reads of units and users: outside the actor's territory an object does not exist."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.errors import NotFound
from server.org.models import Unit, User
from server.org.rules import UnitKind


def _visible_units(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    scope = scope_of(session, actor)
    if scope.unit_paths is None:
        return sa.true()
    in_subtree = sa.or_(*(Unit.path.startswith(p, autoescape=True) for p in scope.unit_paths))
    # The chain above one's own territory is shown so clients can draw breadcrumbs.
    return sa.or_(in_subtree, Unit.id.in_(scope.ancestor_ids)) if scope.ancestor_ids else in_subtree


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


def _visible_users(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    scope = scope_of(session, actor)
    if scope.unit_paths is None:
        return sa.true()
    # Users of the units above one's territory are not shown: only the subtree's people.
    return User.unit_id.in_(
        sa.select(Unit.id).where(
            sa.or_(*(Unit.path.startswith(p, autoescape=True) for p in scope.unit_paths))
        )
    )


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
