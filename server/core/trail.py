"""The trail of administrative changes: who changed which grid, unit, user, item or posting.

Cases and whistle calls carry their own timelines; everything else an administrator changes
(grids imported, replaced or retired; catalogue items; units; users and their roles;
postings; revoked tokens; evaluation settings) leaves one ``admin_changes`` row, written by
the service in the same transaction as the change, so a change that is rolled back leaves no
trace and a change that is kept always has one. Rows are append-only: nothing updates or
deletes them.

This module sits in ``server.core`` so that every domain package may write to it; it knows
the actor only by the attributes it reads (``ActorLike``), never by importing the domain.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.core.db import Base, UTCDateTime
from server.core.ids import new_id


class ActorLike(Protocol):
    """What the trail reads of ``server.auth.actor.Actor``."""

    user_id: uuid.UUID
    username: str
    unit_id: uuid.UUID
    roles: frozenset[Enum]


# Every kind of object the trail records; an action is "<one of these>.<verb>".
OBJECT_TYPES = ("grid", "unit", "user", "catalogue_item", "posting", "token", "device",
                "evaluation_settings", "resident_data")


def actor_columns(actor: ActorLike | None) -> dict[str, Any]:
    """The actor columns of an append-only event, kept as they were at the time; ``None``
    is the system (a CLI import, a job, the demo loader)."""
    if actor is None:
        return {"actor_user_id": None, "actor_username": "system", "actor_roles": [],
                "actor_unit_id": None}
    return {"actor_user_id": actor.user_id, "actor_username": actor.username,
            "actor_roles": sorted(r.value for r in actor.roles), "actor_unit_id": actor.unit_id}


class AdminChange(Base):
    """One administrative change; ``action`` is ``<object type>.<verb>``: user.roles_changed."""

    __tablename__ = "admin_changes"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_username: Mapped[str] = mapped_column(sa.String(64))
    actor_roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    actor_unit_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("units.id"))
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    object_code: Mapped[str | None] = mapped_column(sa.String(120))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    note: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_admin_changes_at_id", "at", "id"),
        sa.Index("ix_admin_changes_object", "object_type", "object_id"),
        sa.Index("ix_admin_changes_object_code", "object_code"),
        sa.Index("ix_admin_changes_actor_user_id", "actor_user_id"),
    )


def record_change(
    session: Session,
    actor: ActorLike | None,
    action: str,
    obj: Any,
    *,
    code: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
    now: datetime,
    flush: bool = True,
) -> AdminChange:
    """Append one change to the trail, in the caller's transaction (never committed here).

    ``obj`` is the object changed (its ``id``, and its ``code`` or ``username`` unless
    ``code`` is given) or a bare UUID. The object type is the action's first word. The row
    is flushed at once, like the change before it; a bulk import passes ``flush=False`` and
    flushes its rows together.
    """
    object_type, _, verb = action.partition(".")
    if not verb or object_type not in OBJECT_TYPES:
        raise ValueError(f"An action reads '<object type>.<verb>' with a type of "
                         f"OBJECT_TYPES, not {action!r}.")
    object_id = obj if isinstance(obj, uuid.UUID) or obj is None else obj.id
    if code is None and not isinstance(obj, uuid.UUID) and obj is not None:
        code = getattr(obj, "code", None) or getattr(obj, "username", None)
    change = AdminChange(
        at=now, action=action, object_type=object_type, object_id=object_id, object_code=code,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        note=note, **actor_columns(actor),
    )
    session.add(change)
    if flush:
        session.flush()
    return change


# What the trail keeps of each kind of object: plain columns, and a summary of a boundary
# (type, bounds, vertex count and a hash, enough to tell whether it changed). Catalogue
# items and evaluation settings are kept whole (their dataclass).
KEPT: dict[str, tuple[str, ...]] = {
    "grid": ("id", "code", "name", "kind", "township_id", "community_id", "owner_unit_id",
             "area_m2", "replaces_id", "boundary"),
    "unit": ("id", "code", "name", "kind", "parent_id", "population", "department_kind",
             "boundary"),
    "user": ("id", "username", "display_name", "unit_id", "is_active", "roles"),
    "posting": ("id", "staff_user_id", "department_id", "mode", "grid_ids", "weekdays",
                "day_start", "day_end", "visits_required", "visit_period", "valid_from",
                "valid_to", "note", "end_reason"),
}


def state_of(object_type: str, obj: Any) -> dict[str, Any] | None:
    """What the trail keeps of ``obj`` (see ``KEPT``); ``None`` for no object."""
    return snapshot(obj, *KEPT[object_type])


def snapshot(obj: Any, *names: str) -> dict[str, Any] | None:
    """The named attributes of ``obj`` as plain JSON values (``None`` for no object): what a
    service passes as ``before`` (read before it changes anything) or ``after``."""
    if obj is None:
        return None
    if dataclasses.is_dataclass(obj) and not names:
        names = tuple(f.name for f in dataclasses.fields(obj))
    return {name: _plain(getattr(obj, name)) for name in names}


def _plain(value: Any) -> Any:
    """JSON-ready: UUIDs and decimals as strings, enums as their value, times in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, BaseGeometry):
        return {"type": value.geom_type, "bounds": [round(b, 6) for b in value.bounds],
                "points": int(shapely.get_num_coordinates(value)),
                "wkb_sha256": hashlib.sha256(value.wkb).hexdigest()}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    raise TypeError(f"The trail keeps plain values; {type(value).__name__} is not one.")
