"""Reminder nodes of a time limit (Xining's four supervision nodes), and business calendars."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.core.errors import Invalid
from server.core.i18n import use_locale
from server.supervision.rules import (
    DEFAULT_REMINDER_FRACTIONS,
    ELAPSED_TIME,
    OVERDUE,
    BusinessCalendar,
    DeadlineKind,
    fractions_problem,
    nodes_to_arm,
    reminder_audience,
    reminder_message,
    reminder_schedule,
)

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BEIJING = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def test_a_24_hour_limit_has_nodes_at_12_18_and_21_6_hours_then_due_and_overdue():
    assert reminder_schedule(START, START + 24 * H) == [
        ("50%", START + 12 * H),
        ("75%", START + 18 * H),
        ("90%", START + timedelta(hours=21, minutes=36)),
        ("100%", START + 24 * H),
        (OVERDUE, START + 24 * H),
    ]


def test_a_seven_day_limit_with_a_grace_period_escalates_after_the_grace():
    due = START + timedelta(days=7)
    schedule = reminder_schedule(START, due, overdue_grace=timedelta(hours=2))
    assert schedule == [
        ("50%", START + timedelta(days=3, hours=12)),
        ("75%", START + timedelta(days=5, hours=6)),
        ("90%", START + timedelta(days=6, hours=7, minutes=12)),
        ("100%", due),
        (OVERDUE, due + timedelta(hours=2)),
    ]


def test_custom_fractions_name_their_nodes_and_need_not_end_at_100_percent():
    schedule = reminder_schedule(START, START + 3 * H, (1 / 3, 0.8))
    assert [node for node, _ in schedule] == ["33.3333%", "80%", OVERDUE]
    assert schedule[0][1] == START + H
    assert schedule[1][1] == START + timedelta(hours=2, minutes=24)


@pytest.mark.parametrize(
    ("fractions", "reason"),
    [
        ((), "at least one"),
        ((0.5, 0.5), "increasing"),
        ((0.75, 0.5), "increasing"),
        ((0, 0.5), "above 0"),
        ((0.5, 1.2), "at most 1"),
        ((-0.1,), "above 0"),
        (("half",), "numbers"),
        ((True,), "numbers"),
        (tuple(i / 20 for i in range(1, 13)), "at most 10"),
        ((0.3333331, 0.3333332), "tell apart"),
    ],
)
def test_invalid_fractions_are_refused_with_a_reason(fractions, reason):
    assert reason in fractions_problem(fractions)
    with pytest.raises(Invalid) as caught:
        reminder_schedule(START, START + H, fractions)
    assert caught.value.code == "reminder_fractions_invalid"
    assert "fractions" in caught.value.errors["json"]


def test_a_limit_that_ends_before_it_starts_is_refused():
    with pytest.raises(Invalid) as caught:
        reminder_schedule(START, START)
    assert caught.value.code == "deadline_window_invalid"
    with pytest.raises(Invalid):
        reminder_schedule(START, START + H, overdue_grace=-H)
    with pytest.raises(ValueError, match="aware"):
        reminder_schedule(START.replace(tzinfo=None), START.replace(tzinfo=None) + H)


class OfficeHoursCalendar:
    """Counts only 09:00-17:00 (in ``tz``) every day: enough to show the protocol places nodes
    in working time. A real one would also skip weekends and holidays from a table."""

    name = "office_hours"
    OPEN, CLOSE = 9, 17

    def __init__(self, tz: ZoneInfo = BEIJING) -> None:
        self.tz = tz

    def _worked(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        day = start.astimezone(self.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        while day < end:
            lo = max(start, day.replace(hour=self.OPEN))
            hi = min(end, day.replace(hour=self.CLOSE))
            total += max(hi - lo, timedelta(0))
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, limit: timedelta) -> datetime:
        at, left = start.astimezone(self.tz), limit
        while True:
            opens = at.replace(hour=self.OPEN, minute=0, second=0, microsecond=0)
            closes = at.replace(hour=self.CLOSE, minute=0, second=0, microsecond=0)
            at = max(at, opens)
            if at < closes and left <= closes - at:
                return (at + left).astimezone(UTC)
            left -= max(closes - at, timedelta(0))
            at = opens + timedelta(days=1)

    def elapsed_fraction(self, start: datetime, due: datetime, at: datetime) -> float:
        return self._worked(start, at) / self._worked(start, due)

    def time_at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime:
        return self.add(start, self._worked(start, due) * fraction)


def test_a_working_hours_calendar_places_nodes_in_working_time():
    calendar: BusinessCalendar = OfficeHoursCalendar()
    # 16:00 Beijing (08:00 UTC) with 16 working hours: 1 h that day, 8 h the next, 7 h the
    # day after -> 16:00 Beijing two days on.
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    due = calendar.add(start, timedelta(hours=16))
    assert due == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    schedule = dict(reminder_schedule(start, due, calendar=calendar,
                                      overdue_grace=timedelta(hours=2)))
    # 50% = 8 working hours: 1 h on the first day, 7 h the next -> 16:00 Beijing next day.
    assert schedule["50%"] == datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert calendar.elapsed_fraction(start, due, schedule["75%"]) == pytest.approx(0.75)
    assert schedule["100%"] == due
    # Two working hours of grace after 16:00 run into the next morning, 10:00 Beijing.
    assert schedule[OVERDUE] == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_elapsed_time_calendar_counts_every_second():
    due = ELAPSED_TIME.add(START, 24 * H)
    assert due == START + 24 * H
    assert ELAPSED_TIME.elapsed_fraction(START, due, START + 6 * H) == 0.25
    assert ELAPSED_TIME.elapsed_fraction(START, due, START + 30 * H) == 1.25


@given(
    limit_s=st.integers(min_value=1, max_value=60 * 86400),
    grace_s=st.integers(min_value=0, max_value=86400),
)
def test_nodes_are_in_order_within_the_limit_and_the_last_is_overdue(limit_s, grace_s):
    due = START + timedelta(seconds=limit_s)
    schedule = reminder_schedule(START, due, overdue_grace=timedelta(seconds=grace_s))
    times = [at for _, at in schedule]
    assert times == sorted(times)
    assert all(START < at <= due for at in times[:-1])
    assert schedule[-1] == (OVERDUE, due + timedelta(seconds=grace_s))
    assert [n for n, _ in schedule[:-1]] == ["50%", "75%", "90%", "100%"]
    assert len(DEFAULT_REMINDER_FRACTIONS) == 4


def test_nodes_already_due_collapse_into_the_latest_and_sent_ones_are_skipped():
    schedule = reminder_schedule(START, START + 24 * H)
    at_20h = START + 20 * H  # 50% and 75% are past
    assert [n for n, _ in nodes_to_arm(schedule, already_sent=frozenset(), now=at_20h)] == [
        "75%", "90%", "100%", OVERDUE]
    assert [n for n, _ in nodes_to_arm(schedule, already_sent=frozenset({"50%", "75%"}),
                                       now=START + 19 * H)] == ["90%", "100%", OVERDUE]
    assert nodes_to_arm(schedule, already_sent=frozenset(), now=START) == schedule


def test_overdue_reaches_the_supervising_unit_as_well():
    unit, supervisor = uuid.uuid4(), uuid.uuid4()
    assert reminder_audience("90%", unit, supervisor) == (unit,)
    assert reminder_audience("100%", unit, supervisor) == (unit,)
    assert reminder_audience(OVERDUE, unit, supervisor) == (unit, supervisor)
    assert reminder_audience(OVERDUE, unit, None) == (unit,)
    assert reminder_audience(OVERDUE, unit, unit) == (unit,)


def test_messages_give_the_due_time_in_beijing_time():
    due = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    kw = {"label": "2026-000123 Noise", "kind": DeadlineKind.COMPLETION, "due_at": due,
          "tz": ZoneInfo("Asia/Shanghai")}
    title, body = reminder_message("75%", **kw)
    assert title == "时限已用 75%：2026-000123 Noise"  # Chinese by default (GRID_LOCALE)
    assert body == "办结时限于 2026-11-24 16:00 届满。"
    with use_locale("en"):  # the code's own catalogue
        title, body = reminder_message("75%", **kw)
    assert title == "75% of the time limit used: 2026-000123 Noise"
    assert body == "The completion time limit ends at 2026-11-24 16:00."
    assert reminder_message("100%", **kw)[0] == "时限已到：2026-000123 Noise"
    assert reminder_message(OVERDUE, **kw)[0] == "已超时：2026-000123 Noise"
