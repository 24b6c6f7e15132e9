"""Every move of a case after intake but the supervisor's decisions (``decisions.py``):
dispatch, accept, handle, request a return, escalate, hand down and review, request an
extension or exemption, link. One function per action; ``begin`` checks the one rule."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.crs import CRS
from geo.measure import distance_m
from server.auth.actor import Actor
from server.cases import standing
from server.cases.models import Case, CaseReturn
from server.cases.rules import (
    DEFAULT_REVIEW_LIMIT,
    URGENT_COMPLETION_LIMIT,
    Action,
    CaseStatus,
    ReviewOutcome,
    first_receiver_refusal,
)
from server.cases.services import (
    SUBJECT,
    apply_dispatch,
    cancel_case_deadlines,
    flush_case,
    record_event,
    supervisor_for,
)
from server.core.errors import Invalid, NotFound, StaleVersion
from server.core.i18n import gettext
from server.core.points import wgs84_in_china
from server.org.models import Unit
from server.org.rules import UnitKind
from server.supervision import services as supervision
from server.supervision.rules import DeadlineKind


def begin(session: Session, actor: Actor, case: Case, action: Action, version: int) -> CaseStatus:
    """Check the version, then the one rule (state, who, pending requests); return the status
    before."""
    if version != case.version:
        raise StaleVersion(
            f"Case {case.number} is at version {case.version}, you sent {version}; reload it.",
            errors={"json": {"version": [f"current version is {case.version}"]}},
        )
    standing.require(session, actor, case, action)
    return case.status


def move(session: Session, actor: Actor, case: Case, action: Action, before: CaseStatus,
         after: CaseStatus | None, now: datetime, data: dict[str, Any] | None = None) -> Case:
    if after is not None:
        case.status = after
    case.updated_at = now
    record_event(session, case, actor, action.value, before, case.status, now, data)
    flush_case(session, case)
    return case


def dispatch(session: Session, actor: Actor, case: Case, *, version: int,
             lead_unit_id: uuid.UUID, cooperating_unit_ids: Sequence[uuid.UUID] = (),
             note: str | None = None, urgent_completion: timedelta = URGENT_COMPLETION_LIMIT,
             now: datetime) -> Case:
    """Dispatch by hand, re-dispatch, or (the district) dispatch an escalated case (一单多派)."""
    before = begin(session, actor, case, Action.DISPATCH, version)
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
    if case.lead_unit_id is not None:
        refused = first_receiver_refusal(
            standing.standing_of(session, actor, case).not_returnable,
            dispatcher_in_lead=f"/{case.lead_unit_id.hex}/" in actor.unit_path,
            same_lead=lead_unit_id == case.lead_unit_id)
        if refused is not None:
            raise standing.as_error(refused, case)
    supervisor = supervisor_for(session, case, units[lead_unit_id],
                                dispatcher_path=actor.unit_path)
    apply_dispatch(session, case, lead_unit_id, cooperating_unit_ids, None,
                   dispatched_by=supervisor, urgent_completion=urgent_completion, now=now)
    return move(session, actor, case, Action.DISPATCH, before, CaseStatus.DISPATCHED, now, {
        "lead_unit_id": str(lead_unit_id),
        "cooperating_unit_ids": [str(u) for u in cooperating_unit_ids], "note": note,
        "redispatch": before is not CaseStatus.RECEIVED})


def accept(session: Session, actor: Actor, case: Case, *, version: int, now: datetime) -> Case:
    """签收: the lead unit acknowledges the order."""
    before = begin(session, actor, case, Action.ACCEPT, version)
    return move(session, actor, case, Action.ACCEPT, before, CaseStatus.ACCEPTED, now)


def contact(session: Session, actor: Actor, case: Case, *, version: int, note: str,
            now: datetime) -> Case:
    """响应: the resident was contacted; meets the response deadline the first time."""
    before = begin(session, actor, case, Action.CONTACT, version)
    if case.responded_at is None:
        case.responded_at = now
        supervision.settle_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                    kind=DeadlineKind.RESPONSE, met_at=now, now=now)
    return move(
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
    before = begin(session, actor, case, Action.NOTE, version)
    return move(session, actor, case, Action.NOTE, before, None, now, {"note": note})


def complete(session: Session, actor: Actor, case: Case, *, version: int, result: str,
             now: datetime) -> Case:
    """报结: the lead unit reports the case handled; it now waits for the callback."""
    before = begin(session, actor, case, Action.COMPLETE, version)
    case.result, case.completed_at = result, now
    for kind in (DeadlineKind.RESPONSE, DeadlineKind.COMPLETION):
        supervision.settle_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                    kind=kind, met_at=now, now=now)
    on_time = case.completion_due_at is None or now <= case.completion_due_at
    return move(session, actor, case, Action.COMPLETE, before, CaseStatus.COMPLETED, now,
                {"result": result, "on_time": on_time})


def arrive(session: Session, actor: Actor, case: Case, *, version: int, lon: float, lat: float,
           accuracy_m: float | None, crs: CRS = CRS.WGS84, now: datetime) -> Case:
    """到场: a handler of the lead unit is on site; the GPS point, its accuracy and the
    distance to the case's location (metres, geodesic) go on the timeline."""
    before = begin(session, actor, case, Action.ARRIVE, version)
    data = arrival_data(case, lon=lon, lat=lat, accuracy_m=accuracy_m, crs=crs)
    return move(session, actor, case, Action.ARRIVE, before, CaseStatus.IN_PROGRESS, now, data)


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
    before = begin(session, actor, case, Action.REQUEST_RETURN, version)
    session.add(CaseReturn(case_id=case.id, unit_id=case.lead_unit_id, reason=reason,
                           requested_at=now, requested_by_user_id=actor.user_id))
    case.status_before_return = before
    return move(session, actor, case, Action.REQUEST_RETURN, before, CaseStatus.RETURN_REQUESTED,
                now, {"reason": reason})


def escalate(session: Session, actor: Actor, case: Case, *, version: int, reason: str,
             now: datetime) -> Case:
    """上交: the township cannot solve it; the district coordinates and re-dispatches."""
    before = begin(session, actor, case, Action.ESCALATE, version)
    cancel_case_deadlines(session, case, now)
    district = case.district_id
    if district is not None:
        supervision.notify(session, unit_id=district, kind="case_escalated", subject_type=SUBJECT,
                           subject_id=case.id, body=reason, now=now,
                           title=gettext("Escalated: {number}").format(number=case.number))
    return move(session, actor, case, Action.ESCALATE, before, CaseStatus.ESCALATED, now,
                {"reason": reason})


def hand_down(session: Session, actor: Actor, case: Case, *, version: int,
              community_unit_id: uuid.UUID, reason: str,
              review_limit: timedelta = DEFAULT_REVIEW_LIMIT, now: datetime) -> Case:
    """下交群评: unreasonable and unresolved, the case goes to the community for review.

    The community is told (its inbox) and its review runs against a deadline with the usual
    reminders, supervised by the unit that handed the case down."""
    before = begin(session, actor, case, Action.HAND_DOWN, version)
    community = session.get(Unit, community_unit_id)
    if community is None or community.kind is not UnitKind.COMMUNITY or (
            case.township_id is not None and community.parent_id != case.township_id):
        raise Invalid.for_field("community_unit_id", "Name a community of the case's township.",
                                code="unknown_community")
    cancel_case_deadlines(session, case, now)
    case.handed_down_to_unit_id, case.review_due_at = community.id, now + review_limit
    case.review_outcome = case.review_note = case.reviewed_at = None
    supervision.open_deadline(
        session, subject_type=SUBJECT, subject_id=case.id, kind=DeadlineKind.REVIEW,
        label=f"{case.number} group review", starts_at=now, due_at=case.review_due_at,
        unit_id=community.id, supervisor_unit_id=actor.unit_id, now=now)
    supervision.notify(session, unit_id=community.id, kind="case_handed_down",
                       subject_type=SUBJECT, subject_id=case.id,
                       title=gettext("Group review: {number}").format(number=case.number),
                       body=reason, now=now)
    return move(session, actor, case, Action.HAND_DOWN, before, CaseStatus.HANDED_DOWN, now,
                {"community_unit_id": str(community_unit_id), "reason": reason,
                 "review_due_at": case.review_due_at.isoformat()})


def record_review(session: Session, actor: Actor, case: Case, *, version: int,
                  outcome: ReviewOutcome, note: str, now: datetime) -> Case:
    """The community records its group review's outcome, which closes the case; the lead
    unit's own result is kept beside it."""
    before = begin(session, actor, case, Action.RECORD_REVIEW, version)
    case.review_outcome, case.review_note, case.reviewed_at = outcome, note or None, now
    case.closed_at = now
    supervision.settle_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                kind=DeadlineKind.REVIEW, met_at=now, now=now)
    move(session, actor, case, Action.RECORD_REVIEW, before, CaseStatus.CLOSED, now,
         {"outcome": outcome.value, "note": note,
          "on_time": case.review_due_at is None or now <= case.review_due_at})
    close_linked(session, actor, case, now)
    return case


def request_extension(session: Session, actor: Actor, case: Case, *, version: int,
                      new_due_at: datetime, reason: str, now: datetime) -> Case:
    before = begin(session, actor, case, Action.REQUEST_EXTENSION, version)
    if case.completion_due_at is not None and new_due_at <= case.completion_due_at:
        raise Invalid.for_field("new_due_at",
                                gettext("Ask for a deadline later than the current one."),
                                code="extension_not_later")
    case.extension_state, case.extension_requested_due_at = "requested", new_due_at
    case.extension_requested_by_user_id = actor.user_id
    case.extension_requested_by_unit_id = actor.unit_id
    return move(session, actor, case, Action.REQUEST_EXTENSION, before, None, now,
                {"new_due_at": new_due_at.isoformat(), "reason": reason})


def request_exemption(session: Session, actor: Actor, case: Case, *, version: int, reason: str,
                      now: datetime) -> Case:
    """剔除: ask that the case not count in the unit's scores."""
    before = begin(session, actor, case, Action.REQUEST_EXEMPTION, version)
    case.exemption_state = "requested"
    case.exemption_requested_by_user_id = actor.user_id
    case.exemption_requested_by_unit_id = actor.unit_id
    return move(session, actor, case, Action.REQUEST_EXEMPTION, before, None, now,
                {"reason": reason})


def link_to_master(session: Session, actor: Actor, case: Case, master: Case, *, version: int,
                   now: datetime) -> Case:
    """A nearby duplicate follows its master case: closing the master closes it too."""
    before = begin(session, actor, case, Action.LINK, version)
    if master.id == case.id or master.master_case_id is not None:
        raise Invalid.for_field("master_case_id", "Link to a master case, not to itself or to "
                                "a case that is itself linked.", code="invalid_master")
    if master.status is CaseStatus.CLOSED:
        raise Invalid.for_field("master_case_id", "The master case is already closed.",
                                code="master_closed")
    case.master_case_id, case.linked_at = master.id, now
    return move(session, actor, case, Action.LINK, before, None, now,
                {"master_case_id": str(master.id), "master_number": master.number})


def close_linked(session: Session, actor: Actor, master: Case, now: datetime) -> None:
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
        move(session, actor, case, Action.LINK, before, CaseStatus.CLOSED, now,
             {"closed_with_master": master.number})


def get_case(session: Session, case_id: uuid.UUID) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("No such case.", code="case_not_found")
    return case
