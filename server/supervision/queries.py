"""Reads: a subject's deadlines, overdue deadlines, and an actor's inbox (keyset-paginated)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from server.auth.actor import Actor
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.org.models import Unit
from server.org.rules import UnitKind
from server.supervision.models import Deadline, Notification
from server.supervision.rules import DeadlineKind


def open_deadline_for(session: Session, subject_type: str, subject_id: uuid.UUID,
                      kind: DeadlineKind) -> Deadline | None:
    """The running (not yet closed) deadline of this kind on a subject, if any."""
    return session.scalar(sa.select(Deadline).where(
        Deadline.subject_type == subject_type, Deadline.subject_id == subject_id,
        Deadline.kind == kind, Deadline.closed_at.is_(None),
    ))


# History order: by opening time; within one request (cancel, then open again: same time)
# the closed one first, the open one last.
_HISTORY_ORDER = (Deadline.created_at, sa.case((Deadline.closed_at.is_(None), 1), else_=0),
                  Deadline.closed_at, Deadline.id)


def deadline_for(session: Session, subject_type: str, subject_id: uuid.UUID,
                 kind: DeadlineKind) -> Deadline | None:
    """The latest deadline of this kind on a subject: the open one, else the last closed."""
    return session.scalar(
        sa.select(Deadline)
        .where(Deadline.subject_type == subject_type, Deadline.subject_id == subject_id,
               Deadline.kind == kind)
        .order_by(*(column.desc() for column in _HISTORY_ORDER))
        .limit(1)
    )


def deadlines_of(session: Session, subject_type: str, subject_id: uuid.UUID) -> list[Deadline]:
    """Every deadline a subject has had, oldest first (its supervision history)."""
    return list(session.scalars(
        sa.select(Deadline)
        .where(Deadline.subject_type == subject_type, Deadline.subject_id == subject_id)
        .order_by(*_HISTORY_ORDER)
    ))


def supervision_plan(session: Session, subject_type: str,
                     subject_id: uuid.UUID) -> list[Deadline]:
    """A subject's deadlines, oldest first, each with every reminder node it armed (sent,
    pending or cancelled, of every generation), so the plan is readable before it fires."""
    return list(session.scalars(
        sa.select(Deadline)
        .where(Deadline.subject_type == subject_type, Deadline.subject_id == subject_id)
        .order_by(*_HISTORY_ORDER)
        .options(selectinload(Deadline.reminders))
    ))


def overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Open and past its due time: overdue now, whether or not the escalation has fired yet."""
    return sa.and_(Deadline.closed_at.is_(None), Deadline.due_at < now)


def overdue_subject_ids(subject_type: str, *, now: datetime,
                        kind: DeadlineKind | None = None) -> sa.Select:
    """A subquery of overdue subjects' ids, for other areas' list filters (``id IN (...)``)."""
    query = sa.select(Deadline.subject_id).where(Deadline.subject_type == subject_type,
                                                 overdue_clause(now))
    if kind is not None:
        query = query.where(Deadline.kind == kind)
    return query


def overdue(session: Session, *, now: datetime, unit_ids: list[uuid.UUID] | None = None,
            subject_type: str | None = None, limit: int = 500) -> list[Deadline]:
    """Overdue deadlines, most overdue first; optionally of some units or one subject type."""
    query = sa.select(Deadline).where(overdue_clause(now))
    if unit_ids is not None:
        query = query.where(Deadline.unit_id.in_(unit_ids))
    if subject_type is not None:
        query = query.where(Deadline.subject_type == subject_type)
    return list(session.scalars(query.order_by(Deadline.due_at, Deadline.id).limit(limit)))


def inbox_unit_ids(session: Session, actor: Actor) -> tuple[uuid.UUID, ...]:
    """Units whose inbox the actor reads: their own, and for a command centre's staff also the
    unit it serves (its parent township or district), since orders and escalations addressed
    to a township or district are handled in its command centre."""
    unit = session.get(Unit, actor.unit_id)
    if unit is not None and unit.kind is UnitKind.COMMAND_CENTRE and unit.parent_id is not None:
        return (actor.unit_id, unit.parent_id)
    return (actor.unit_id,)


def visible_notifications(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """The actor's own notifications and their units' (a user's own are not their unit's)."""
    return sa.or_(
        Notification.user_id == actor.user_id,
        sa.and_(Notification.user_id.is_(None),
                Notification.unit_id.in_(inbox_unit_ids(session, actor))),
    )


def get_notification_for(session: Session, actor: Actor,
                         notification_id: uuid.UUID) -> Notification:
    notification = session.scalar(sa.select(Notification).where(
        Notification.id == notification_id, visible_notifications(session, actor)))
    if notification is None:
        raise NotFound("No such notification in your inbox.", code="notification_not_found")
    return notification


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    next_cursor: str | None
    unread_count: int


def inbox(session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 50,
          cursor: str | None = None) -> InboxPage:
    """The actor's inbox, newest first (then by id, as a batch shares one time), by keyset."""
    visible = visible_notifications(session, actor)
    query = sa.select(Notification).where(visible)
    if unread_only:
        query = query.where(Notification.acknowledged_at.is_(None))
    if cursor is not None:
        before_at, before_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(
            Notification.created_at < before_at,
            sa.and_(Notification.created_at == before_at, Notification.id < before_id),
        ))
    rows = list(session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ).unique())
    unread = session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        visible, Notification.acknowledged_at.is_(None)))
    next_cursor = (
        encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    )
    return InboxPage(items=rows[:limit], next_cursor=next_cursor, unread_count=unread or 0)
