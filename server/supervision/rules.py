"""Deadline arithmetic: reminder nodes at fractions of a time limit, business calendars, audiences.

Pure Python: no database, no Flask. Services store what these functions compute.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol

from server.core.errors import Invalid

# Xining's four supervision nodes (四个时间节点): half, three quarters and nine tenths of the
# limit, and the moment it runs out. The overdue escalation comes after the last one.
DEFAULT_REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0)
OVERDUE = "overdue"
MAX_REMINDER_NODES = 10  # more than this is a typo in a catalogue, not a supervision policy

REMINDER_KIND = "deadline_reminder"
OVERDUE_KIND = "deadline_overdue"


class DeadlineKind(StrEnum):
    RESPONSE = "response"  # 响应: sign for the order, contact the resident
    COMPLETION = "completion"  # 办结: report the work completed
    ARRIVAL = "arrival"  # 报到: a department reports on site for a whistle call
    REVIEW = "review"  # 下交群评: the community reviews a case handed down to it


class DeadlineStatus(StrEnum):
    ACTIVE = "active"  # running; the overdue escalation has not fired
    MET = "met"  # closed on time (met_at <= due_at)
    MISSED = "missed"  # the overdue escalation fired, or it was closed late
    CANCELLED = "cancelled"  # no longer relevant (e.g. the case was re-dispatched)


class ReminderState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"


class BusinessCalendar(Protocol):
    """How time counts against a limit. Deadlines store the calendar's ``name``.

    ``ElapsedTimeCalendar`` counts every second. A working-hours calendar (Mon-Fri 9-17,
    statutory holidays from a table) implements the same three methods; ``time_at_fraction``
    is the inverse of ``elapsed_fraction`` and is what places the reminder nodes.
    """

    name: str

    def add(self, start: datetime, limit: timedelta) -> datetime:
        """The moment ``limit`` of countable time after ``start``: the due time."""
        ...

    def elapsed_fraction(self, start: datetime, due: datetime, at: datetime) -> float:
        """Share of the countable time from ``start`` to ``due`` used by ``at`` (may be > 1)."""
        ...

    def time_at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime:
        """The moment ``fraction`` of the countable time from ``start`` to ``due`` is used."""
        ...


class ElapsedTimeCalendar:
    """Plain elapsed time, nights and holidays included: how 12345 limits count today."""

    name = "elapsed"

    def add(self, start: datetime, limit: timedelta) -> datetime:
        return start + limit

    def elapsed_fraction(self, start: datetime, due: datetime, at: datetime) -> float:
        return (at - start) / (due - start)

    def time_at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime:
        return start + (due - start) * fraction


ELAPSED_TIME = ElapsedTimeCalendar()


def node_label(fraction: float) -> str:
    """'50%', '75%', '33.3%': the name a reminder node has in data and in messages."""
    return f"{fraction * 100:g}%"


def fractions_problem(fractions: Sequence[float]) -> str | None:
    """Why ``fractions`` cannot place reminder nodes, or None."""
    values = list(fractions)
    if not values:
        return "needs at least one fraction"
    if len(values) > MAX_REMINDER_NODES:
        return f"allows at most {MAX_REMINDER_NODES} fractions"
    if any(isinstance(f, bool) or not isinstance(f, int | float) for f in values):
        return "must be numbers"
    if any(not 0 < f <= 1 for f in values):
        return "must each be above 0 and at most 1 (1 = when the limit runs out)"
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        return "must be in increasing order without repeats"
    if len({node_label(f) for f in values}) != len(values):
        return "are too close together to tell apart"
    return None


def check_fractions(fractions: Sequence[float]) -> tuple[float, ...]:
    problem = fractions_problem(fractions)
    if problem:
        raise Invalid.for_field(
            "fractions", f"Reminder fractions {problem}.", code="reminder_fractions_invalid"
        )
    return tuple(float(f) for f in fractions)


def _check_window(starts_at: datetime, due_at: datetime) -> None:
    if starts_at.tzinfo is None or due_at.tzinfo is None:
        raise ValueError("deadline times must be aware datetimes")
    if due_at <= starts_at:
        raise Invalid.for_field(
            "due_at", "A time limit must end after it starts.", code="deadline_window_invalid"
        )


def reminder_schedule(
    starts_at: datetime,
    due_at: datetime,
    fractions: Sequence[float] = DEFAULT_REMINDER_FRACTIONS,
    *,
    overdue_grace: timedelta = timedelta(0),
    calendar: BusinessCalendar = ELAPSED_TIME,
) -> list[tuple[str, datetime]]:
    """Reminder nodes in time order: one per fraction, then the overdue escalation.

    The 100% node is ``due_at`` exactly (no float rounding); the overdue node comes
    ``overdue_grace`` of countable time after it. Nodes may coincide on very short limits.
    """
    _check_window(starts_at, due_at)
    if overdue_grace < timedelta(0):
        raise Invalid.for_field(
            "overdue_grace", "The grace period cannot be negative.", code="overdue_grace_invalid"
        )
    nodes = [
        (node_label(f), due_at if f == 1 else calendar.time_at_fraction(starts_at, due_at, f))
        for f in check_fractions(fractions)
    ]
    nodes.append((OVERDUE, calendar.add(due_at, overdue_grace)))
    return nodes


def nodes_to_arm(
    schedule: Sequence[tuple[str, datetime]], *, already_sent: frozenset[str], now: datetime
) -> list[tuple[str, datetime]]:
    """Which nodes of a schedule to create as pending reminders.

    Nodes already sent are not sent again (an extension moves only what is still to come).
    Of the nodes already due at ``now`` (a deadline opened late, a long extension approved
    late) only the last is kept: one reminder saying where things stand, not a burst of
    stale ones. It fires on the next scheduler run.
    """
    todo = [(node, at) for node, at in schedule if node not in already_sent]
    due_now = [item for item in todo if item[1] <= now]
    later = [item for item in todo if item[1] > now]
    return due_now[-1:] + later


def is_on_time(met_at: datetime, due_at: datetime) -> bool:
    """Met exactly at the due time still counts as on time."""
    return met_at <= due_at


def reminder_audience(
    node: str, unit_id: uuid.UUID, supervisor_unit_id: uuid.UUID | None
) -> tuple[uuid.UUID, ...]:
    """Units whose inbox a node reaches: the responsible unit for every node; the overdue
    escalation also reaches the supervising unit (督办: the dispatcher who set the limit)."""
    if node == OVERDUE and supervisor_unit_id is not None and supervisor_unit_id != unit_id:
        return (unit_id, supervisor_unit_id)
    return (unit_id,)


def reminder_message(
    node: str, *, label: str, kind: DeadlineKind, due_at: datetime, tz: tzinfo
) -> tuple[str, str]:
    """Title and body of a reminder. Clients also get the node and times as data."""
    local_due = due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if node == OVERDUE:
        return (f"Overdue: {label}",
                f"The {kind.value} time limit ended at {local_due}; the supervising unit "
                "has been told.")
    if node == node_label(1.0):
        return (f"Time limit reached: {label}",
                f"The {kind.value} time limit ends now ({local_due}).")
    return (f"{node} of the time limit used: {label}",
            f"The {kind.value} time limit ends at {local_due}.")
