"""Whistle-call use cases after the raise (``server.whistle.raising``): judge (accept or
reject), arrive on site, record joint action, close, rate, mark unjustified.

Each function takes the session, the acting user and primitives, checks who may act and from
which state, changes the call, appends one event per change, and keeps the supervision
deadlines in step (an arrival deadline per named department, a completion deadline for the
lead). Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo.crs import CRS
from geo.measure import distance_m
from server.auth.actor import Actor, who_acted
from server.auth.services import scope_of
from server.cases.rules import Satisfaction
from server.core.errors import Conflict, Invalid, PermissionDenied, StaleVersion
from server.core.i18n import N_, _
from server.core.ids import new_id
from server.core.points import wgs84_in_china
from server.org.models import Unit
from server.org.rules import Role, UnitKind, path_ids
from server.supervision import services as supervision
from server.supervision.rules import DeadlineKind
from server.supervision.services import DeadlineSpec
from server.whistle import rules
from server.whistle.models import (
    WhistleAction,
    WhistleArrival,
    WhistleCall,
    WhistleDepartment,
    WhistleEvent,
)
from server.whistle.rules import (
    Action,
    DepartmentRole,
    Party,
    WhistleStatus,
)

SUBJECT = "whistle_call"  # the completion deadline, notifications about the call
ARRIVAL_SUBJECT = "whistle_department"  # a department's arrival deadline (its row's id)
MAX_DEPARTMENTS = 20


class IllegalTransition(Conflict):
    code = "illegal_transition"


@dataclass(frozen=True)
class ArrivalLimits:
    """How near an arrival must be: ``radius_m``, plus the fix's accuracy up to
    ``accuracy_cap_m``."""

    radius_m: float
    accuracy_cap_m: float


@dataclass(frozen=True)
class Outcome:
    """A write that may be a retry: ``created`` False when the same client id was seen."""

    call: WhistleCall
    created: bool
    record: Any = None  # the arrival or action written (or found)
    flags: list[str] = field(default_factory=list)


# --- helpers -----------------------------------------------------------------------------------


def new_event(call: WhistleCall, actor: Actor | None, action: str,
              from_status: WhistleStatus | None, to_status: WhistleStatus | None, now: datetime,
              data: dict[str, Any] | None = None) -> WhistleEvent:
    call.event_count = (call.event_count or 0) + 1
    return WhistleEvent(
        call_id=call.id, seq=call.event_count, at=now, action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        data=data or {}, **who_acted(actor),
    )


def _flush(session: Session, call: WhistleCall) -> None:
    call_id = call.id  # after a failed flush the session can no longer load attributes
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"Whistle call {call_id} was changed by someone else; reload it.") from exc


def _begin(session: Session, actor: Actor, call: WhistleCall, action: Action,
           version: int | None) -> WhistleStatus:
    """Check the version (if the client sent one), the state and the actor's standing.

    The call was loaded with ``queries.get_call_for_update``: its row is locked (PostgreSQL),
    so facts from several departments at once (arrivals, joint action) queue up instead of
    failing on the version column, and its department rows were read after the lock."""
    if version is not None and version != call.version:
        raise StaleVersion(
            f"The whistle call is at version {call.version}, you sent {version}; reload it.",
            errors={"json": {"version": [f"current version is {call.version}"]}},
        )
    problem = rules.transition_problem(action, call.status)
    if problem:
        raise IllegalTransition(problem, details=[{"current_status": call.status.value,
                                                   "version": call.version}])
    by = rules.TRANSITIONS[action].by
    if by is Party.JUDGE:
        require_judge(session, actor, call)
    elif by is Party.CALLER:
        require_caller(session, actor, call)
    return call.status


def _move(session: Session, actor: Actor, call: WhistleCall, action: Action,
          before: WhistleStatus, after: WhistleStatus | None, now: datetime,
          data: dict[str, Any] | None = None) -> WhistleCall:
    if after is not None:
        call.status = after
    call.updated_at = now
    session.add(new_event(call, actor, action.value, before, call.status, now, data))
    _flush(session, call)
    return call


def _in_district(actor: Actor, scope_paths: Sequence[str] | None, district_id: uuid.UUID | None
                 ) -> bool:
    return (district_id is not None and actor.has_any({Role.DISTRICT_DISPATCHER})
            and any(f"/{district_id.hex}/" in p for p in scope_paths or ()))


def require_judge(session: Session, actor: Actor, call: WhistleCall) -> None:
    """The township's or the district's command centre (a dispatcher of either)."""
    actor.require(rules.JUDGE_ROLES, _("judge whistle calls"))
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return
    in_township = (actor.has_any({Role.TOWNSHIP_DISPATCHER})
                   and call.township_id in scope.township_ids)
    if not (in_township or _in_district(actor, scope.unit_paths, call.district_id)):
        raise PermissionDenied("This whistle call is outside your territory.",
                               code="outside_territory")


def require_caller(session: Session, actor: Actor, call: WhistleCall) -> None:
    """Whoever raised the call, a dispatcher of its township (the township closes and rates
    calls on its ground), or, for a department's call, a handler of that department."""
    if actor.user_id == call.raised_by_user_id:
        return
    if (call.raised_by_department_id is not None
            and actor.has_any(rules.DEPARTMENT_CALLER_ROLES)
            and call.raised_by_department_id in path_ids(actor.unit_path)):
        return
    scope = scope_of(session, actor)
    if actor.has_any(rules.CALLER_ROLES) and (
            scope.township_ids is None or call.township_id in scope.township_ids):
        return
    raise PermissionDenied("Only the township that blew the whistle may do this.",
                           code="not_caller")


def department_of(actor: Actor, call: WhistleCall) -> WhistleDepartment:
    """The department row the actor acts for: a department named on the call that is the
    actor's unit or above it, with a department role."""
    mine = set(path_ids(actor.unit_path))
    rows = [d for d in call.departments if d.unit_id in mine and d.role is not None]
    if not rows or not actor.has_any(rules.DEPARTMENT_ROLES):
        raise PermissionDenied("Only staff of a department named on this whistle call may do "
                               "this.", code="not_named_department")
    # The nearest unit above the actor, if several are named (a department and its outpost).
    return max(rows, key=lambda d: actor.unit_path.index(f"/{d.unit_id.hex}/"))


def parent_path(unit: Unit) -> str:
    return unit.path.rsplit("/", 2)[0] + "/"


def department_units(session: Session, ids: Sequence[uuid.UUID], township: Unit,
                      field: str) -> dict[uuid.UUID, Unit]:
    units = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(list(ids))))}
    for unit_id in ids:
        unit = units.get(unit_id)
        if (unit is None or unit.kind is not UnitKind.DEPARTMENT
                or not rules.serves_township(parent_path(unit), township.path)):
            raise Invalid.for_field(field, f"No department {unit_id} serves this township.",
                                    code="unknown_department")
    return units


def normalise_photos(photos: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(p.lower() for p in photos))


ROLE_TITLES = {rules.DepartmentRole.LEAD: N_("Report on site, leading: {text}"),
               rules.DepartmentRole.COOPERATING: N_("Report on site, cooperating: {text}")}


def notify_unit(session: Session, unit_id: uuid.UUID, call: WhistleCall, kind: str, title: str,
            now: datetime) -> None:
    supervision.notify(session, unit_id=unit_id, kind=kind, subject_type=SUBJECT,
                       subject_id=call.id, title=title, body=call.description[:500], now=now,
                       flush=False)


def _judged(call: WhistleCall, actor: Actor, now: datetime) -> None:
    call.judged_at, call.judged_by_user_id, call.judged_by_unit_id = (
        now, actor.user_id, actor.unit_id)


def label(call: WhistleCall) -> str:
    return f"吹哨 {call.kind.value} {call.grid_code}: {call.description[:80]}"


# --- judge -----------------------------------------------------------------------------------


def accept(session: Session, actor: Actor, call: WhistleCall, *, version: int | None,
           lead_department_id: uuid.UUID, cooperating_department_ids: Sequence[uuid.UUID] = (),
           arrival_due_at: datetime, completion_due_at: datetime, note: str | None = None,
           limits: ArrivalLimits, arrival_radius_m: float | None = None,
           now: datetime) -> WhistleCall:
    """清单式联合执法: name the lead and cooperating departments and the two deadlines.

    The arrival radius is the configured one unless the judge sets another (a large site)."""
    before = _begin(session, actor, call, Action.ACCEPT, version)
    cooperating = list(cooperating_department_ids)
    problem = rules.judgement_problem(lead=lead_department_id, cooperating=cooperating,
                                      arrival_due_at=arrival_due_at,
                                      completion_due_at=completion_due_at, now=now)
    if problem:
        raise Invalid.for_field(problem[0], problem[1], code="judgement_invalid")
    if len(cooperating) + 1 > MAX_DEPARTMENTS:
        raise Invalid.for_field("cooperating_department_ids",
                                f"Name at most {MAX_DEPARTMENTS} departments.")
    department_units(session, [lead_department_id], call.township, "lead_department_id")
    department_units(session, cooperating, call.township, "cooperating_department_ids")

    rows = {d.unit_id: d for d in call.departments}
    named = [(lead_department_id, DepartmentRole.LEAD)] + [
        (u, DepartmentRole.COOPERATING) for u in cooperating]
    for position, (unit_id, role) in enumerate(named):
        row = rows.get(unit_id)
        if row is None:
            row = WhistleDepartment(id=new_id(), unit_id=unit_id, requested=False)
            call.departments.append(row)
        row.role, row.position = role, position
    for row in call.departments:  # requested but not named: after the named ones
        if row.role is None:
            row.position = len(named) + row.position
    call.departments.sort(key=lambda d: d.position)  # as the next load will order them
    call.lead_unit_id = lead_department_id
    call.arrival_due_at, call.completion_due_at = arrival_due_at, completion_due_at
    call.arrival_radius_m = limits.radius_m if arrival_radius_m is None else arrival_radius_m
    call.arrival_accuracy_cap_m = limits.accuracy_cap_m
    _judged(call, actor, now)
    _move(session, actor, call, Action.ACCEPT, before, WhistleStatus.ACCEPTED, now, {
        "lead_department_id": str(lead_department_id),
        "cooperating_department_ids": [str(u) for u in cooperating],
        "arrival_due_at": arrival_due_at.isoformat(),
        "completion_due_at": completion_due_at.isoformat(),
        "arrival_radius_m": call.arrival_radius_m, "note": note})
    named_rows = [row for row in call.departments if row.role is not None]
    supervision.open_deadline_set(
        session, specs=[
            *(DeadlineSpec(ARRIVAL_SUBJECT, row.id, DeadlineKind.ARRIVAL, arrival_due_at,
                           row.unit_id) for row in named_rows),
            DeadlineSpec(SUBJECT, call.id, DeadlineKind.COMPLETION, completion_due_at,
                         lead_department_id)],
        label=label(call), starts_at=now, supervisor_unit_id=actor.unit_id, now=now)
    for row in named_rows:
        notify_unit(session, row.unit_id, call, "whistle_assigned",
                _(ROLE_TITLES[row.role]).format(text=call.description[:60]), now)
    return call


def reject(session: Session, actor: Actor, call: WhistleCall, *, version: int | None,
           reason: str, now: datetime) -> WhistleCall:
    """Refuse the call with a reason; the raiser's unit is told."""
    before = _begin(session, actor, call, Action.REJECT, version)
    call.rejection_reason = reason
    _judged(call, actor, now)
    notify_unit(session, call.raised_by_unit_id, call, "whistle_rejected",
            _("Whistle call not accepted: {reason}").format(reason=reason[:60]), now)
    return _move(session, actor, call, Action.REJECT, before, WhistleStatus.REJECTED, now,
                 {"reason": reason})


# --- facts from the field ------------------------------------------------------------------


def _retry(session: Session, model: type, record_id: uuid.UUID, actor: Actor,
           call: WhistleCall) -> Any:
    """The record a retried request already wrote, or None; a client id reused by someone
    else or for another call is a conflict."""
    existing = session.get(model, record_id)
    if existing is None:
        return None
    if existing.user_id != actor.user_id or existing.call_id != call.id:
        raise Conflict.for_field("id", "This id was already used for something else.",
                                 code="idempotency_key_reused")
    return existing


def arrive(session: Session, actor: Actor, call: WhistleCall, *, arrival_id: uuid.UUID,
           lon: float, lat: float, accuracy_m: float | None, crs: CRS = CRS.WGS84,
           device_time: datetime | None = None, via: str = "api", now: datetime) -> Outcome:
    """报到: a named department's staff member checks in near the call's place.

    Near is within the call's arrival radius (set by the judgement) plus the fix's reported
    accuracy, counted up to a cap. Every arrival is kept. One farther away is recorded with
    ``within`` false and flagged ``outside_radius``, and does not count as the department's
    arrival. The first arrival on site is the department's response time: it closes that
    department's arrival deadline (on time or late).
    """
    def retried() -> Outcome | None:
        existing = _retry(session, WhistleArrival, arrival_id, actor, call)
        if existing is None:
            return None
        return Outcome(call, created=False, record=existing,
                       flags=[] if existing.within else [OUTSIDE_RADIUS])

    # After the loader's lock: a concurrent retry that committed while we waited is found.
    if (found := retried()) is not None:
        return found
    before = _begin(session, actor, call, Action.ARRIVE, None)
    row = department_of(actor, call)
    wlon, wlat = wgs84_in_china(lon, lat, crs)
    away = round(distance_m(wlon, wlat, call.lon, call.lat), 1)
    radius, cap = call.arrival_radius_m or 0.0, call.arrival_accuracy_cap_m or 0.0
    tolerance = rules.arrival_tolerance_m(radius, accuracy_m, cap)
    within = rules.is_near(away, radius, accuracy_m, cap)
    # Two of a department's staff reporting at the same moment: the request received first
    # may take the call's lock second. Its arrival is then recorded at the first one's time,
    # never before it, so that the first arrival (the response time) is also the earliest.
    at = now if row.first_arrival_at is None else max(now, row.first_arrival_at)
    late = call.arrival_due_at is not None and at > call.arrival_due_at
    arrival = WhistleArrival(
        id=arrival_id, call_id=call.id, unit_id=row.unit_id, user_id=actor.user_id, at=at,
        device_time=device_time, lon=wlon, lat=wlat, input_crs=crs.value, input_lon=lon,
        input_lat=lat, accuracy_m=accuracy_m, distance_m=away, tolerance_m=round(tolerance, 1),
        within=within, late=late, via=via)
    session.add(arrival)
    first = within and row.first_arrival_at is None
    if first:
        row.first_arrival_at, row.first_arrival_id = at, arrival_id
        supervision.settle_deadline(session, subject_type=ARRIVAL_SUBJECT, subject_id=row.id,
                                    kind=DeadlineKind.ARRIVAL, met_at=at, now=now)
    flags = [] if within else [OUTSIDE_RADIUS]
    _move(session, actor, call, Action.ARRIVE, before, None, now, {
        "arrival_id": str(arrival_id), "department_id": str(row.unit_id), "lon": wlon,
        "lat": wlat, "accuracy_m": accuracy_m, "distance_m": away, "within": within,
        "late": late, "first": first, "flags": flags,
        "response_minutes": rules.response_minutes(call.judged_at, at) if first else None})
    return Outcome(call, created=True, record=arrival, flags=flags)


OUTSIDE_RADIUS = "outside_radius"


def record_action(session: Session, actor: Actor, call: WhistleCall, *, action_id: uuid.UUID,
                  description: str, result: str | None = None, photos: Sequence[str] = (),
                  device_time: datetime | None = None, via: str = "api",
                  now: datetime) -> Outcome:
    """A joint-action record by a named department: what was done, photos, result."""
    existing = _retry(session, WhistleAction, action_id, actor, call)  # after the lock
    if existing is not None:
        return Outcome(call, created=False, record=existing)
    before = _begin(session, actor, call, Action.ACT, None)
    row = department_of(actor, call)
    record = WhistleAction(id=action_id, call_id=call.id, unit_id=row.unit_id,
                           user_id=actor.user_id, at=now, device_time=device_time,
                           description=description, result=result,
                           photos=normalise_photos(photos), via=via)
    session.add(record)
    _move(session, actor, call, Action.ACT, before, None, now, {
        "action_id": str(action_id), "department_id": str(row.unit_id),
        "description": description, "result": result, "photos": record.photos})
    return Outcome(call, created=True, record=record)


# --- close and evaluate (双考评) ----------------------------------------------------------


def close(session: Session, actor: Actor, call: WhistleCall, *, version: int | None,
          result: str, now: datetime) -> WhistleCall:
    """The caller closes the call, settling every deadline still running on it.

    Nothing the scheduler would have sent is lost because the call closed before its next
    run: an overdue escalation already due (an absent department past its arrival deadline,
    the lead past the completion deadline) is sent now, the other pending reminders stop.
    Departments that never arrived stay absent: an arrival deadline already passed is
    missed, one not yet passed is cancelled (the department was not given its full time).
    The completion deadline is met or missed by now."""
    before = _begin(session, actor, call, Action.CLOSE, version)
    call.closed_at, call.closed_by_user_id, call.result = now, actor.user_id, result
    absent, late = [], []
    for row in call.departments:
        if row.role is None:
            continue
        state = rules.arrival_state(first_arrival_at=row.first_arrival_at,
                                    due_at=call.arrival_due_at, now=now, closed=True)
        if state is rules.ArrivalState.ABSENT:
            absent.append(str(row.unit_id))
            supervision.settle_deadline(session, subject_type=ARRIVAL_SUBJECT,
                                        subject_id=row.id, kind=DeadlineKind.ARRIVAL,
                                        met_at=None, now=now)
        elif state is rules.ArrivalState.LATE:
            late.append(str(row.unit_id))
    supervision.settle_deadline(session, subject_type=SUBJECT, subject_id=call.id,
                                kind=DeadlineKind.COMPLETION, met_at=now, now=now)
    return _move(session, actor, call, Action.CLOSE, before, WhistleStatus.CLOSED, now, {
        "result": result, "on_time": rules.closed_on_time(now, call.completion_due_at),
        "late_department_ids": late, "absent_department_ids": absent})


def _named_row(call: WhistleCall, department_id: uuid.UUID) -> WhistleDepartment:
    for row in call.departments:
        if row.unit_id == department_id and row.role is not None:
            return row
    raise Invalid.for_field("department_id", "This department is not named on the call.",
                            code="unknown_department")


def rate(session: Session, actor: Actor, call: WhistleCall, *, version: int | None,
         department_id: uuid.UUID, satisfaction: Satisfaction, comment: str | None = None,
         now: datetime) -> WhistleCall:
    """双考评, the caller's half: rate one named department 满意 / 基本满意 / 不满意 (the
    seeds' scale, as in case callbacks), once per department. Nobody rates their own
    department (a department that raised a call and was named on it is rated by the
    township's command centre)."""
    before = _begin(session, actor, call, Action.RATE, version)
    row = _named_row(call, department_id)
    if department_id in path_ids(actor.unit_path):
        raise PermissionDenied("Nobody rates their own department.", code="own_department")
    if row.rated_at is not None:
        raise Conflict("This department was already rated on this call.", code="already_rated",
                       details=[{"department_id": str(department_id),
                                 "rated_at": row.rated_at.isoformat()}])
    row.rated_at, row.rating_satisfaction, row.rating_comment = now, satisfaction, comment
    return _move(session, actor, call, Action.RATE, before, None, now, {
        "department_id": str(department_id), "satisfaction": satisfaction.value,
        "comment": comment})


def mark_unjustified(session: Session, actor: Actor, call: WhistleCall, *, reason: str,
                     now: datetime) -> WhistleCall:
    """双考评, the department's half: say the call was not justified (not its duty, no
    problem found), with a reason; once per department."""
    before = _begin(session, actor, call, Action.MARK_UNJUSTIFIED, None)
    row = department_of(actor, call)
    if row.unjustified_at is not None:
        raise Conflict("Your department already marked this call unjustified.",
                       code="already_marked")
    row.unjustified_at, row.unjustified_reason = now, reason
    row.unjustified_by_user_id = actor.user_id
    return _move(session, actor, call, Action.MARK_UNJUSTIFIED, before, None, now, {
        "department_id": str(row.unit_id), "reason": reason})
