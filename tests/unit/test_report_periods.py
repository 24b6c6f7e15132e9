"""Evaluation periods are Beijing-time days, ISO weeks, months and ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.reports.periods import BadPeriod, PeriodKind, containing, month, parse


def test_a_month_starts_and_ends_at_beijing_midnight():
    november = parse("month", "2026-11")
    assert november.start_utc == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert november.end_utc == datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_a_rating_late_on_the_last_evening_belongs_to_that_month_not_the_utc_one():
    late_evening = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
    assert parse("month", "2026-11").contains(late_evening)
    assert not parse("month", "2026-12").contains(late_evening)
    midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert containing(PeriodKind.MONTH, midnight).label == "2026-12"


@pytest.mark.parametrize(
    ("kind", "text", "previous"),
    [("month", "2026-01", "2025-12"), ("month", "2026-03", "2026-02"),
     ("week", "2026-W01", "2025-W52"), ("day", "2026-03-01", "2026-02-28"),
     ("range", "2026-11-01/2026-11-15", "2026-10-17/2026-10-31")],
)
def test_the_previous_period_is_the_one_just_before(kind, text, previous):
    assert parse(kind, text).previous().label == previous


@pytest.mark.parametrize(
    ("kind", "text"),
    [("month", "2026-13"), ("month", "2026-1"), ("week", "2026-W54"), ("day", "2026-02-30"),
     ("range", "2026-11-15/2026-11-01"), ("range", "2025-01-01/2026-12-31")],
)
def test_a_bad_period_says_what_was_expected(kind, text):
    with pytest.raises(BadPeriod):
        parse(kind, text)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)),
       st.sampled_from([PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH]))
def test_periods_tile_time_and_labels_round_trip(on, kind):
    period = containing(kind, datetime(on.year, on.month, on.day, 4, tzinfo=UTC))
    assert parse(kind, period.label) == period
    assert period.previous().end_utc == period.start_utc
    assert period.next().start_utc == period.end_utc
    assert period.previous().next() == period


def test_month_lengths():
    assert month(2028, 2).days == 29
    assert month(2026, 12).last == date(2026, 12, 31)
