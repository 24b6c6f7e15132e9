"""What changed on a case while a phone was offline, and what that means for its operations.

Pure rules, no database: the case's timeline comes in as plain entries. The policy (the
conflict table of docs/sync.md):

- The worker is judged as of when they acted (``acted_at``, see ``sync.clocks``). A *fact*
  (a note, a contact with the resident, an arrival, a photo) recorded while the case was
  theirs is accepted even if the case has moved on since, and flagged with what changed.
- A *state change* (accept, complete, request a return or an extension) must still make
  sense now; if the case moved on it is rejected with a code that says what happened.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from server.cases.rules import HANDLER_ROLES, TRANSITIONS, Action, CaseStatus
from server.org.rules import Role


@dataclass(frozen=True)
class TimelineEntry:
    """One case event, as much of it as the rules need."""

    seq: int
    at: datetime
    action: str
    to_status: CaseStatus | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class CaseState:
    status: CaseStatus
    lead_unit_id: uuid.UUID | None
    returned: bool = False  # the lead unit was cleared by an approved return


def state_at(timeline: Iterable[TimelineEntry], at: datetime) -> CaseState | None:
    """The case's status and lead unit at ``at`` (server time), or None before it existed.

    Replays the timeline: every event carries the status after it; dispatches name the new
    lead unit; an approved return clears it.
    """
    state: CaseState | None = None
    for entry in sorted(timeline, key=lambda e: e.seq):
        if entry.at > at:
            continue
        status = entry.to_status or (state.status if state else CaseStatus.RECEIVED)
        lead = state.lead_unit_id if state else None
        returned = state.returned if state else False
        if entry.action == Action.DISPATCH.value and entry.data.get("lead_unit_id"):
            lead, returned = uuid.UUID(str(entry.data["lead_unit_id"])), False
        elif entry.action == Action.APPROVE_RETURN.value:
            lead, returned = None, True
        state = CaseState(status, lead, returned)
    return state


def ever_led(timeline: Iterable[TimelineEntry], unit_path: str) -> bool:
    """Whether a dispatch ever named the actor's unit (or a unit above it) to lead the case."""
    return any(leads(uuid.UUID(str(e.data["lead_unit_id"])), unit_path) for e in timeline
               if e.action == Action.DISPATCH.value and e.data.get("lead_unit_id"))


def leads(lead_unit_id: uuid.UUID | None, unit_path: str) -> bool:
    """The actor's unit is the lead unit or under it (``Party.LEAD`` in ``rules.refusal``)."""
    return lead_unit_id is not None and f"/{lead_unit_id.hex}/" in unit_path


def entitled(state: CaseState | None, action: Action, *, unit_path: str,
             roles: frozenset[Role]) -> bool:
    """Whether a handler could have done ``action`` on a case in ``state``."""
    return (state is not None and state.status in TRANSITIONS[action].sources
            and leads(state.lead_unit_id, unit_path) and not roles.isdisjoint(HANDLER_ROLES))


class Moved(StrEnum):
    """How a case moved away from a worker while they were offline."""

    CLOSED = "closed"
    RETURNED = "returned"  # the dispatcher approved a return: no lead unit now
    REASSIGNED = "reassigned"  # re-dispatched to another unit
    COMPLETED = "completed"  # reported done (by a colleague, or by an earlier operation)
    ESCALATED = "escalated"
    HANDED_DOWN = "handed_down"
    RETURN_REQUESTED = "return_requested"
    NOT_ACCEPTED = "not_accepted"  # (re-)dispatched to the worker's unit, not accepted yet


_BY_STATUS = {
    CaseStatus.COMPLETED: Moved.COMPLETED,
    CaseStatus.ESCALATED: Moved.ESCALATED,
    CaseStatus.HANDED_DOWN: Moved.HANDED_DOWN,
    CaseStatus.RETURN_REQUESTED: Moved.RETURN_REQUESTED,
    CaseStatus.DISPATCHED: Moved.NOT_ACCEPTED,
}


def moved(now: CaseState, *, unit_path: str) -> Moved | None:
    """Where the case stands now, seen from the worker's unit; None if it is still theirs
    to handle (accepted or in progress, led by their unit)."""
    if now.status is CaseStatus.CLOSED:
        return Moved.CLOSED
    if now.lead_unit_id is None:
        return Moved.RETURNED if now.returned else None
    if not leads(now.lead_unit_id, unit_path):
        return Moved.REASSIGNED
    return _BY_STATUS.get(now.status)


def rejection_code(how: Moved) -> str:
    return f"case_{how.value}"


def flag(how: Moved) -> str:
    return f"case_{how.value}_since"


# Short and plain: a grid worker reads this on a phone (English for now; see docs/sync.md).
_WHAT_HAPPENED = {
    Moved.CLOSED: "Case {number} has been closed.",
    Moved.RETURNED: "Case {number} was taken back by the dispatcher.",
    Moved.REASSIGNED: "Case {number} was sent to another unit.",
    Moved.COMPLETED: "Case {number} was already reported done.",
    Moved.ESCALATED: "Case {number} was passed up to the district.",
    Moved.HANDED_DOWN: "Case {number} was handed to the community for review.",
    Moved.RETURN_REQUESTED: "A return of case {number} is waiting for the dispatcher.",
    Moved.NOT_ACCEPTED: "Case {number} must be accepted first.",
}


def rejection_message(how: Moved, *, number: str, what: str) -> str:
    """E.g. 'Case 2026-0000012 has been closed. Your report of completion was not applied;
    your dispatcher can see it.'"""
    return (_WHAT_HAPPENED[how].format(number=number)
            + f" Your {what} was not applied; your dispatcher can see it.")
