"""server/staff/rules.py: check-in tolerance, schedules, prorated targets (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from server.staff.rules import (
    FieldLimits,
    Schedule,
    VisitPeriod,
    checkin_tolerance_m,
    local_date,
    parse_days,
    parse_hhmm,
    period_targets,
    prorated,
)

LIMITS = FieldLimits(checkin_buffer_m=30, checkin_max_tolerance_m=100)


@pytest.mark.parametrize(
    ("accuracy", "tolerance"), [(None, 30), (5, 30), (20, 30), (45, 45), (100, 100), (500, 100)]
)
def test_tolerance_is_the_larger_of_accuracy_and_buffer_capped(accuracy, tolerance):
    assert checkin_tolerance_m(accuracy, LIMITS) == tolerance


def test_days_and_hours_parse():
    assert parse_days("1-5") == (1, 2, 3, 4, 5)
    assert parse_days("1;3,7") == (1, 3, 7)
    assert parse_hhmm("08:30") == time(8, 30)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm("8h30")


def test_schedule_problems():
    assert Schedule((1, 2), time(9), time(17)).problems() == []
    assert [f for f, _ in Schedule((), time(17), time(9)).problems()] == ["days", "end"]


def test_local_day_is_beijings():
    assert local_date(datetime(2026, 11, 24, 16, 30, tzinfo=UTC)) == date(2026, 11, 25)


def test_prorated_requirements_round_up():
    assert prorated(6, 10, 30) == 2
    assert prorated(1, 2, 7) == 1
    assert prorated(15, 30, 30) == 15
    assert prorated(15, 7, 30) == 4
    assert prorated(3, 0, 7) == 0


def test_period_targets_split_by_iso_week():
    days = [date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]  # Sat, Sun, Mon
    targets = period_targets(days, VisitPeriod.WEEK, 7, {date(2026, 11, 30): 3})
    assert [(t.key, t.covered_days, t.required, t.made, t.met) for t in targets] == [
        (date(2026, 11, 23), 2, 2, 0, False),
        (date(2026, 11, 30), 1, 1, 3, True),
    ]
