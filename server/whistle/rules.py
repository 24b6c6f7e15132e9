"""Whistle calls (吹哨报到 / 乡呼县应), pure: kinds, states, who may do what, timeliness.

A township (its command centre, or a grid leader) meets a problem it can see but cannot fix
and blows the whistle. The district or township command centre judges the call: it names a
lead department, cooperating departments, an on-site arrival deadline and a completion
deadline (清单式联合执法, Yicheng), or rejects it with a reason. Each named department
reports on site (报到): its first arrival near the place is its response time. Departments
record joint action, the caller closes the call, and both sides are evaluated (双考评): the
caller rates each department 满意 / 基本满意 / 不满意, a department may mark the call
unjustified. A department may raise a call too (Yicheng: "由镇街或部门提出申请").
Xining's words: 吹哨 → 响应 → 处置 → 协助督促.

No database, no Flask; the services store what these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from server.org.rules import Role


class WhistleKind(StrEnum):
    """Yicheng's three kinds of 诉求 a township may call the departments for."""

    ENFORCEMENT = "enforcement"  # 执法诉求: joint enforcement
    DEVELOPMENT = "development"  # 发展诉求: an enterprise's or project's need
    LIVELIHOOD = "livelihood"  # 民生诉求: residents' livelihood


class WhistleStatus(StrEnum):
    RAISED = "raised"  # 吹哨: waiting for the command centre's judgement
    ACCEPTED = "accepted"  # judged: departments named, deadlines running
    REJECTED = "rejected"  # judged: refused, with a reason (final)
    CLOSED = "closed"  # the caller closed it (final; ratings still possible)


OPEN_STATUSES = frozenset({WhistleStatus.RAISED, WhistleStatus.ACCEPTED})
FINAL_STATUSES = frozenset({WhistleStatus.REJECTED, WhistleStatus.CLOSED})


class DepartmentRole(StrEnum):
    LEAD = "lead"  # 主责部门
    COOPERATING = "cooperating"  # 配合部门


class Party(StrEnum):
    """Whose move an action is, relative to the call (the service checks standing)."""

    CALLER = "caller"  # whoever raised it, or a dispatcher of its township
    JUDGE = "judge"  # a dispatcher of its township or district (the command centres)
    DEPARTMENT = "department"  # staff or handlers of a department named on the call


class Action(StrEnum):
    RAISE = "raise"
    ACCEPT = "accept"
    REJECT = "reject"
    ARRIVE = "arrive"  # 报到: a department's staff member checks in on site
    ACT = "act"  # a joint-action record: what was done, photos, result
    CLOSE = "close"
    RATE = "rate"  # the caller rates one department (满意 / 基本满意 / 不满意)
    MARK_UNJUSTIFIED = "mark_unjustified"  # a department says the call was not justified


@dataclass(frozen=True)
class Transition:
    sources: frozenset[WhistleStatus]
    target: WhistleStatus | None  # None: the status does not change
    by: Party


S = WhistleStatus
TRANSITIONS: dict[Action, Transition] = {
    Action.ACCEPT: Transition(frozenset({S.RAISED}), S.ACCEPTED, Party.JUDGE),
    Action.REJECT: Transition(frozenset({S.RAISED}), S.REJECTED, Party.JUDGE),
    Action.ARRIVE: Transition(frozenset({S.ACCEPTED}), None, Party.DEPARTMENT),
    Action.ACT: Transition(frozenset({S.ACCEPTED}), None, Party.DEPARTMENT),
    Action.CLOSE: Transition(frozenset({S.ACCEPTED}), S.CLOSED, Party.CALLER),
    Action.RATE: Transition(frozenset({S.CLOSED}), None, Party.CALLER),
    Action.MARK_UNJUSTIFIED: Transition(frozenset({S.ACCEPTED, S.CLOSED}), None,
                                        Party.DEPARTMENT),
}

# Who may raise for a township: its command centre, or a grid leader (Xining's 网格长 calls up).
TOWNSHIP_RAISE_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.GRID_LEADER})
# Who may raise for a department (Yicheng: "由镇街或部门提出申请"): its handlers at the desk and
# its staff posted to grids (驻格/巡格), who meet on site what another department must fix.
DEPARTMENT_RAISE_ROLES = frozenset({Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_STAFF})
RAISE_ROLES = TOWNSHIP_RAISE_ROLES | DEPARTMENT_RAISE_ROLES
# Who may judge: the township's or the district's command centre.
JUDGE_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER, Role.DISTRICT_DISPATCHER})
# Who acts for a department.
DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_STAFF, Role.DEPARTMENT_HANDLER})
# Besides the raiser, who may close and rate: the township's command centre for any call on
# its ground, and a department's handlers for the calls their department raised.
CALLER_ROLES = frozenset({Role.TOWNSHIP_DISPATCHER})
DEPARTMENT_CALLER_ROLES = frozenset({Role.DEPARTMENT_HANDLER})

# 双考评's rating of a department uses the seeds' scale, the one residents use in case
# callbacks (Yicheng: "满意、基本满意、不满意"点评反馈). In the satisfaction rate a 基本满意
# counts 0.8 of a 满意: the default the case evaluation uses too (docs/whistle.md).
BASICALLY_SATISFIED_WEIGHT = 0.8


def allowed_actions(status: WhistleStatus) -> list[Action]:
    return [a for a, t in TRANSITIONS.items() if status in t.sources]


def transition_problem(action: Action, status: WhistleStatus) -> str | None:
    """Why ``action`` is not possible from ``status``, or None."""
    rule = TRANSITIONS[action]
    if status in rule.sources:
        return None
    return f"Cannot {action.value.replace('_', ' ')} a whistle call that is {status.value}."


# --- judging ---------------------------------------------------------------------------------


def judgement_problem(*, lead: object, cooperating: list[object], arrival_due_at: datetime,
                      completion_due_at: datetime, now: datetime) -> tuple[str, str] | None:
    """(field, message) of the first problem with a judgement's list (清单), or None."""
    if arrival_due_at.tzinfo is None or completion_due_at.tzinfo is None:
        raise ValueError("deadlines must be aware datetimes")
    if lead in cooperating:
        return ("cooperating_department_ids",
                "The lead department cannot also be a cooperating department.")
    if len(set(cooperating)) != len(cooperating):
        return ("cooperating_department_ids", "A department is named twice.")
    if arrival_due_at <= now:
        return ("arrival_due_at", "The arrival deadline must be in the future.")
    if completion_due_at < arrival_due_at:
        return ("completion_due_at", "The completion deadline cannot come before the arrival "
                                     "deadline.")
    return None


def serves_township(department_parent_path: str, township_path: str) -> bool:
    """A department may be called to a township under the unit it hangs off (a district's
    departments serve the district's townships; a city's serve all; a township's its own)."""
    return township_path.startswith(department_parent_path)


# --- arrival (报到) --------------------------------------------------------------------------


def arrival_tolerance_m(radius_m: float, accuracy_m: float | None, accuracy_cap_m: float) -> float:
    """How far from the place an arrival may be: the radius, plus the fix's reported accuracy
    (a fix of ±30 m 200 m away may really be 170 m away), the accuracy counted at most up to
    ``accuracy_cap_m`` so a useless fix (±2 km) cannot make anywhere "near"."""
    extra = 0.0 if accuracy_m is None else min(max(accuracy_m, 0.0), accuracy_cap_m)
    return radius_m + extra


def is_near(distance_m: float, radius_m: float, accuracy_m: float | None,
            accuracy_cap_m: float) -> bool:
    """On site: at most the tolerance away (on the edge counts as on site)."""
    return distance_m <= arrival_tolerance_m(radius_m, accuracy_m, accuracy_cap_m)


class ArrivalState(StrEnum):
    """A named department's standing on a call, as shown in its view and report."""

    PENDING = "pending"  # not yet arrived; the arrival deadline has not passed
    ON_TIME = "on_time"  # first arrival on site by the deadline
    LATE = "late"  # first arrival on site after the deadline
    ABSENT = "absent"  # no arrival on site and the deadline has passed (or the call closed)


def arrival_state(*, first_arrival_at: datetime | None, due_at: datetime | None,
                  now: datetime, closed: bool = False) -> ArrivalState:
    """Met exactly at the due time is on time; a call closed without the department arriving
    leaves it absent even if the deadline had not yet passed."""
    if first_arrival_at is not None:
        if due_at is None or first_arrival_at <= due_at:
            return ArrivalState.ON_TIME
        return ArrivalState.LATE
    if closed or (due_at is not None and now > due_at):
        return ArrivalState.ABSENT
    return ArrivalState.PENDING


def response_minutes(accepted_at: datetime | None,
                     first_arrival_at: datetime | None) -> float | None:
    """The department's response time: from the judgement (when it was called) to its first
    arrival on site, in minutes (one decimal)."""
    if accepted_at is None or first_arrival_at is None:
        return None
    return round((first_arrival_at - accepted_at).total_seconds() / 60.0, 1)


def is_overdue(*, status: WhistleStatus, completion_due_at: datetime | None, now: datetime,
               absent_departments: int = 0) -> bool:
    """Still open after its completion deadline, or with a named department absent after the
    arrival deadline."""
    if status is not WhistleStatus.ACCEPTED:
        return False
    return absent_departments > 0 or (completion_due_at is not None and now > completion_due_at)


def closed_on_time(closed_at: datetime | None, completion_due_at: datetime | None) -> bool | None:
    if closed_at is None or completion_due_at is None:
        return None
    return closed_at <= completion_due_at


def satisfaction_rate(satisfied: int, basically_satisfied: int, dissatisfied: int, *,
                      basic_weight: float = BASICALLY_SATISFIED_WEIGHT) -> float | None:
    """满意率 over the ratings given, in percent (two decimals): a 满意 counts 1, a 基本满意
    ``basic_weight``, a 不满意 0. None when nothing was rated: no rating is no rate, not 0."""
    rated = satisfied + basically_satisfied + dissatisfied
    if rated == 0:
        return None
    return round(100.0 * (satisfied + basic_weight * basically_satisfied) / rated, 2)
