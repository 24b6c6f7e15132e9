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
    """Whose move a transition is, relative to the case (see ``refusal``)."""

    DISPATCHER = "dispatcher"  # a dispatcher whose territory holds the case
    LEAD = "lead"  # someone of the lead unit (or a unit under it) with a handling role
    SUPERVISOR = "supervisor"  # the supervising level: approvals and callbacks
    COMMUNITY = "community"  # the community a case was handed down to (下交群评)


class Barred(StrEnum):
    """Who may never make a decision, whatever their role: nobody grades their own work."""

    LEAD = "lead"  # the lead unit, or a unit under it
    REQUESTER = "requester"  # the person who asked for what is being decided


class Request(StrEnum):
    """What a lead unit may ask its supervisor for."""

    RETURN = "return"  # 退单
    EXTENSION = "extension"  # 延期
    EXEMPTION = "exemption"  # 剔除


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
    barred: frozenset[Barred] = frozenset()
    decides: Request | None = None  # the request this action decides on


S = CaseStatus
_NOT_OWN = frozenset({Barred.LEAD, Barred.REQUESTER})
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
        frozenset({S.RETURN_REQUESTED}), S.RECEIVED, Party.SUPERVISOR, _NOT_OWN, Request.RETURN
    ),
    # Refusing puts the case back where it was; the service restores the previous status.
    Action.REFUSE_RETURN: Transition(
        frozenset({S.RETURN_REQUESTED}), None, Party.SUPERVISOR, _NOT_OWN, Request.RETURN
    ),
    Action.ESCALATE: Transition(
        frozenset({S.RECEIVED, S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}),
        S.ESCALATED,
        Party.DISPATCHER,
    ),
    Action.HAND_DOWN: Transition(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.HANDED_DOWN, Party.DISPATCHER
    ),
    Action.RECORD_REVIEW: Transition(frozenset({S.HANDED_DOWN}), S.CLOSED, Party.COMMUNITY),
    # Callback: 双是 closes; anything else sends it back to the lead unit (the service decides).
    Action.CALLBACK: Transition(
        frozenset({S.COMPLETED}), S.CLOSED, Party.SUPERVISOR, frozenset({Barred.LEAD})
    ),
    Action.REQUEST_EXTENSION: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), None, Party.LEAD),
    Action.DECIDE_EXTENSION: Transition(
        frozenset({S.ACCEPTED, S.IN_PROGRESS}), None, Party.SUPERVISOR, _NOT_OWN,
        Request.EXTENSION
    ),
    Action.REQUEST_EXEMPTION: Transition(frozenset(CaseStatus), None, Party.LEAD),
    Action.DECIDE_EXEMPTION: Transition(
        frozenset(CaseStatus), None, Party.SUPERVISOR, _NOT_OWN, Request.EXEMPTION
    ),
    Action.LINK: Transition(frozenset(OPEN_STATUSES), None, Party.DISPATCHER),
    Action.ARRIVE: Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IN_PROGRESS, Party.LEAD),
}

# Only the district may re-dispatch an escalated case.
DISTRICT_ONLY_SOURCES = {Action.DISPATCH: frozenset({S.ESCALATED})}


@dataclass(frozen=True)
class Standing:
    """Plain facts about one caller and one case, gathered by the service for ``refusal``."""

    status: CaseStatus
    is_dispatcher: bool  # holds a township or district dispatcher role
    is_handler: bool  # holds a handling role (HANDLER_ROLES)
    in_territory: bool  # a dispatcher whose township or district holds the case
    is_district: bool  # a district dispatcher of the case's district
    in_lead: bool  # the caller's unit is the lead unit or under it
    in_supervisor: bool  # the caller's unit is the supervising unit or under it
    in_review_community: bool  # the caller's unit is the community reviewing the case
    own_requests: frozenset[Request] = frozenset()  # pending requests the caller made
    pending: frozenset[Request] = frozenset()  # requests waiting for a decision
    exemption_approved: bool = False
    not_returnable: str | None = None  # why a return may not be requested (``returnable``)


class RefusalKind(StrEnum):
    CONFLICT = "conflict"  # 409: not now, in this state
    FORBIDDEN = "forbidden"  # 403: not you


@dataclass(frozen=True)
class Refusal:
    kind: RefusalKind
    code: str
    message: str


_PHRASES = {Action.APPROVE_RETURN: "approve the return", Action.REFUSE_RETURN: "refuse the return",
            Action.DECIDE_EXTENSION: "decide on the extension",
            Action.DECIDE_EXEMPTION: "decide on the exemption",
            Action.CALLBACK: "record the callback"}


def _words(action: Action) -> str:
    return _PHRASES.get(action) or action.value.replace("_", " ")


def refusal(action: Action, who: Standing) -> Refusal | None:
    """Why this caller may not take this action on the case now, or None if they may.

    The one rule of who may do what: the service raises what it answers and the API offers
    exactly the actions it answers None for. Approvals and callbacks are made by the
    supervising level, never by the lead unit, a unit under it, or the person who asked.
    """
    rule = TRANSITIONS[action]
    if who.status not in rule.sources:
        return Refusal(RefusalKind.CONFLICT, "illegal_transition",
                       f"Cannot {_words(action)} a case that is {who.status.value}.")
    return _party_refusal(action, rule, who) or _state_refusal(action, who)


def _party_refusal(action: Action, rule: Transition, who: Standing) -> Refusal | None:
    forbidden = RefusalKind.FORBIDDEN
    if rule.by is Party.LEAD:
        if who.in_lead and who.is_handler:
            return None
        return Refusal(forbidden, "not_lead_unit",
                       f"Only the lead unit of the case may {_words(action)} it.")
    if rule.by is Party.COMMUNITY:
        if who.in_review_community and who.is_handler:
            return None
        return Refusal(forbidden, "not_reviewing_community",
                       "Only the community the case was handed down to records its review.")
    if not who.is_dispatcher:
        return Refusal(forbidden, "permission_denied",
                       f"Your role does not allow you to {_words(action)} cases; it needs a "
                       "township or district dispatcher.")
    if who.status in DISTRICT_ONLY_SOURCES.get(action, ()) and not who.is_district:
        return Refusal(forbidden, "district_only",
                       "Only the district may re-dispatch an escalated case.")
    if not who.in_territory:
        return Refusal(forbidden, "outside_territory", "This case is outside your territory.")
    if rule.by is Party.SUPERVISOR:
        return _supervisor_refusal(action, rule, who)
    return None


def _supervisor_refusal(action: Action, rule: Transition, who: Standing) -> Refusal | None:
    forbidden = RefusalKind.FORBIDDEN
    if Barred.LEAD in rule.barred and who.in_lead:
        return Refusal(forbidden, "lead_unit_decision",
                       f"Your unit leads this case, so it may not {_words(action)}: the "
                       "supervising level decides, never the unit that is judged.")
    if Barred.REQUESTER in rule.barred and rule.decides in who.own_requests:
        return Refusal(forbidden, "self_approval",
                       f"You asked for this {rule.decides.value}; someone else at the "
                       "supervising level must decide on it.")
    if not (who.in_supervisor or who.is_district):
        return Refusal(forbidden, "not_supervisor",
                       f"Only the unit that dispatched the case (or the district) may "
                       f"{_words(action)}.")
    return None


def _state_refusal(action: Action, who: Standing) -> Refusal | None:
    conflict = RefusalKind.CONFLICT
    if action is Action.REQUEST_RETURN and who.not_returnable:
        return Refusal(conflict, "case_not_returnable", who.not_returnable)
    asks = {Action.REQUEST_EXTENSION: Request.EXTENSION,
            Action.REQUEST_EXEMPTION: Request.EXEMPTION}
    if action in asks and asks[action] in who.pending:
        return Refusal(conflict, "illegal_transition",
                       f"An {asks[action].value} request is already waiting for a decision.")
    if action is Action.REQUEST_EXEMPTION and who.exemption_approved:
        return Refusal(conflict, "illegal_transition", "The case is already exempted.")
    decided = TRANSITIONS[action].decides
    if decided is not None and decided not in who.pending:
        return Refusal(conflict, "illegal_transition",
                       f"No {decided.value} request is waiting for a decision.")
    return None


def allowed_actions(who: Standing) -> list[Action]:
    """The actions this caller may take now: exactly those ``refusal`` lets through."""
    return [a for a in TRANSITIONS if refusal(a, who) is None]


class SupervisorLevel(StrEnum):
    DISPATCHER = "dispatcher"  # the unit of the dispatcher who sent it
    TOWNSHIP_CENTRE = "township_centre"  # the township's command centre
    DISTRICT_CENTRE = "district_centre"  # the district 12345 centre


def supervising_level(channel: Channel, *, automatic: bool, lead_is_township: bool,
                      dispatcher_under_lead: bool) -> SupervisorLevel:
    """Who supervises the lead unit after a dispatch, and so approves and calls back.

    12345 orders (city-direct, district-forward) are the district centre's even when the
    catalogue dispatched them; a case led by the township that would otherwise supervise it
    goes up to the district; otherwise the township centre (automatic) or the dispatcher.
    """
    if automatic and channel in (Channel.CITY_DIRECT, Channel.DISTRICT_FORWARD):
        return SupervisorLevel.DISTRICT_CENTRE
    if automatic:
        return SupervisorLevel.DISTRICT_CENTRE if lead_is_township else (
            SupervisorLevel.TOWNSHIP_CENTRE)
    return SupervisorLevel.DISTRICT_CENTRE if dispatcher_under_lead else (
        SupervisorLevel.DISPATCHER)


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


def first_receiver_refusal(not_returnable: str | None, *, dispatcher_in_lead: bool,
                           same_lead: bool) -> Refusal | None:
    """首接负责: a lead that may not return a case may not hand it on by re-dispatch either.

    Seed 002: "不把责任一味推到基层". Re-dispatching a case it may not return to another lead
    (a community under it, a department, another township) would be a return without the
    supervisor's approval. It may still re-dispatch to itself with cooperating units (its
    communities among them); its supervisor may re-dispatch the case anywhere.
    """
    if not_returnable and dispatcher_in_lead and not same_lead:
        return Refusal(RefusalKind.CONFLICT, "first_receiver_keeps_case",
                       "首接负责: the first receiver handles this case to the end and may not "
                       "re-dispatch it to another lead unit; name cooperating units instead, "
                       "or ask the supervising level. " + not_returnable)
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
# Seed 003: urgent appeals are resolved within two hours; GRID_URGENT_COMPLETION_HOURS.
URGENT_COMPLETION_LIMIT = timedelta(hours=2)
# 下交群评: a residents' meeting must be called and held; the seeds name no limit, so two
# weeks and a day (two weekends); GRID_HAND_DOWN_REVIEW_DAYS.
DEFAULT_REVIEW_LIMIT = timedelta(days=15)
