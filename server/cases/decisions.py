"""The supervising level's decisions on a case: returns, extensions, exemptions, callbacks.

Each is made by the supervisor, never by the lead unit, a unit under it, or the person who
asked (``rules.refusal``); a callback leaves the rating the evaluation is built on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.cases import standing
from server.cases.models import Case, CaseRating, CaseReturn
from server.cases.rules import (
    URGENT_COMPLETION_LIMIT,
    Action,
    CaseStatus,
    RatingChannel,
    RatingSource,
    Satisfaction,
    is_double_yes,
)
from server.cases.services import SUBJECT, cancel_case_deadlines, case_limits
from server.cases.transitions import begin, close_linked, move
from server.core.errors import Invalid, PermissionDenied
from server.supervision import services as supervision
from server.supervision.rules import DeadlineKind


def _pending_return(session: Session, case: Case) -> CaseReturn:
    return session.scalars(
        sa.select(CaseReturn).where(CaseReturn.case_id == case.id, CaseReturn.decided_at.is_(None))
        .order_by(CaseReturn.requested_at.desc())
    ).first()


def approve_return(session: Session, actor: Actor, case: Case, *, version: int, with_fault: bool,
                   note: str | None = None, now: datetime) -> Case:
    """The dispatcher takes the case back to its queue, marking the return with or without fault."""
    before = begin(session, actor, case, Action.APPROVE_RETURN, version)
    pending = _pending_return(session, case)
    pending.decided_at, pending.approved, pending.with_fault = now, True, with_fault
    cancel_case_deadlines(session, case, now)
    returned_by = case.lead_unit_id
    case.lead_unit, case.cooperators = None, []
    case.needs_triage, case.triage_reason = True, "returned"
    return move(session, actor, case, Action.APPROVE_RETURN, before, CaseStatus.RECEIVED, now,
                {"with_fault": with_fault, "note": note, "returned_by": str(returned_by)})


def refuse_return(session: Session, actor: Actor, case: Case, *, version: int, note: str,
                  now: datetime) -> Case:
    before = begin(session, actor, case, Action.REFUSE_RETURN, version)
    pending = _pending_return(session, case)
    pending.decided_at, pending.approved = now, False
    back_to = case.status_before_return or CaseStatus.DISPATCHED
    return move(session, actor, case, Action.REFUSE_RETURN, before, back_to, now, {"note": note})


def callback(session: Session, actor: Actor, case: Case, *, version: int, resolved: bool,
             satisfaction: Satisfaction, comment: str | None,
             source: RatingSource = RatingSource.SUPERVISOR, rater: str | None = None,
             rated_at: datetime | None = None, channel: RatingChannel | None = None,
             urgent_completion: timedelta = URGENT_COMPLETION_LIMIT, now: datetime) -> Case:
    """回访: 双是 closes the case; anything else sends it back to the lead unit (二次办理).

    Every callback is kept as a ``CaseRating`` row, the fact the 三率 are computed from."""
    before = begin(session, actor, case, Action.CALLBACK, version)
    if source is RatingSource.CITY_PLATFORM:
        _require_platform_rating(session, actor, case, rated_at, now)
    case.resolved, case.satisfaction = resolved, satisfaction
    double_yes = is_double_yes(resolved, satisfaction)
    _record_rating(session, actor, case, resolved=resolved, satisfaction=satisfaction,
                   double_yes=double_yes, source=source, rater=rater,
                   rated_at=rated_at or now, channel=channel, comment=comment, now=now)
    data = {"resolved": resolved, "satisfaction": satisfaction.value, "comment": comment,
            "source": source.value}
    if double_yes:
        case.closed_at = now
        move(session, actor, case, Action.CALLBACK, before, CaseStatus.CLOSED, now, data)
        close_linked(session, actor, case, now)
        return case
    case.rehandle_count += 1
    _, completion = case_limits(session, case, None, urgent_completion=urgent_completion)
    case.completion_due_at, case.completed_at = now + completion, None
    supervision.open_deadline(
        session, subject_type=SUBJECT, subject_id=case.id, kind=DeadlineKind.COMPLETION,
        label=f"{case.number} (re-handling)", starts_at=now, due_at=case.completion_due_at,
        unit_id=case.lead_unit_id, supervisor_unit_id=case.dispatched_by_unit_id, now=now)
    supervision.notify(session, unit_id=case.lead_unit_id, kind="case_rehandle",
                       subject_type=SUBJECT, subject_id=case.id,
                       title=f"Handle again: {case.number}", body=comment or "", now=now)
    return move(session, actor, case, Action.CALLBACK, before, CaseStatus.IN_PROGRESS, now,
                {**data, "rehandle": case.rehandle_count})


def _require_platform_rating(session: Session, actor: Actor, case: Case,
                             rated_at: datetime | None, now: datetime) -> None:
    """A city-platform rating is entered by the district 12345 centre, which receives it."""
    if not standing.standing_of(session, actor, case).is_district:
        raise PermissionDenied("Only a district dispatcher (the 12345 centre) records a "
                               "rating from the city platform.", code="city_platform_district_only")
    if rated_at is None or rated_at > now:
        raise Invalid.for_field("rated_at", "Give when the resident rated; it cannot be later "
                                "than now.", code="rated_at_invalid")


def _record_rating(session: Session, actor: Actor, case: Case, *, now: datetime,
                   **facts: Any) -> None:
    """Append the case's next rating; ``seq`` counts the case's callbacks from 1."""
    seq = session.scalar(sa.select(sa.func.count()).where(CaseRating.case_id == case.id)) + 1
    session.add(CaseRating(case_id=case.id, seq=seq, recorded_at=now,
                           lead_unit_id=case.lead_unit_id, recorded_by_user_id=actor.user_id,
                           recorded_by_unit_id=actor.unit_id,
                           rehandle_count=case.rehandle_count, **facts))


def decide_extension(session: Session, actor: Actor, case: Case, *, version: int, approve: bool,
                     note: str | None, now: datetime) -> Case:
    before = begin(session, actor, case, Action.DECIDE_EXTENSION, version)
    case.extension_state = "approved" if approve else "refused"
    if approve:
        case.completion_due_at = case.extension_requested_due_at
        supervision.extend_deadline(session, subject_type=SUBJECT, subject_id=case.id,
                                    kind=DeadlineKind.COMPLETION,
                                    new_due_at=case.completion_due_at, now=now)
    return move(session, actor, case, Action.DECIDE_EXTENSION, before, None, now,
                {"approved": approve, "note": note})


def decide_exemption(session: Session, actor: Actor, case: Case, *, version: int, approve: bool,
                     note: str | None, now: datetime) -> Case:
    before = begin(session, actor, case, Action.DECIDE_EXEMPTION, version)
    case.exemption_state = "approved" if approve else "refused"
    if approve:
        case.exempted_at = now
    return move(session, actor, case, Action.DECIDE_EXEMPTION, before, None, now,
                {"approved": approve, "note": note})
