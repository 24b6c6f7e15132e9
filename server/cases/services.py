"""Case use cases: intake with assignment and auto-dispatch, and every transition of the loop.

Each function takes the session, the acting user and primitives, checks who may act and from
which state, changes the case, appends one event per change, and keeps the supervision
deadlines in step. Nothing here commits; a stale version or an illegal move raises and the
request's transaction rolls back whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from shapely.geometry import Point
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from geo.crs import CRS
from server.auth.actor import Actor, who_acted
from server.cases.models import (
    Case,
    CaseCooperator,
    CaseEvent,
    CaseSpecialGrid,
)
from server.cases.numbers import next_case_number
from server.cases.rules import (
    DEFAULT_COMPLETION_LIMIT,
    DEFAULT_RESPONSE_LIMIT,
    URGENT_COMPLETION_LIMIT,
    URGENT_RESPONSE_LIMIT,
    Action,
    AppealType,
    CaseStatus,
    Channel,
    SupervisorLevel,
    Urgency,
    supervising_level,
)
from server.catalogue.queries import DispatchPlan, get_item, plan_dispatch
from server.core.errors import Conflict, Invalid, StaleVersion
from server.core.i18n import _
from server.core.ids import new_id
from server.core.points import wgs84_in_china
from server.grids.assignment import GridIndexCache, assign_with_index
from server.grids.models import Grid
from server.org.models import Unit
from server.org.rules import Role, UnitKind, path_ids
from server.supervision import services as supervision
from server.supervision.rules import DeadlineKind

SUBJECT = "case"
INTAKE_ROLES = frozenset(
    {Role.TOWNSHIP_DISPATCHER, Role.DISTRICT_DISPATCHER, Role.GRID_WORKER, Role.GRID_LEADER,
     Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_STAFF}
)


class IllegalTransition(Conflict):
    code = "illegal_transition"


class CaseNotReturnable(Conflict):
    code = "case_not_returnable"


class DuplicateCityOrder(Conflict):
    code = "duplicate_city_order"


# Orders of the 12345 platform: the only ones that carry its order number.
CITY_PLATFORM_CHANNELS = frozenset({Channel.CITY_DIRECT, Channel.DISTRICT_FORWARD})


@dataclass(frozen=True)
class IntakeRequest:
    channel: Channel
    appeal_type: AppealType
    title: str
    description: str
    category_code: str | None = None
    urgency: Urgency = Urgency.NORMAL
    lon: float | None = None
    lat: float | None = None
    crs: CRS = CRS.WGS84
    address: str | None = None
    resident_name: str | None = None
    resident_phone: str | None = None
    confidential: bool = False
    attachments: Sequence[dict[str, Any]] = ()
    client_request_id: str | None = None
    city_order_number: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    created: bool  # False: a retried request found the case it had created


def intake(
    session: Session,
    actor: Actor,
    request: IntakeRequest,
    *,
    grid_index: GridIndexCache,
    tolerance_m: float,
    urgent_completion: timedelta = URGENT_COMPLETION_LIMIT,
    now: datetime,
) -> IntakeResult:
    """Receive a case: assign its grids, number it, and dispatch it by the catalogue.

    A retried request (same ``client_request_id``) returns the case it created and changes
    nothing. With no catalogue rule or no grid the case waits in the triage queue of the
    receiving township (or district).
    """
    actor.require(INTAKE_ROLES, _("receive cases"))
    if request.client_request_id:
        retried = retried_intake(session, actor, request.client_request_id)
        if retried is not None:
            return retried
    _check_city_order(session, request)
    # unknown_category (422) for a code the catalogue lacks; the item also plans the dispatch.
    item = get_item(session, request.category_code) if request.category_code is not None else None

    case = Case(
        id=new_id(),  # events refer to it before the first flush
        client_request_id=request.client_request_id,
        city_order_number=request.city_order_number,
        channel=request.channel,
        appeal_type=request.appeal_type,
        category_code=request.category_code,
        title=request.title,
        description=request.description,
        urgency=request.urgency,
        status=CaseStatus.RECEIVED,
        address=request.address,
        resident_name=request.resident_name,
        resident_phone=request.resident_phone,
        confidential=request.confidential,
        attachments=list(request.attachments),
        received_at=now,
        received_by_user_id=actor.user_id,
        received_by_unit_id=actor.unit_id,
        updated_at=now,
        rehandle_count=0,
        event_count=0,
    )
    if item is not None:
        set_committed_value(case, "category", item)  # the view names it: no second read
    _locate(session, case, request, grid_index=grid_index, tolerance_m=tolerance_m)
    # Auto-dispatch needs both a rule and a grid; otherwise a dispatcher judges the case.
    plan = (plan_dispatch(session, case.category_code, case.township_id, item=item,
                          special_grid_ids=[s.grid_id for s in case.special_grids])
            if case.category_code and case.basic_grid_id else None)
    case.number = next_case_number(session, now)
    # Everything about the new case is settled before anything is written, so the case, its
    # events, the lead's notification and the two deadlines with their reminders go in with
    # one flush: one INSERT per table (and one change-feed row for the lot). Events and the
    # case are ordered by CaseEvent.case; a new case has no deadlines to cancel.
    dispatched_by: uuid.UUID | None = None
    with session.no_autoflush:
        session.add(case)
        session.add(new_event(case, actor, "received", None, CaseStatus.RECEIVED, now,
                              {"channel": case.channel.value, "grid": case.basic_grid_code}))
        if plan is None:
            case.needs_triage = True
            case.triage_reason = _triage_reason(case)
        else:
            lead = plan.lead_unit or session.get_one(Unit, plan.lead_unit_id)
            dispatched_by = supervisor_for(session, case, lead, dispatcher_path=None)
            _hand_to_lead(session, case, plan.lead_unit_id, plan.cooperating_unit_ids, plan,
                          dispatched_by=dispatched_by, urgent_completion=urgent_completion,
                          now=now)
            session.add(new_event(
                case, None, Action.DISPATCH.value, CaseStatus.RECEIVED, CaseStatus.DISPATCHED,
                now, {"auto": True, "item": plan.item_code, "item_name": plan.item_name,
                      "lead_unit_id": str(plan.lead_unit_id),
                      "cooperating_unit_ids": [str(u) for u in plan.cooperating_unit_ids]}))
            _notify_lead(session, case, plan.lead_unit_id, now=now, flush=False)
    try:
        if plan is not None:
            _open_case_deadlines(session, case, plan.lead_unit_id, dispatched_by=dispatched_by,
                                 new_case=True, now=now)  # flushes everything
        else:
            session.flush()
    except IntegrityError as exc:
        # Two intakes of one order at once: the unique index lets one in.
        if request.city_order_number and "city_order_number" in str(exc.orig):
            raise _duplicate_city_order(request.city_order_number) from exc
        raise
    return IntakeResult(case, created=True)


def retried_intake(session: Session, actor: Actor,
                   client_request_id: str) -> IntakeResult | None:
    """The case an earlier request with this id created, or None; someone else's id is
    refused (409), never shared."""
    # The id alone first: nearly every request is new, and the whole case (with its joined
    # units) is only worth loading for a retry.
    existing_id = session.scalar(
        sa.select(Case.id).where(Case.client_request_id == client_request_id))
    if existing_id is None:
        return None
    existing = session.get_one(Case, existing_id)
    if existing.received_by_user_id != actor.user_id:
        raise Conflict.for_field("client_request_id",
                                 _("This request id was already used by someone else."),
                                 code="idempotency_key_reused")
    return IntakeResult(existing, created=False)


def _duplicate_city_order(number: str) -> DuplicateCityOrder:
    return DuplicateCityOrder.for_field(
        "city_order_number",
        _("City order {number} was already received; find it with "
          "GET /cases?city_order_number={number}.").format(number=number),
        code=DuplicateCityOrder.code)


def _check_city_order(session: Session, request: IntakeRequest) -> None:
    """The 12345 platform's order number comes with its orders only, and once: a second
    intake of the same order is refused (409), so one order is never handled twice."""
    number = request.city_order_number
    if number is None:
        return
    if request.channel not in CITY_PLATFORM_CHANNELS:
        raise Invalid.for_field(
            "city_order_number", _("Only 12345 orders (city_direct, district_forward) carry a "
                                   "city order number."), code="city_order_number_not_allowed")
    if session.scalar(sa.select(sa.exists().where(Case.city_order_number == number))):
        raise _duplicate_city_order(number)


def _triage_reason(case: Case) -> str:
    if case.basic_grid_id is None:
        return "no_grid" if case.lon is not None else "no_location"
    if case.category_code is None:
        return "no_category"
    return "no_dispatch_rule"


def _locate(session: Session, case: Case, request: IntakeRequest, *, grid_index: GridIndexCache,
            tolerance_m: float) -> None:
    if request.lon is None or request.lat is None:
        if request.lon is not None or request.lat is not None:
            raise Invalid.for_field(
                "lat" if request.lat is None else "lon",
                _("Give both lon and lat, or neither."),
                code="location_incomplete",
            )
        _territory_from_actor(session, case)
        return
    lon, lat = wgs84_in_china(request.lon, request.lat, request.crs)
    case.lon, case.lat, case.location = lon, lat, Point(lon, lat)
    case.input_crs, case.input_lon, case.input_lat = request.crs.value, request.lon, request.lat
    [found] = assign_with_index(session, grid_index, [lon], [lat], tolerance_m=tolerance_m)
    case.assignment_method = found.method.value
    case.assignment_distance_m = found.distance_m
    if found.basic is not None:
        # Not the boundary: the index has it, and it is the widest column of the row.
        grid = session.get(Grid, uuid.UUID(found.basic), options=[defer(Grid.boundary)])
        case.basic_grid_id, case.basic_grid_code = grid.id, grid.code
        case.township_id = grid.township_id
        case.township = grid.township  # already loaded with the grid: the view needs it too
        case.district_id = grid.township.parent_id
    else:
        _territory_from_actor(session, case)
    case.special_grids = [
        CaseSpecialGrid(grid_id=uuid.UUID(i), grid_code=c)
        for i, c in zip(found.special, found.special_codes, strict=True)
    ]


def _territory_from_actor(session: Session, case: Case) -> None:
    """No grid: the case waits in the receiving unit's township (or district) queue."""
    unit = session.get(Unit, case.received_by_unit_id)
    chain = path_ids(unit.path)
    kinds = dict(session.execute(sa.select(Unit.id, Unit.kind).where(Unit.id.in_(chain))).all())
    for unit_id in reversed(chain):
        if kinds.get(unit_id) is UnitKind.TOWNSHIP and case.township_id is None:
            case.township_id = unit_id
        if kinds.get(unit_id) is UnitKind.DISTRICT and case.district_id is None:
            case.district_id = unit_id


def supervisor_for(session: Session, case: Case, lead: Unit, *,
                   dispatcher_path: str | None) -> uuid.UUID | None:
    """The supervising unit of a dispatch to ``lead`` (``dispatcher_path``: the dispatching
    user's unit path, None for the catalogue's automatic dispatch); see
    ``rules.supervising_level``. Stored as ``dispatched_by_unit_id``."""
    level = supervising_level(
        case.channel, automatic=dispatcher_path is None,
        lead_is_township=lead.kind is UnitKind.TOWNSHIP,
        dispatcher_under_lead=dispatcher_path is not None and f"/{lead.id.hex}/" in dispatcher_path)
    if level is SupervisorLevel.DISPATCHER:
        return path_ids(dispatcher_path)[-1]
    if level is SupervisorLevel.TOWNSHIP_CENTRE:
        return _command_centre_of(session, case.township_id)
    return _command_centre_of(session, case.district_id)


def _command_centre_of(session: Session, unit_id: uuid.UUID | None) -> uuid.UUID | None:
    """A township's or district's command centre (12345 centre), or the unit itself."""
    if unit_id is None:
        return None
    centre = session.scalar(
        sa.select(Unit.id).where(Unit.parent_id == unit_id,
                                 Unit.kind == UnitKind.COMMAND_CENTRE).order_by(Unit.code).limit(1)
    )
    return centre or unit_id


def record_event(session: Session, case: Case, actor: Actor | None, action: str,
            from_status: CaseStatus | None, to_status: CaseStatus | None, now: datetime,
            data: dict[str, Any] | None = None) -> None:
    session.add(new_event(case, actor, action, from_status, to_status, now, data))


def new_event(case: Case, actor: Actor | None, action: str, from_status: CaseStatus | None,
              to_status: CaseStatus | None, now: datetime,
              data: dict[str, Any] | None = None) -> CaseEvent:
    """The case's next event (``seq`` counts per case), for the caller to add."""
    case.event_count = (case.event_count or 0) + 1
    return CaseEvent(
        case_id=case.id, seq=case.event_count, at=now, action=action,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        data=data or {}, **who_acted(actor),
    )


def case_limits(session: Session, case: Case, plan: DispatchPlan | None, *,
                urgent_completion: timedelta = URGENT_COMPLETION_LIMIT,
                ) -> tuple[timedelta, timedelta]:
    """The response and completion limits of a dispatch: the catalogue item's, else the
    defaults. An urgent case answers within two hours and is completed within
    ``urgent_completion`` (GRID_URGENT_COMPLETION_HOURS; seed 003: resolved within 2 h),
    unless the item's own limits are shorter."""
    if plan is None and case.category_code:
        plan_item = get_item(session, case.category_code)
        response = timedelta(hours=plan_item.response_limit_hours)
        completion = timedelta(hours=plan_item.completion_limit_hours)
    elif plan is not None:
        response, completion = plan.response_limit, plan.completion_limit
    else:
        response, completion = DEFAULT_RESPONSE_LIMIT, DEFAULT_COMPLETION_LIMIT
    if case.urgency is Urgency.URGENT:
        response = min(response, URGENT_RESPONSE_LIMIT)
        completion = min(completion, urgent_completion)
    return response, max(completion, response)


def apply_dispatch(session: Session, case: Case, lead_unit_id: uuid.UUID,
                   cooperating: Sequence[uuid.UUID], plan: DispatchPlan | None, *,
                   dispatched_by: uuid.UUID | None,
                   urgent_completion: timedelta = URGENT_COMPLETION_LIMIT,
                   now: datetime) -> None:
    cancel_case_deadlines(session, case, now)
    _hand_to_lead(session, case, lead_unit_id, cooperating, plan, dispatched_by=dispatched_by,
                  urgent_completion=urgent_completion, now=now)
    flush_case(session, case)
    _open_case_deadlines(session, case, lead_unit_id, dispatched_by=dispatched_by, now=now)
    _notify_lead(session, case, lead_unit_id, now=now)


def _hand_to_lead(session: Session, case: Case, lead_unit_id: uuid.UUID,
                  cooperating: Sequence[uuid.UUID], plan: DispatchPlan | None, *,
                  dispatched_by: uuid.UUID | None, urgent_completion: timedelta,
                  now: datetime) -> None:
    response, completion = case_limits(session, case, plan, urgent_completion=urgent_completion)
    case.lead_unit = session.get(Unit, lead_unit_id)
    case.cooperators = [CaseCooperator(unit_id=u) for u in dict.fromkeys(cooperating)
                        if u != lead_unit_id]
    case.status = CaseStatus.DISPATCHED
    case.needs_triage, case.triage_reason = False, None
    case.dispatched_at, case.dispatched_by_unit_id = now, dispatched_by
    if plan is not None:
        case.returnable = plan.returnable
    case.response_due_at = now + response
    case.completion_due_at = now + completion
    case.responded_at = None


def _open_case_deadlines(session: Session, case: Case, lead_unit_id: uuid.UUID, *,
                         dispatched_by: uuid.UUID | None, new_case: bool = False,
                         now: datetime) -> None:
    """Supervise the response and completion limits of a dispatch (two deadlines)."""
    response_due, completion_due = case.response_due_at, case.completion_due_at
    if response_due is None or completion_due is None:
        raise ValueError("a dispatched case has both time limits (see _hand_to_lead)")
    supervision.open_deadlines(
        session, subject_type=SUBJECT, subject_id=case.id,
        limits=((DeadlineKind.RESPONSE, response_due), (DeadlineKind.COMPLETION, completion_due)),
        label=f"{case.number} {case.title}", starts_at=now, unit_id=lead_unit_id,
        supervisor_unit_id=dispatched_by, new_subject=new_case, now=now)


def _notify_lead(session: Session, case: Case, lead_unit_id: uuid.UUID, *,
                 now: datetime, flush: bool = True) -> None:
    supervision.notify(session, unit_id=lead_unit_id, kind="case_dispatched",
                       subject_type=SUBJECT, subject_id=case.id,
                       title=_("New case {number}").format(number=case.number),
                       body=case.title, now=now, flush=flush)


_DEFER_CASE_FLUSH = "gridops.defer_case_flush"


@contextmanager
def deferred_case_flushes(session: Session) -> Iterator[None]:
    """Within the block ``flush_case`` leaves the changes to the caller's next flush.

    For a caller that holds the row locks of the cases it changes (the sync push applies a
    chunk of operations to locked cases and flushes once): no concurrent writer can make
    the version check fail, so flushing after every change buys nothing but round trips.
    The transitions check before they change anything, so a refusal still leaves no trace.
    """
    session.info[_DEFER_CASE_FLUSH] = True
    try:
        yield
    finally:
        session.info.pop(_DEFER_CASE_FLUSH, None)


def flush_case(session: Session, case: Case) -> None:
    """Concurrent writers: the version column makes the loser's UPDATE match no row."""
    if session.info.get(_DEFER_CASE_FLUSH):
        return
    number = case.number  # after a failed flush the session can no longer load attributes
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(f"Case {number} was changed by someone else; reload it.") from exc


def cancel_case_deadlines(session: Session, case: Case, now: datetime) -> None:
    """The case's limits no longer apply (re-dispatched, returned, escalated, handed down).

    Settled, not just cancelled: an overdue escalation whose time came before the
    scheduler's next run still goes out (as with whistle calls), so a limit missed just
    before the case moved on is not lost."""
    for kind in (DeadlineKind.RESPONSE, DeadlineKind.COMPLETION, DeadlineKind.REVIEW):
        supervision.settle_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                    kind=kind, met_at=None, now=now)
