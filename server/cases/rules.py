"""The case's vocabulary and its state machine: who may do what, from which state, to which.

Sources: Beijing's 接诉即办 regulation and Pinggu's practice (seeds 000-002, 004): first
receiver responsibility (city-direct orders to a township are not returnable), returns with
or without fault, escalation to the district (上交), hand-down for group review (下交群评),
callback with 双是 (resolved and satisfied), re-handling otherwise (二次办理).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from server.org.rules import Role


class Channel(StrEnum):
    CITY_DIRECT = "city_direct"  # 12345 市级直派: sent straight to a township
    DISTRICT_FORWARD = "district_forward"  # 12345 区级转派
    INTERNET = "internet"
    PATROL = "patrol"  # a grid worker's own finding (主动发现)
    DEPARTMENT = "department"
    WHISTLE = "whistle"  # raised by a whistle call


class AppealType(StrEnum):
    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class CaseStatus(StrEnum):
    RECEIVED = "received"  # in a dispatcher's queue (triage if auto-dispatch found no rule)
    DISPATCHED = "dispatched"  # sent to a lead unit, not yet acknowledged
    ACCEPTED = "accepted"  # 签收
    IN_PROGRESS = "in_progress"
    RETURN_REQUESTED = "return_requested"  # 退单申请, awaiting the dispatcher
    ESCALATED = "escalated"  # 上交: with the district for coordination
    HANDED_DOWN = "handed_down"  # 下交群评: with the community for residents' review
    COMPLETED = "completed"  # 报结, awaiting callback
    CLOSED = "closed"


OPEN_STATUSES = frozenset(CaseStatus) - {CaseStatus.CLOSED}
# A deadline only runs while the lead unit holds the case.
HANDLING_STATUSES = frozenset({CaseStatus.DISPATCHED, CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS})


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意


def is_double_yes(resolved: bool, satisfaction: Satisfaction) -> bool:
    """双是: resolved, and satisfied. Basically satisfied counts as satisfied in Beijing's
    satisfaction rate, but a 双是 needs the resident's full yes on both questions."""
    return resolved and satisfaction is Satisfaction.SATISFIED


class RatingSource(StrEnum):
    """Who recorded a callback (回访): our supervising level, or the city 12345 platform."""

    SUPERVISOR = "supervisor"
    CITY_PLATFORM = "city_platform"


class RatingChannel(StrEnum):
    """How the resident was reached for a rating the city platform reports."""

    PHONE = "phone"
    SMS = "sms"
    APP = "app"
    WEB = "web"


class ReviewOutcome(StrEnum):
    """下交群评: what the community's review came to (Pinggu: about 77% resolved)."""

    MEDIATED = "mediated"  # mediated and settled
    WITHDRAWN = "withdrawn"  # the resident withdrew the appeal
    UNRESOLVED = "unresolved"


class Party(StrEnum):
    """Whose move a transition is, relative to the case (checked by the service)."""

    DISPATCHER = "dispatcher"  # a dispatcher whose territory holds the case
    DISTRICT = "district"  # a district dispatcher of the case's district
    LEAD = "lead"  # someone of the lead unit (or a unit under it)


DISPATCHER_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.DISTRICT_DISPATCHER})
HANDLER_ROLES = frozenset(
    {Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_STAFF, Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER,
     Role.GRID_WORKER}
)


class Action(StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    CONTACT = "contact"  # 响应: contacted the resident
    NOTE = "note"
    COMPLETE = "complete"  # 报结
    REQUEST_RETURN = "request_return"
    APPROVE_RETURN = "approve_return"
    REFUSE_RETURN = "refuse_return"
    ESCALATE = "escalate"
    HAND_DOWN = "hand_down"
    RECORD_REVIEW = "record_review"
    CALLBACK = "callback"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    REQUEST_EXEMPTION = "request_exemption"
    DECIDE_EXEMPTION = "decide_exemption"
    LINK = "link"  # to a master case (nearby duplicate)
    ARRIVE = "arrive"  # 到场: a handler of the lead unit is on site (GPS point recorded)


@dataclass(frozen=True)
class Transition:
    sources: frozenset[CaseStatus]
    target: CaseStatus | None  # None: the status does not change
    by: Party


S = CaseStatus
TRANSITIONS: dict[Action, Transition] = {
    # Dispatch from the queue, re-dispatch while handled, or the district after escalation.
    Action.DISPATCH: Transition(
        frozenset({S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.ESCALATED}),
        S.DISPATCHED,
        Party.DISPATCHER,
    ),
    Action.ACCEPT: Transition(frozenset({S.DISPATCHED}), S.ACCEPTED, Party.LEAD),
    Action.CONTACT: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS, Party.LEAD),
    Action.NOTE: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), None, Party.LEAD),
    Action.COMPLETE: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.COMPLETED, Party.LEAD),
    Action.REQUEST_RETURN: Transition(
        frozenset({S.DISPATCHED, S.ACCEPTED}), S.RETURN_REQUESTED, Party.LEAD
    ),
    Action.APPROVE_RETURN: Transition(
        frozenset({S.RETURN_REQUESTED}), S.RECEIVED, Party.DISPATCHER
    ),
    # Refusing puts the case back where it was; the service restores the previous status.
    Action.REFUSE_RETURN: Transition(frozenset({S.RETURN_REQUESTED}), None, Party.DISPATCHER),
    Action.ESCALATE: Transition(
        frozenset({S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}),
        S.ESCALATED,
        Party.DISPATCHER,
    ),
    Action.HAND_DOWN: Transition(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.HANDED_DOWN, Party.DISPATCHER
    ),
    Action.RECORD_REVIEW: Transition(frozenset({S.HANDED_DOWN}), S.CLOSED, Party.DISPATCHER),
    # Callback: 双是 closes; anything else sends it back to the lead unit (the service decides).
    Action.CALLBACK: Transition(frozenset({S.COMPLETED}), S.CLOSED, Party.DISPATCHER),
    Action.REQUEST_EXTENSION: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), None, Party.LEAD),
    Action.DECIDE_EXTENSION: Transition(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}), None, Party.DISPATCHER
    ),
    Action.REQUEST_EXEMPTION: Transition(frozenset(CaseStatus), None, Party.LEAD),
    Action.DECIDE_EXEMPTION: Transition(frozenset(CaseStatus), None, Party.DISPATCHER),
    Action.LINK: Transition(frozenset(OPEN_STATUSES), None, Party.DISPATCHER),
    Action.ARRIVE: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS, Party.LEAD),
}

# Only the district may re-dispatch an escalated case.
DISTRICT_ONLY_SOURCES = {Action.DISPATCH: frozenset({S.ESCALATED})}


def allowed_actions(status: CaseStatus) -> list[Action]:
    return [a for a, t in TRANSITIONS.items() if status in t.sources]


def returnable(channel: Channel, lead_is_township: bool, item_returnable: bool) -> str | None:
    """Why a return may not even be requested, or None (首接负责、首单负责).

    A city-direct order sent to a township is in principle not returnable (Beijing's
    regulation: the first receiver handles it to the end); catalogue items may also forbid
    returns.
    """
    if channel is Channel.CITY_DIRECT and lead_is_township:
        return ("A city-direct order sent to a township cannot be returned: the first receiver "
                "handles it to the end.")
    if not item_returnable:
        return "The dispatch catalogue does not allow returns for this kind of case."
    return None


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧***: keep the surname's first character."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234; short numbers keep only their last two digits."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(1, len(digits) - 2) + digits[-2:]


class PersonalDataView(StrEnum):
    SHOWN = "shown"
    MASKED = "masked"
    HIDDEN = "hidden"


def personal_data_view(
    *, confidential: bool, is_receiving_dispatcher: bool, is_dispatcher_in_scope: bool,
    is_lead_handler: bool,
) -> PersonalDataView:
    """The regulation's privacy duty: dispatchers and the lead unit's handlers see the
    resident's name and phone; others see them masked; a confidential case shows them to
    the receiving dispatcher only."""
    if confidential:
        return PersonalDataView.SHOWN if is_receiving_dispatcher else PersonalDataView.HIDDEN
    if is_dispatcher_in_scope or is_lead_handler:
        return PersonalDataView.SHOWN
    return PersonalDataView.MASKED


# Limits when neither the catalogue nor the dispatcher says otherwise (Xining: seven days).
DEFAULT_RESPONSE_LIMIT = timedelta(hours=24)
DEFAULT_COMPLETION_LIMIT = timedelta(days=7)
# Urgent appeals must be answered within two hours (Beijing's rule for urgent calls).
URGENT_RESPONSE_LIMIT = timedelta(hours=2)
