"""The trail of administrative changes for auditors and admins: filtered, newest first.

The trail is written by the services themselves (``server.core.trail.record_change``) in the
transaction of each change; this module only reads it. Everyone else is refused: the trail
names people, their roles and their devices.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.i18n import _
from server.core.trail import AdminChange
from server.org.rules import Role

READ_TRAIL = frozenset({Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class ChangeFilters:
    object_type: str | None = None
    object_id: uuid.UUID | None = None
    object_code: str | None = None
    action: str | None = None
    actor_user_id: uuid.UUID | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None  # exclusive


@dataclass(frozen=True)
class ChangePage:
    items: list[AdminChange]
    next_cursor: str | None


def list_changes(session: Session, actor: Actor, filters: ChangeFilters, *, limit: int = 50,
                 cursor: str | None = None) -> ChangePage:
    """Newest first by (at, id), keyset-paginated; every filter given must hold."""
    actor.require(READ_TRAIL, _("read the trail of administrative changes"))
    f = filters
    query = sa.select(AdminChange)
    for column, value in ((AdminChange.object_type, f.object_type),
                          (AdminChange.object_id, f.object_id),
                          (AdminChange.object_code, f.object_code),
                          (AdminChange.action, f.action),
                          (AdminChange.actor_user_id, f.actor_user_id)):
        if value is not None:
            query = query.where(column == value)
    if f.at_from is not None:
        query = query.where(AdminChange.at >= f.at_from)
    if f.at_to is not None:
        query = query.where(AdminChange.at < f.at_to)
    if cursor is not None:
        at, after_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(AdminChange.at < at,
                                   sa.and_(AdminChange.at == at, AdminChange.id < after_id)))
    rows = list(session.scalars(query.order_by(AdminChange.at.desc(), AdminChange.id.desc())
                                .limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    return ChangePage(rows[:limit], encode_cursor(last.at, last.id) if last else None)
