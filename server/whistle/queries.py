"""Scoped reads of whistle calls: visibility by role, lists with filters, timeline, the
per-department report (arrival state, response time, ratings)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.rules import Satisfaction
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.errors import NotFound
from server.org.models import Unit
from server.org.rules import Sight, Subject, path_ids, sights
from server.whistle import rules
from server.whistle.models import (
    WhistleAction,
    WhistleArrival,
    WhistleCall,
    WhistleDepartment,
    WhistleEvent,
)
from server.whistle.rules import WhistleKind, WhistleStatus


def visible_calls(session: Session, actor: Actor) -> sa.ColumnElement[bool]:
    """Calls by the need-to-know table (``Subject.WHISTLE_CALLS``): admins and auditors all;
    its raiser; dispatchers and grid leaders of its township; district dispatchers of its
    district; a department's staff and handlers the calls their department raised or is
    named on (lead or cooperating: a department only requested hears of it when named)."""
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return sa.true()
    seen = sights(actor.roles, Subject.WHISTLE_CALLS)
    clauses: list[sa.ColumnElement[bool]] = [WhistleCall.raised_by_user_id == actor.user_id]
    if seen & {Sight.TOWNSHIP, Sight.DISTRICT}:
        clauses.append(WhistleCall.township_id.in_(scope.township_ids))
    if Sight.DISTRICT in seen:
        district_ids = [path_ids(p)[-1] for p in scope.unit_paths or ()]
        clauses.append(WhistleCall.district_id.in_(district_ids))
    if Sight.INVOLVED in seen and scope.department_path:
        mine = sa.select(Unit.id).where(
            Unit.path.startswith(scope.department_path, autoescape=True))
        clauses.append(WhistleCall.raised_by_department_id.in_(mine))
        clauses.append(WhistleCall.id.in_(sa.select(WhistleDepartment.call_id).where(
            WhistleDepartment.unit_id.in_(mine), WhistleDepartment.role.is_not(None))))
    return sa.or_(*clauses)


def get_call_for(session: Session, actor: Actor, call_id: uuid.UUID) -> WhistleCall:
    """Outside the actor's scope a call does not exist (404, never 403)."""
    call = session.scalar(sa.select(WhistleCall).where(WhistleCall.id == call_id,
                                                       visible_calls(session, actor)))
    if call is None:
        raise NotFound("No such whistle call.", code="whistle_call_not_found")
    return call


def get_call_for_update(session: Session, actor: Actor, call_id: uuid.UUID) -> WhistleCall:
    """Like get_call_for, the call's row locked first (PostgreSQL; SQLite has one writer), for
    every write of a call (as cases.queries.get_case_for_update).

    Arrivals of several departments at once then queue up instead of failing on the version
    column, and the call and its department rows are read after the lock: two staff of one
    department arriving at once cannot both take "first arrival" from a copy read before it.
    The version check in the service still answers a client that read an older version.
    """
    session.execute(sa.select(WhistleCall.id).where(WhistleCall.id == call_id).with_for_update())
    call = session.scalar(sa.select(WhistleCall).where(
        WhistleCall.id == call_id, visible_calls(session, actor))
        .execution_options(populate_existing=True))
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


def outside_counts(session: Session, call_ids: list[uuid.UUID]
                   ) -> dict[tuple[uuid.UUID, uuid.UUID], int]:
    """Arrivals farther than the radius, per (call, department), for a page in one query."""
    if not call_ids:
        return {}
    rows = session.execute(
        sa.select(WhistleArrival.call_id, WhistleArrival.unit_id, sa.func.count())
        .where(WhistleArrival.call_id.in_(call_ids), WhistleArrival.within.is_(False))
        .group_by(WhistleArrival.call_id, WhistleArrival.unit_id))
    return {(call_id, unit_id): n for call_id, unit_id, n in rows}


def department_report(call: WhistleCall, *, now: datetime,
                      outside: dict[tuple[uuid.UUID, uuid.UUID], int]) -> list[dict[str, Any]]:
    """Per department on the call: its part, arrival state (on time, late, absent, pending),
    response time, how many arrivals were outside the radius (``outside_counts``), its
    rating and objection."""
    closed = call.status is WhistleStatus.CLOSED
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
            "arrivals_outside_radius": outside.get((call.id, d.unit_id), 0),
            "rating": None if d.rated_at is None else {
                "satisfaction": d.rating_satisfaction.value if d.rating_satisfaction else None,
                "comment": d.rating_comment, "rated_at": d.rated_at},
            "unjustified": None if d.unjustified_at is None else {
                "reason": d.unjustified_reason, "at": d.unjustified_at},
        })
    return report


@dataclass
class DepartmentScore:
    """双考评, the departments' side: how each named department answered the calls."""

    unit_id: uuid.UUID
    code: str
    name: str
    named: int = 0
    lead: int = 0
    on_time: int = 0
    late: int = 0
    absent: int = 0
    pending: int = 0
    response_minutes: list[float] = field(default_factory=list)
    ratings: dict[Satisfaction, int] = field(
        default_factory=lambda: dict.fromkeys(Satisfaction, 0))
    unjustified: int = 0


@dataclass
class CallerScore:
    """双考评, the callers' side: how a township, or a department that raised calls, used the
    whistle."""

    unit_id: uuid.UUID
    code: str
    name: str
    raised: int = 0
    accepted: int = 0
    rejected: int = 0
    closed: int = 0
    closed_on_time: int = 0
    marked_unjustified: int = 0  # calls at least one named department called unjustified

    def count(self, call: WhistleCall) -> None:
        self.raised += 1
        self.accepted += call.status in (WhistleStatus.ACCEPTED, WhistleStatus.CLOSED)
        self.rejected += call.status is WhistleStatus.REJECTED
        self.closed += call.status is WhistleStatus.CLOSED
        self.closed_on_time += bool(rules.closed_on_time(call.closed_at, call.completion_due_at))
        self.marked_unjustified += any(d.unjustified_at is not None for d in call.departments)

    def counts(self) -> dict[str, int]:
        return {"raised": self.raised, "accepted": self.accepted, "rejected": self.rejected,
                "closed": self.closed, "closed_on_time": self.closed_on_time,
                "marked_unjustified": self.marked_unjustified}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _score_departments(call: WhistleCall, departments: dict[uuid.UUID, DepartmentScore], *,
                       now: datetime) -> None:
    for d in call.departments:
        if d.role is None:
            continue
        score = departments.setdefault(d.unit_id, DepartmentScore(
            d.unit_id, d.unit.code, d.unit.name))
        score.named += 1
        score.lead += d.role is rules.DepartmentRole.LEAD
        state = rules.arrival_state(first_arrival_at=d.first_arrival_at,
                                    due_at=call.arrival_due_at, now=now,
                                    closed=call.status is WhistleStatus.CLOSED)
        setattr(score, state.value, getattr(score, state.value) + 1)
        minutes = rules.response_minutes(call.judged_at, d.first_arrival_at)
        if minutes is not None:
            score.response_minutes.append(minutes)
        if d.rating_satisfaction is not None:
            score.ratings[d.rating_satisfaction] += 1
        score.unjustified += d.unjustified_at is not None


def _department_row(s: DepartmentScore) -> dict[str, Any]:
    levels = s.ratings
    return {
        "department": {"id": str(s.unit_id), "code": s.code, "name": s.name},
        "named": s.named, "lead": s.lead, "on_time": s.on_time, "late": s.late,
        "absent": s.absent, "pending": s.pending,
        "mean_response_minutes": _mean(s.response_minutes),
        "ratings": sum(levels.values()),
        **{level.value: n for level, n in levels.items()},
        "satisfaction_rate": rules.satisfaction_rate(
            levels[Satisfaction.SATISFIED], levels[Satisfaction.BASICALLY_SATISFIED],
            levels[Satisfaction.DISSATISFIED]),
        "unjustified": s.unjustified,
    }


def evaluation(session: Session, actor: Actor, *, now: datetime,
               raised_from: datetime | None = None, raised_to: datetime | None = None,
               township_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Both sides of 双考评 over the calls the actor sees, raised in [from, to): per named
    department its arrivals (on time, late, absent, pending), mean response time, its
    ratings per level and satisfaction rate, and objections; per caller (a township, or a
    department that raised calls) its calls by outcome. Each list is ordered by code."""
    query = sa.select(WhistleCall).where(visible_calls(session, actor))
    if township_id is not None:
        query = query.where(WhistleCall.township_id == township_id)
    if raised_from is not None:
        query = query.where(WhistleCall.raised_at >= raised_from)
    if raised_to is not None:
        query = query.where(WhistleCall.raised_at < raised_to)
    calls = list(session.scalars(query))
    raisers = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(
        {c.raised_by_department_id for c in calls if c.raised_by_department_id})))}
    departments: dict[uuid.UUID, DepartmentScore] = {}
    townships: dict[uuid.UUID, CallerScore] = {}
    raising: dict[uuid.UUID, CallerScore] = {}
    for call in calls:
        if call.raised_by_department_id is None:
            caller = townships.setdefault(call.township_id, CallerScore(
                call.township_id, call.township.code, call.township.name))
        else:
            unit = raisers[call.raised_by_department_id]
            caller = raising.setdefault(unit.id, CallerScore(unit.id, unit.code, unit.name))
        caller.count(call)
        if call.status in (WhistleStatus.ACCEPTED, WhistleStatus.CLOSED):
            _score_departments(call, departments, now=now)

    def by_code(scores: dict[uuid.UUID, Any]) -> list[Any]:
        return sorted(scores.values(), key=lambda s: s.code)

    return {
        "departments": [_department_row(s) for s in by_code(departments)],
        "townships": [{"township": {"id": str(t.unit_id), "code": t.code, "name": t.name},
                       **t.counts()} for t in by_code(townships)],
        "raising_departments": [{"department": {"id": str(t.unit_id), "code": t.code,
                                                "name": t.name}, **t.counts()}
                                for t in by_code(raising)],
    }
