"""One handler per operation a phone may push, each through the same domain services as the web.

A handler takes the operation's context and its checked arguments, calls the case services,
and returns the result the phone keeps (JSON-ready). It raises a ``DomainError`` to reject
the operation. What happens when the case changed while the phone was offline is decided
with ``sync.conflicts`` (the table in docs/sync.md):

- facts (note, contact, arrival, photo) go through the normal transition when the case still
  allows it; otherwise, if the worker was entitled when they acted, they are written on the
  timeline as they happened, without changing the case's status, and flagged;
- state changes (accept, complete, request a return or an extension) go through the
  transition or are rejected with a code naming what happened to the case.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.crs import CRS
from server.auth.actor import Actor
from server.cases import transitions
from server.cases.models import Case, CaseEvent
from server.cases.queries import visible_cases
from server.cases.rules import HANDLER_ROLES, URGENT_COMPLETION_LIMIT, Action, CaseStatus, Channel
from server.cases.services import (
    IllegalTransition,
    IntakeRequest,
    flush_case,
    intake,
    record_event,
)
from server.core.errors import Conflict, DomainError, Invalid, NotFound, PermissionDenied
from server.core.i18n import _
from server.grids.assignment import GridIndexCache
from server.staff.rules import FieldLimits
from sync import conflicts, staff_operations, whistle_operations
from sync.conflicts import CaseState, TimelineEntry
from sync.ledger import OpStatus, SyncOperation
from sync.photos import link_photo, photo_status

FAR_FROM_CASE = "far_from_case"
ALREADY_ACCEPTED = "already_accepted"


class OpKind(StrEnum):
    CREATE = "create"  # makes a new record (a case)
    FACT = "fact"  # records what happened; accepted if the worker was entitled when they acted
    CHANGE = "change"  # moves the case; must still make sense when it arrives


class UnknownOperation(Invalid):
    code = "unknown_operation"


class CaseMovedOn(Conflict):
    """A state change that no longer makes sense: the case moved on while the phone was
    offline. The code names how (``case_closed``, ``case_reassigned``...)."""

    code = "case_moved_on"


@dataclass(frozen=True)
class Limits:
    """Settings the handlers need, passed in by the entry point."""

    grid_index: GridIndexCache
    tolerance_m: float
    arrive_near_m: float
    staff: FieldLimits = FieldLimits()  # check-ins and tracks (sync.staff_operations)
    urgent_completion: timedelta = URGENT_COMPLETION_LIMIT  # GRID_URGENT_COMPLETION_HOURS


@dataclass
class OpContext:
    session: Session
    actor: Actor
    op_id: uuid.UUID
    acted_at: datetime
    now: datetime
    limits: Limits
    flags: list[str] = field(default_factory=list)
    case: Case | None = None  # the case concerned, for the ledger
    # Shared by the operations of one push: the cases loaded, and which the actor sees (a
    # push never changes that: only dispatchers' moves and grid membership do).
    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    visible: dict[uuid.UUID, bool] = field(default_factory=dict)


Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    name: str
    kind: OpKind
    handler: Handler
    # The handler raises its DomainError before it changes anything and changes only the
    # (locked) case it names: the push applies it without a savepoint of its own, with the
    # case's flush left to the end of the chunk (sync.push).
    batched: bool = False


# --- cases: find, judge as of when the worker acted, record late facts ----------------------


def _find_case(ctx: OpContext, case_id: uuid.UUID) -> Case:
    """The case by id, or by the id of a ``report_incident`` this user pushed: a phone that
    reported a case offline knows only its operation's id until its next pull."""
    case = ctx.cases.get(case_id) or ctx.session.get(Case, case_id)
    if case is None:
        report = ctx.session.get(SyncOperation, case_id)
        if (report is not None and report.user_id == ctx.actor.user_id
                and report.name == "report_incident" and report.status is OpStatus.APPLIED):
            case = ctx.session.get(Case, report.case_id)
    if case is None:
        raise NotFound(_("This case does not exist or is not yours to see."),
                       code="case_not_found")
    ctx.cases[case_id] = case
    return case


def _visible(ctx: OpContext, case: Case) -> bool:
    if case.id not in ctx.visible:
        ctx.visible[case.id] = ctx.session.scalar(sa.select(
            sa.exists().where(Case.id == case.id, visible_cases(ctx.session, ctx.actor))))
    return ctx.visible[case.id]


def _timeline(ctx: OpContext, case: Case) -> list[TimelineEntry]:
    rows = ctx.session.execute(
        sa.select(CaseEvent.seq, CaseEvent.at, CaseEvent.action, CaseEvent.to_status,
                  CaseEvent.data).where(CaseEvent.case_id == case.id))
    return [TimelineEntry(seq, at, action, CaseStatus(to) if to else None, data or {})
            for seq, at, action, to, data in rows]


def _then(ctx: OpContext, case: Case) -> CaseState | None:
    return conflicts.state_at(_timeline(ctx, case), ctx.acted_at)


def _entitled_then(ctx: OpContext, case: Case, action: Action) -> bool:
    return conflicts.entitled(_then(ctx, case), action, unit_path=ctx.actor.unit_path,
                              roles=ctx.actor.roles)


def _state(case: Case) -> CaseState:
    return CaseState(case.status, case.lead_unit_id, returned=case.triage_reason == "returned")


def _now_moved(ctx: OpContext, case: Case) -> conflicts.Moved | None:
    return conflicts.moved(_state(case), unit_path=ctx.actor.unit_path)


def _open_case(ctx: OpContext, case_id: uuid.UUID) -> Case:
    """The case, if the worker sees it now or their unit led it when they acted (it may have
    been re-dispatched away since: they still get told what happened to it)."""
    case = _find_case(ctx, case_id)
    if not _visible(ctx, case):
        then = _then(ctx, case)
        if then is None or not conflicts.leads(then.lead_unit_id, ctx.actor.unit_path):
            raise NotFound(_("This case does not exist or is not yours to see."),
                           code="case_not_found")
    ctx.case = case
    return case


def _result(case: Case, **extra: Any) -> dict[str, Any]:
    return {"case_id": str(case.id), "number": case.number, "status": case.status.value,
            "version": case.version, **extra}


def _refusal(ctx: OpContext, case: Case, what: str, error: DomainError) -> DomainError:
    """The domain's refusal, renamed after what happened to the case if it moved on."""
    how = _now_moved(ctx, case)
    if how is None:
        return error
    if how is conflicts.Moved.REASSIGNED and not conflicts.ever_led(_timeline(ctx, case),
                                                                    ctx.actor.unit_path):
        # Never theirs to lead (a cooperating department acting as if it led): "sent to
        # another unit" would be untrue; the domain's own refusal says what is wrong.
        return error
    return CaseMovedOn(conflicts.rejection_message(how, number=case.number, what=what),
                       code=conflicts.rejection_code(how),
                       details=[{"case_id": str(case.id), "current_status": case.status.value}])


def _fact(ctx: OpContext, case: Case, action: Action, what: str,
          apply: Callable[[int], Case], data: Callable[[], dict[str, Any]]) -> None:
    """Apply a fact through its transition; if the case no longer allows it but allowed it
    when the worker acted, write it on the timeline as a late fact (status unchanged)."""
    if conflicts.entitled(_state(case), action, unit_path=ctx.actor.unit_path,
                          roles=ctx.actor.roles):
        apply(case.version)  # the usual case
        return
    try:  # expected to be refused; the domain's own check says why, and writes nothing
        transitions.begin(ctx.session, ctx.actor, case, action, case.version)
    except (IllegalTransition, PermissionDenied) as refused:
        if not _entitled_then(ctx, case, action):
            raise _refusal(ctx, case, what, refused) from refused
    else:
        apply(case.version)
        return
    how = _now_moved(ctx, case)
    ctx.flags.append(conflicts.flag(how) if how else "case_changed_since")
    record_event(ctx.session, case, ctx.actor, action.value, case.status, case.status, ctx.now,
                 {**data(), "late": True, "acted_at": ctx.acted_at.isoformat()})
    case.updated_at = ctx.now
    flush_case(ctx.session, case)


def _change(ctx: OpContext, case: Case, what: str, apply: Callable[[int], Case]) -> None:
    try:
        apply(case.version)
    except (IllegalTransition, PermissionDenied) as refused:
        raise _refusal(ctx, case, what, refused) from refused


# --- the operations ---------------------------------------------------------------------------


def report_incident(ctx: OpContext, *, photos: list[str], **fields: Any) -> dict[str, Any]:
    """A patrol finding (主动发现) through the intake; the operation id is its idempotency key."""
    fields.setdefault("channel", Channel.PATROL)
    outcome = intake(ctx.session, ctx.actor,
                     IntakeRequest(**fields, client_request_id=str(ctx.op_id)),
                     grid_index=ctx.limits.grid_index, tolerance_m=ctx.limits.tolerance_m,
                     urgent_completion=ctx.limits.urgent_completion, now=ctx.now)
    case = ctx.case = outcome.case
    for sha256 in dict.fromkeys(photos):
        link_photo(ctx.session, sha256=sha256, subject_type="case", subject_id=case.id,
                   user_id=ctx.actor.user_id, now=ctx.now)
    return _result(case, needs_triage=case.needs_triage)


def add_note(ctx: OpContext, *, case_id: uuid.UUID, note: str) -> dict[str, Any]:
    case = _open_case(ctx, case_id)
    _fact(ctx, case, Action.NOTE, "note",
          lambda v: transitions.add_note(ctx.session, ctx.actor, case, version=v, note=note,
                                         now=ctx.now),
          lambda: {"note": note})
    return _result(case)


def record_contact(ctx: OpContext, *, case_id: uuid.UUID, note: str) -> dict[str, Any]:
    """响应. Recorded late it meets no deadline: "on time" is judged by server time only."""
    case = _open_case(ctx, case_id)
    _fact(ctx, case, Action.CONTACT, "contact with the resident",
          lambda v: transitions.contact(ctx.session, ctx.actor, case, version=v, note=note,
                                        now=ctx.now),
          lambda: {"note": note})
    return _result(case)


def arrive_on_site(ctx: OpContext, *, case_id: uuid.UUID, lon: float, lat: float,
                   accuracy_m: float | None, crs: CRS) -> dict[str, Any]:
    """到场, with the GPS point; flagged when it is far from the case (beyond its accuracy)."""
    case = _open_case(ctx, case_id)
    point = transitions.arrival_data(case, lon=lon, lat=lat, accuracy_m=accuracy_m, crs=crs)
    _fact(ctx, case, Action.ARRIVE, "arrival",
          lambda v: transitions.arrive(ctx.session, ctx.actor, case, version=v, lon=lon,
                                       lat=lat, accuracy_m=accuracy_m, crs=crs, now=ctx.now),
          lambda: point)
    away = point["distance_m"]
    if away is not None and away - (accuracy_m or 0.0) > ctx.limits.arrive_near_m:
        ctx.flags.append(FAR_FROM_CASE)
    return _result(case, distance_m=away)


def attach_photo(ctx: OpContext, *, case_id: uuid.UUID, sha256: str) -> dict[str, Any]:
    """Link a photo (by its SHA-256) to a case; the bytes may arrive before or after."""
    case = _open_case(ctx, case_id)
    if not _visible(ctx, case):
        how = _now_moved(ctx, case)
        ctx.flags.append(conflicts.flag(how) if how else "case_changed_since")
    link_photo(ctx.session, sha256=sha256, subject_type="case", subject_id=case.id,
               user_id=ctx.actor.user_id, now=ctx.now)
    return _result(case, sha256=sha256, photo_status=photo_status(ctx.session, sha256).value)


def accept_case(ctx: OpContext, *, case_id: uuid.UUID) -> dict[str, Any]:
    """签收. A case a colleague of the same unit already accepted is applied and flagged."""
    case = _open_case(ctx, case_id)
    if (case.status in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS)
            and conflicts.leads(case.lead_unit_id, ctx.actor.unit_path)
            and ctx.actor.has_any(HANDLER_ROLES)):
        ctx.flags.append(ALREADY_ACCEPTED)
        return _result(case)
    _change(ctx, case, "acceptance", lambda v: transitions.accept(
        ctx.session, ctx.actor, case, version=v, now=ctx.now))
    return _result(case)


def complete_task(ctx: OpContext, *, case_id: uuid.UUID, result: str) -> dict[str, Any]:
    """报结; "on time" compares the server's reception time with the deadline."""
    case = _open_case(ctx, case_id)
    _change(ctx, case, "report of completion", lambda v: transitions.complete(
        ctx.session, ctx.actor, case, version=v, result=result, now=ctx.now))
    due = case.completion_due_at
    return _result(case, on_time=due is None or ctx.now <= due)


def request_return(ctx: OpContext, *, case_id: uuid.UUID, reason: str) -> dict[str, Any]:
    case = _open_case(ctx, case_id)
    _change(ctx, case, "return request", lambda v: transitions.request_return(
        ctx.session, ctx.actor, case, version=v, reason=reason, now=ctx.now))
    return _result(case)


def request_extension(ctx: OpContext, *, case_id: uuid.UUID, new_due_at: datetime,
                      reason: str) -> dict[str, Any]:
    case = _open_case(ctx, case_id)
    _change(ctx, case, "extension request", lambda v: transitions.request_extension(
        ctx.session, ctx.actor, case, version=v, new_due_at=new_due_at, reason=reason,
        now=ctx.now))
    return _result(case)


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("report_incident", OpKind.CREATE, report_incident),
    Operation("add_note", OpKind.FACT, add_note, batched=True),
    Operation("record_contact", OpKind.FACT, record_contact, batched=True),
    Operation("arrive_on_site", OpKind.FACT, arrive_on_site, batched=True),
    Operation("attach_photo", OpKind.FACT, attach_photo),
    Operation("accept_case", OpKind.CHANGE, accept_case, batched=True),
    Operation("complete_task", OpKind.CHANGE, complete_task, batched=True),
    Operation("request_return", OpKind.CHANGE, request_return, batched=True),
    Operation("request_extension", OpKind.CHANGE, request_extension, batched=True),
    Operation("check_in", OpKind.FACT, staff_operations.check_in),
    Operation("check_out", OpKind.FACT, staff_operations.check_out),
    Operation("upload_track", OpKind.FACT, staff_operations.upload_track),
    Operation("whistle_arrival", OpKind.FACT, whistle_operations.whistle_arrival),
    Operation("whistle_action", OpKind.FACT, whistle_operations.whistle_action),
    Operation("whistle_rating", OpKind.CHANGE, whistle_operations.whistle_rating),
    Operation("whistle_unjustified", OpKind.CHANGE, whistle_operations.whistle_unjustified),
)}


def operation_named(name: str) -> Operation:
    operation = OPERATIONS.get(name)
    if operation is None:
        raise UnknownOperation(_("This app version sent an operation the server does not "
                                 "know ('{name}'); update the app.").format(name=name))
    return operation
