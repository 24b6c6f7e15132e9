"""Every move of a case after intake: dispatch, accept, handle, return, escalate, hand down,
callback, extensions, exemptions and links. One function per action, one rule table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.crs import CRS
from geo.measure import distance_m
from server.auth.actor import Actor
from server.auth.services import scope_of
from server.cases.models import Case, CaseRating, CaseReturn
from server.cases.rules import (
    DISPATCHER_ROLES,
    HANDLER_ROLES,
    TRANSITIONS,
    Action,
    CaseStatus,
    Party,
    RatingChannel,
    RatingSource,
    Satisfaction,
    is_double_yes,
    returnable,
)
from server.cases.services import (
    SUBJECT,
    CaseNotReturnable,
    IllegalTransition,
    apply_dispatch,
    cancel_case_deadlines,
    case_limits,
    flush_case,
    record_event,
)
from server.core.errors import Invalid, NotFound, PermissionDenied, StaleVersion
from server.core.points import wgs84_in_china
from server.org.models import Unit
from server.org.rules import Role, UnitKind
from server.supervision import services as supervision
from server.supervision.rules import DeadlineKind


def _begin(session: Session, actor: Actor, case: Case, action: Action, version: int) -> CaseStatus:
    """Check the version, the state and the actor's standing; return the status before."""
    if version != case.version:
        raise StaleVersion(
            f"Case {case.number} is at version {case.version}, you sent {version}; reload it.",
            errors={"json": {"version": [f"current version is {case.version}"]}},
        )
    rule = TRANSITIONS[action]
    if case.status not in rule.sources:
        raise IllegalTransition(
            f"Cannot {action.value.replace('_', ' ')} a case that is {case.status.value}.",
            details=[{"current_status": case.status.value, "version": case.version}],
        )
    if rule.by is Party.LEAD:
        _require_lead(actor, case, action)
    else:
        _require_dispatcher(session, actor, case, action)
    return case.status


def _require_lead(actor: Actor, case: Case, action: Action) -> None:
    in_lead = case.lead_unit_id is not None and f"/{case.lead_unit_id.hex}/" in actor.unit_path
    if not (in_lead and actor.has_any(HANDLER_ROLES)):
        raise PermissionDenied(
            f"Only the lead unit of case {case.number} may {action.value.replace('_', ' ')} it.",
            code="not_lead_unit",
        )


def _require_dispatcher(session: Session, actor: Actor, case: Case, action: Action) -> None:
    needs_district = action is Action.DISPATCH and case.status is CaseStatus.ESCALATED
    if needs_district and not actor.has_any({Role.DISTRICT_DISPATCHER}):
        raise PermissionDenied("Only the district may re-dispatch an escalated case.",
                               code="district_only")
    actor.require(DISPATCHER_ROLES, f"{action.value.replace('_', ' ')} cases")
    scope = scope_of(session, actor)
    if scope.township_ids is None:
        return
    in_township = case.township_id is not None and case.township_id in scope.township_ids
    in_district = case.district_id is not None and any(
        f"/{case.district_id.hex}/" in p for p in scope.unit_paths or ()
    ) and actor.has_any({Role.DISTRICT_DISPATCHER})
    if needs_district and not in_district:
        raise PermissionDenied("Only the district may re-dispatch an escalated case.",
                               code="district_only")
    if not (in_township or in_district):
        raise PermissionDenied("This case is outside your territory.", code="outside_territory")


def _move(session: Session, actor: Actor, case: Case, action: Action, before: CaseStatus,
          after: CaseStatus | None, now: datetime, data: dict[str, Any] | None = None) -> Case:
    if after is not None:
        case.status = after
    case.updated_at = now
    record_event(session, case, actor, action.value, before, case.status, now, data)
    flush_case(session, case)
    return case


def dispatch(session: Session, actor: Actor, case: Case, *, version: int,
             lead_unit_id: uuid.UUID, cooperating_unit_ids: Sequence[uuid.UUID] = (),
             note: str | None = None, now: datetime) -> Case:
    """Dispatch by hand, re-dispatch, or (the district) dispatch an escalated case (一单多派)."""
    before = _begin(session, actor, case, Action.DISPATCH, version)
    units = {u.id: u for u in session.scalars(
        sa.select(Unit).where(Unit.id.in_([lead_unit_id, *cooperating_unit_ids])))}
    for field, ids in (
        ("lead_unit_id", [lead_unit_id]),
        ("cooperating_unit_ids", cooperating_unit_ids),
    ):
        for unit_id in ids:
            unit = units.get(unit_id)
            if unit is None or unit.kind not in (UnitKind.TOWNSHIP, UnitKind.DEPARTMENT,
                                                 UnitKind.COMMUNITY, UnitKind.OWNER_UNIT):
                raise Invalid.for_field(field, "Dispatch to a township, community, department "
                                        "or owner unit that exists.", code="unknown_unit")
    apply_dispatch(session, case, lead_unit_id, cooperating_unit_ids, None,
                    dispatched_by=actor.unit_id, now=now)
    return _move(session, actor, case, Action.DISPATCH, before, CaseStatus.DISPATCHED, now, {
        "lead_unit_id": str(lead_unit_id),
        "cooperating_unit_ids": [str(u) for u in cooperating_unit_ids], "note": note,
        "redispatch": before is not CaseStatus.RECEIVED})


def accept(session: Session, actor: Actor, case: Case, *, version: int, now: datetime) -> Case:
    """签收: the lead unit acknowledges the order."""
    before = _begin(session, actor, case, Action.ACCEPT, version)
    return _move(session, actor, case, Action.ACCEPT, before, CaseStatus.ACCEPTED, now)


def contact(session: Session, actor: Actor, case: Case, *, version: int, note: str,
            now: datetime) -> Case:
    """响应: the resident was contacted; meets the response deadline the first time."""
    before = _begin(session, actor, case, Action.CONTACT, version)
    if case.responded_at is None:
        case.responded_at = now
        supervision.close_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                   kind=DeadlineKind.RESPONSE, met_at=now)
    return _move(
        session,
        actor,
        case,
        Action.CONTACT,
        before,
        CaseStatus.IN_PROGRESS,
        now,
        {"note": note, "on_time": case.response_due_at is None or now <= case.response_due_at},
    )


def add_note(session: Session, actor: Actor, case: Case, *, version: int, note: str,
             now: datetime) -> Case:
    before = _begin(session, actor, case, Action.NOTE, version)
    return _move(session, actor, case, Action.NOTE, before, None, now, {"note": note})


def complete(session: Session, actor: Actor, case: Case, *, version: int, result: str,
             now: datetime) -> Case:
    """报结: the lead unit reports the case handled; it now waits for the callback."""
    before = _begin(session, actor, case, Action.COMPLETE, version)
    case.result, case.completed_at = result, now
    for kind in (DeadlineKind.RESPONSE, DeadlineKind.COMPLETION):
        supervision.close_deadline(session, subject_type=SUBJECT, subject_id=case.id, kind=kind,
                                   met_at=now)
    on_time = case.completion_due_at is None or now <= case.completion_due_at
    return _move(session, actor, case, Action.COMPLETE, before, CaseStatus.COMPLETED, now,
                 {"result": result, "on_time": on_time})


def arrive(session: Session, actor: Actor, case: Case, *, version: int, lon: float, lat: float,
           accuracy_m: float | None, crs: CRS = CRS.WGS84, now: datetime) -> Case:
    """到场: a handler of the lead unit is on site; the GPS point, its accuracy and the
    distance to the case's location (metres, geodesic) go on the timeline."""
    before = _begin(session, actor, case, Action.ARRIVE, version)
    data = arrival_data(case, lon=lon, lat=lat, accuracy_m=accuracy_m, crs=crs)
    return _move(session, actor, case, Action.ARRIVE, before, CaseStatus.IN_PROGRESS, now, data)


def arrival_data(case: Case, *, lon: float, lat: float, accuracy_m: float | None,
                 crs: CRS = CRS.WGS84) -> dict[str, Any]:
    """What an arrival records: the point in WGS-84, as sent, and how far it is from the case."""
    wlon, wlat = wgs84_in_china(lon, lat, crs)
    away = None if case.lon is None else round(distance_m(wlon, wlat, case.lon, case.lat), 1)
    return {"lon": wlon, "lat": wlat, "input_crs": crs.value, "input_lon": lon, "input_lat": lat,
            "accuracy_m": accuracy_m, "distance_m": away}


def request_return(session: Session, actor: Actor, case: Case, *, version: int, reason: str,
                   now: datetime) -> Case:
    """退单: ask the dispatcher to take the case back; never for city-direct orders to townships."""
    before = _begin(session, actor, case, Action.REQUEST_RETURN, version)
    lead = session.get(Unit, case.lead_unit_id)
    why_not = returnable(case.channel, lead.kind is UnitKind.TOWNSHIP, case.returnable)
    if why_not:
        raise CaseNotReturnable(why_not)
    session.add(CaseReturn(case_id=case.id, unit_id=case.lead_unit_id, reason=reason,
                           requested_at=now, requested_by_user_id=actor.user_id))
    case.status_before_return = before
    return _move(session, actor, case, Action.REQUEST_RETURN, before, CaseStatus.RETURN_REQUESTED,
                 now, {"reason": reason})


def _pending_return(session: Session, case: Case) -> CaseReturn:
    return session.scalars(
        sa.select(CaseReturn).where(CaseReturn.case_id == case.id, CaseReturn.decided_at.is_(None))
        .order_by(CaseReturn.requested_at.desc())
    ).first()


def approve_return(session: Session, actor: Actor, case: Case, *, version: int, with_fault: bool,
                   note: str | None = None, now: datetime) -> Case:
    """The dispatcher takes the case back to its queue, marking the return with or without fault."""
    before = _begin(session, actor, case, Action.APPROVE_RETURN, version)
    pending = _pending_return(session, case)
    pending.decided_at, pending.approved, pending.with_fault = now, True, with_fault
    cancel_case_deadlines(session, case, now)
    returned_by = case.lead_unit_id
    case.lead_unit, case.cooperators = None, []
    case.needs_triage, case.triage_reason = True, "returned"
    return _move(session, actor, case, Action.APPROVE_RETURN, before, CaseStatus.RECEIVED, now,
                 {"with_fault": with_fault, "note": note, "returned_by": str(returned_by)})


def refuse_return(session: Session, actor: Actor, case: Case, *, version: int, note: str,
                  now: datetime) -> Case:
    before = _begin(session, actor, case, Action.REFUSE_RETURN, version)
    pending = _pending_return(session, case)
    pending.decided_at, pending.approved = now, False
    back_to = case.status_before_return or CaseStatus.DISPATCHED
    return _move(session, actor, case, Action.REFUSE_RETURN, before, back_to, now, {"note": note})


def escalate(session: Session, actor: Actor, case: Case, *, version: int, reason: str,
             now: datetime) -> Case:
    """上交: the township cannot solve it; the district coordinates and re-dispatches."""
    before = _begin(session, actor, case, Action.ESCALATE, version)
    cancel_case_deadlines(session, case, now)
    district = case.district_id
    if district is not None:
        supervision.notify(session, unit_id=district, kind="case_escalated", subject_type=SUBJECT,
                           subject_id=case.id, title=f"Escalated: {case.number}", body=reason,
                           now=now)
    return _move(session, actor, case, Action.ESCALATE, before, CaseStatus.ESCALATED, now,
                 {"reason": reason})


def hand_down(session: Session, actor: Actor, case: Case, *, version: int,
              community_unit_id: uuid.UUID, reason: str, now: datetime) -> Case:
    """下交群评: unreasonable and unresolved, the case goes to the community for review."""
    before = _begin(session, actor, case, Action.HAND_DOWN, version)
    community = session.get(Unit, community_unit_id)
    if community is None or community.kind is not UnitKind.COMMUNITY or (
            case.township_id is not None and community.parent_id != case.township_id):
        raise Invalid.for_field("community_unit_id", "Name a community of the case's township.",
                                code="unknown_community")
    cancel_case_deadlines(session, case, now)
    return _move(session, actor, case, Action.HAND_DOWN, before, CaseStatus.HANDED_DOWN, now,
                 {"community_unit_id": str(community_unit_id), "reason": reason})


def record_review(session: Session, actor: Actor, case: Case, *, version: int, outcome: str,
                  note: str, now: datetime) -> Case:
    """The group review's outcome closes the case."""
    before = _begin(session, actor, case, Action.RECORD_REVIEW, version)
    case.result, case.closed_at = f"Group review: {outcome}. {note}".strip(), now
    _move(session, actor, case, Action.RECORD_REVIEW, before, CaseStatus.CLOSED, now,
          {"outcome": outcome, "note": note})
    _close_linked(session, actor, case, now)
    return case


def callback(session: Session, actor: Actor, case: Case, *, version: int, resolved: bool,
             satisfaction: Satisfaction, comment: str | None,
             source: RatingSource = RatingSource.SUPERVISOR, rater: str | None = None,
             rated_at: datetime | None = None, channel: RatingChannel | None = None,
             now: datetime) -> Case:
    """回访: 双是 closes the case; anything else sends it back to the lead unit (二次办理).

    Every callback is kept as a ``CaseRating`` row, the fact the 三率 are computed from."""
    before = _begin(session, actor, case, Action.CALLBACK, version)
    case.resolved, case.satisfaction = resolved, satisfaction
    double_yes = is_double_yes(resolved, satisfaction)
    _record_rating(session, actor, case, resolved=resolved, satisfaction=satisfaction,
                   double_yes=double_yes, source=source, rater=rater,
                   rated_at=rated_at or now, channel=channel, comment=comment, now=now)
    data = {"resolved": resolved, "satisfaction": satisfaction.value, "comment": comment,
            "source": source.value}
    if double_yes:
        case.closed_at = now
        _move(session, actor, case, Action.CALLBACK, before, CaseStatus.CLOSED, now, data)
        _close_linked(session, actor, case, now)
        return case
    case.rehandle_count += 1
    _, completion = case_limits(session, case, None)
    case.completion_due_at, case.completed_at = now + completion, None
    supervision.open_deadline(
        session, subject_type=SUBJECT, subject_id=case.id, kind=DeadlineKind.COMPLETION,
        label=f"{case.number} (re-handling)", starts_at=now, due_at=case.completion_due_at,
        unit_id=case.lead_unit_id, supervisor_unit_id=case.dispatched_by_unit_id, now=now)
    supervision.notify(session, unit_id=case.lead_unit_id, kind="case_rehandle",
                       subject_type=SUBJECT, subject_id=case.id,
                       title=f"Handle again: {case.number}", body=comment or "", now=now)
    return _move(session, actor, case, Action.CALLBACK, before, CaseStatus.IN_PROGRESS, now,
                 {**data, "rehandle": case.rehandle_count})


def _record_rating(session: Session, actor: Actor, case: Case, *, now: datetime,
                   **facts: Any) -> None:
    """Append the case's next rating; ``seq`` counts the case's callbacks from 1."""
    seq = session.scalar(sa.select(sa.func.count()).where(CaseRating.case_id == case.id)) + 1
    session.add(CaseRating(case_id=case.id, seq=seq, recorded_at=now,
                           lead_unit_id=case.lead_unit_id, recorded_by_user_id=actor.user_id,
                           recorded_by_unit_id=actor.unit_id,
                           rehandle_count=case.rehandle_count, **facts))


def request_extension(session: Session, actor: Actor, case: Case, *, version: int,
                      new_due_at: datetime, reason: str, now: datetime) -> Case:
    before = _begin(session, actor, case, Action.REQUEST_EXTENSION, version)
    if case.completion_due_at is not None and new_due_at <= case.completion_due_at:
        raise Invalid.for_field("new_due_at", "Ask for a deadline later than the current one.",
                                code="extension_not_later")
    if case.extension_state == "requested":
        raise IllegalTransition("An extension request is already waiting for a decision.")
    case.extension_state, case.extension_requested_due_at = "requested", new_due_at
    case.extension_requested_by_user_id = actor.user_id
    case.extension_requested_by_unit_id = actor.unit_id
    return _move(session, actor, case, Action.REQUEST_EXTENSION, before, None, now,
                 {"new_due_at": new_due_at.isoformat(), "reason": reason})


def decide_extension(session: Session, actor: Actor, case: Case, *, version: int, approve: bool,
                     note: str | None, now: datetime) -> Case:
    before = _begin(session, actor, case, Action.DECIDE_EXTENSION, version)
    if case.extension_state != "requested":
        raise IllegalTransition("No extension request is waiting for a decision.")
    case.extension_state = "approved" if approve else "refused"
    if approve:
        case.completion_due_at = case.extension_requested_due_at
        supervision.extend_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                    kind=DeadlineKind.COMPLETION,
                                    new_due_at=case.completion_due_at, now=now)
    return _move(session, actor, case, Action.DECIDE_EXTENSION, before, None, now,
                 {"approved": approve, "note": note})


def request_exemption(session: Session, actor: Actor, case: Case, *, version: int, reason: str,
                      now: datetime) -> Case:
    """剔除: ask that the case not count in the unit's scores."""
    before = _begin(session, actor, case, Action.REQUEST_EXEMPTION, version)
    if case.exemption_state in ("requested", "approved"):
        raise IllegalTransition(f"An exemption is already {case.exemption_state}.")
    case.exemption_state = "requested"
    case.exemption_requested_by_user_id = actor.user_id
    case.exemption_requested_by_unit_id = actor.unit_id
    return _move(session, actor, case, Action.REQUEST_EXEMPTION, before, None, now,
                 {"reason": reason})


def decide_exemption(session: Session, actor: Actor, case: Case, *, version: int, approve: bool,
                     note: str | None, now: datetime) -> Case:
    before = _begin(session, actor, case, Action.DECIDE_EXEMPTION, version)
    if case.exemption_state != "requested":
        raise IllegalTransition("No exemption request is waiting for a decision.")
    case.exemption_state = "approved" if approve else "refused"
    if approve:
        case.exempted_at = now
    return _move(session, actor, case, Action.DECIDE_EXEMPTION, before, None, now,
                 {"approved": approve, "note": note})


def link_to_master(session: Session, actor: Actor, case: Case, master: Case, *, version: int,
                   now: datetime) -> Case:
    """A nearby duplicate follows its master case: closing the master closes it too."""
    before = _begin(session, actor, case, Action.LINK, version)
    if master.id == case.id or master.master_case_id is not None:
        raise Invalid.for_field("master_case_id", "Link to a master case, not to itself or to "
                                "a case that is itself linked.", code="invalid_master")
    if master.status is CaseStatus.CLOSED:
        raise Invalid.for_field("master_case_id", "The master case is already closed.",
                                code="master_closed")
    case.master_case_id, case.linked_at = master.id, now
    return _move(session, actor, case, Action.LINK, before, None, now,
                 {"master_case_id": str(master.id), "master_number": master.number})


def _close_linked(session: Session, actor: Actor, master: Case, now: datetime) -> None:
    linked = session.scalars(
        sa.select(Case).where(Case.master_case_id == master.id, Case.status != CaseStatus.CLOSED))
    for case in linked:
        before = case.status
        cancel_case_deadlines(session, case, now)
        case.result, case.resolved, case.satisfaction = (
            master.result,
            master.resolved,
            master.satisfaction,
        )
        case.closed_at = now
        _move(session, actor, case, Action.LINK, before, CaseStatus.CLOSED, now,
              {"closed_with_master": master.number})


def get_case(session: Session, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    return case
