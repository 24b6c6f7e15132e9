"""Scoped reads of whistle calls: visibility by role, lists with filters, timeline, the
per-department report (arrival state, response time, ratings)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.org.rules import Role
from server.whistle import rules
from server.whistle.models import (
    WhistleAction,
    WhistleArrival,
    WhistleCall,
    WhistleDepartment,
    WhistleEvent,
)
from server.whistle.rules import WhistleKind, WhistleStatus


def _path_ids(path: str) -> list[uuid.UUID]:
    return [uuid.UUID(p) for p in path.strip("/").split("/") if p]


def visible_calls(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """A call is visible to: admins and auditors; its raiser; dispatchers and grid leaders of
    its township; district dispatchers of its district; and the departments on it (requested
    or named), their staff and handlers."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = [WhistleCall.raised_by_user_id == actor.user_id]
    if actor.has_any({Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER, Role.DISTRICT_DISPATCHER}):
        clauses.append(WhistleCall.township_id.in_(scope.township_ids))
    if actor.has_any({Role.DISTRICT_DISPATCHER}):
        district_ids = [_path_ids(p)[-1] for p in scope.unit_paths or ()]
        clauses.append(WhistleCall.district_id.in_(district_ids))
    if actor.has_any(rules.DEPARTMENT_ROLES):
        clauses.append(WhistleCall.id.in_(sa.select(WhistleDepartment.call_id).where(
            WhistleDepartment.unit_id.in_(_path_ids(actor.unit_path)))))
    return sa.or_(*clauses)


def get_call_for(session: Session, actor: Actor, call_id: uuid.UUID) -> WhistleCall:
    """Outside the actor's scope a call does not exist (404, never 403)."""
    call = session.scalar(sa.select(WhistleCall).where(WhistleCall.id == call_id,
                                                       visible_calls(session, actor)))
    if call is None:
        raise NotFound("No such whistle call.", code="whistle_call_not_found")
    return call


@dataclass(frozen=True)
class CallFilters:
    status: tuple[WhistleStatus, ...] = ()
    township_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None  # requested or named
    kind: WhistleKind | None = None
    overdue: bool | None = None
    raised_from: datetime | None = None
    raised_to: datetime | None = None


@dataclass(frozen=True)
class CallPage:
    calls: list[WhistleCall]
    next_cursor: str | None


def overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Accepted and past its completion deadline, or a named department not yet on site past
    the arrival deadline."""
    absent = sa.exists().where(WhistleDepartment.call_id == WhistleCall.id,
                               WhistleDepartment.role.is_not(None),
                               WhistleDepartment.first_arrival_at.is_(None))
    return sa.and_(WhistleCall.status == WhistleStatus.ACCEPTED, sa.or_(
        WhistleCall.completion_due_at < now,
        sa.and_(WhistleCall.arrival_due_at < now, absent)))


def list_calls(session: Session, actor: Actor, filters: CallFilters, *, now: datetime,
               limit: int = 50, cursor: str | None = None) -> CallPage:
    """Newest first (raised_at, then id), keyset-paginated."""
    query = sa.select(WhistleCall).where(visible_calls(session, actor))
    f = filters
    if f.status:
        query = query.where(WhistleCall.status.in_(f.status))
    if f.township_id is not None:
        query = query.where(WhistleCall.township_id == f.township_id)
    if f.department_id is not None:
        query = query.where(WhistleCall.id.in_(sa.select(WhistleDepartment.call_id).where(
            WhistleDepartment.unit_id == f.department_id)))
    if f.kind is not None:
        query = query.where(WhistleCall.kind == f.kind)
    if f.overdue is not None:
        late = overdue_clause(now)
        query = query.where(late if f.overdue else sa.not_(late))
    if f.raised_from is not None:
        query = query.where(WhistleCall.raised_at >= f.raised_from)
    if f.raised_to is not None:
        query = query.where(WhistleCall.raised_at < f.raised_to)
    if cursor is not None:
        at, after_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(WhistleCall.raised_at < at,
                                   sa.and_(WhistleCall.raised_at == at, WhistleCall.id < after_id)))
    rows = list(session.scalars(query.order_by(WhistleCall.raised_at.desc(),
                                               WhistleCall.id.desc()).limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    return CallPage(rows[:limit], encode_cursor(last.raised_at, last.id) if last else None)


def timeline(session: Session, call: WhistleCall) -> list[WhistleEvent]:
    return list(session.scalars(sa.select(WhistleEvent).where(WhistleEvent.call_id == call.id)
                                .order_by(WhistleEvent.seq)))


def arrivals(session: Session, call: WhistleCall) -> list[WhistleArrival]:
    return list(session.scalars(sa.select(WhistleArrival).where(WhistleArrival.call_id == call.id)
                                .order_by(WhistleArrival.at, WhistleArrival.id)))


def actions(session: Session, call: WhistleCall) -> list[WhistleAction]:
    return list(session.scalars(sa.select(WhistleAction).where(WhistleAction.call_id == call.id)
                                .order_by(WhistleAction.at, WhistleAction.id)))


def department_report(call: WhistleCall, *, now: datetime,
                      arrival_rows: list[WhistleArrival] | None = None) -> list[dict[str, Any]]:
    """Per department on the call: its part, arrival state (on time, late, absent, pending),
    response time, how many arrivals were outside the radius, its rating and objection."""
    closed = call.status is WhistleStatus.CLOSED
    outside: dict[uuid.UUID, int] = {}
    for a in arrival_rows or ():
        if not a.within:
            outside[a.unit_id] = outside.get(a.unit_id, 0) + 1
    report = []
    for d in call.departments:
        named = d.role is not None
        state = (rules.arrival_state(first_arrival_at=d.first_arrival_at,
                                     due_at=call.arrival_due_at, now=now, closed=closed)
                 if named and call.status in (WhistleStatus.ACCEPTED, WhistleStatus.CLOSED)
                 else None)
        report.append({
            "id": str(d.id),
            "department": {"id": str(d.unit_id), "code": d.unit.code, "name": d.unit.name},
            "requested": d.requested,
            "role": d.role.value if d.role else None,
            "arrival_due_at": call.arrival_due_at if named else None,
            "first_arrival_at": d.first_arrival_at,
            "response_minutes": rules.response_minutes(call.judged_at, d.first_arrival_at),
            "arrival_state": state.value if state else None,
            "arrivals_outside_radius": outside.get(d.unit_id, 0),
            "rating": None if d.rated_at is None else {
                "timeliness": d.rating_timeliness, "effect": d.rating_effect,
                "comment": d.rating_comment, "rated_at": d.rated_at},
            "unjustified": None if d.unjustified_at is None else {
                "reason": d.unjustified_reason, "at": d.unjustified_at},
        })
    return report
