"""Creating units and users: the only way the tree and its people change."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from server.auth.passwords import MIN_PASSWORD_LENGTH, Passwords
from server.core.errors import Conflict, Invalid, NotFound
from server.core.ids import new_id
from server.core.trail import ActorLike, record_change, state_of
from server.org.models import Unit, User, UserRole
from server.org.rules import ALLOWED_PARENTS, Role, UnitKind


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: UnitKind,
    parent_code: str | None,
    now: datetime,
    population: int | None = None,
    department_kind: str | None = None,
    boundary: BaseGeometry | None = None,
    actor: ActorLike | None = None,
) -> Unit:
    """Add a unit under its parent; the kind must fit the parent (a township sits in a district)."""
    if session.scalar(sa.select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict.for_field("code", f"A unit with code {code!r} already exists.",
                                 code="duplicate_unit_code")
    parent = None
    if parent_code is not None:
        parent = session.scalar(sa.select(Unit).where(Unit.code == parent_code))
        if parent is None:
            raise Invalid.for_field("parent_code", f"No unit has code {parent_code!r}.",
                                    code="unknown_unit")
    parent_kind = parent.kind if parent else None
    if parent_kind not in ALLOWED_PARENTS[kind]:
        allowed = ", ".join(sorted(str(k) for k in ALLOWED_PARENTS[kind] if k)) or "none"
        raise Invalid.for_field(
            "parent_code",
            f"A {kind} cannot sit under a {parent_kind or 'missing parent'}; allowed: {allowed}.",
            code="unit_parent_not_allowed",
        )
    unit_id = new_id()
    unit = Unit(
        id=unit_id,
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + unit_id.hex + "/",
        population=population,
        department_kind=department_kind,
        boundary=boundary,
        created_at=now,
    )
    session.add(unit)
    session.flush()
    record_change(session, actor, "unit.created", unit, after=state_of("unit", unit), now=now)
    return unit


def create_user(
    session: Session,
    passwords: Passwords,
    *,
    username: str,
    password: str,
    display_name: str,
    unit_id: uuid.UUID,
    roles: Iterable[Role],
    now: datetime,
    actor: ActorLike | None = None,
) -> User:
    roles = sorted(set(roles))
    if not roles:
        raise Invalid.for_field("roles", "Give the user at least one role.", code="roles_required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid.for_field(
            "password", f"Use at least {MIN_PASSWORD_LENGTH} characters.", code="password_too_short"
        )
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict.for_field("username", f"The username {username!r} is taken.",
                                 code="duplicate_username")
    if session.get(Unit, unit_id) is None:
        raise Invalid.for_field("unit_id", "No such unit.", code="unknown_unit")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=passwords.hash(password),
        unit_id=unit_id,
        is_active=True,
        created_at=now,
        role_rows=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    record_change(session, actor, "user.created", user, after=state_of("user", user), now=now)
    return user


def get_unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(sa.select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"No unit has code {code!r}.", code="unknown_unit")
    return unit
