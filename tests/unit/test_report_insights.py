"""Pure counting rules of unit statistics, hotspots, 每月一题 and the whistle side: exact
arithmetic, half-up rounding, phases of a tracked problem's months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from server.cases.rules import Satisfaction
from server.reports.hotspots import change_percent
from server.reports.periods import month
from server.reports.tracked import AFTER, BEFORE, START, MonthCount, phase_of, trend_of
from server.reports.unit_stats import per_10k, percent
from server.reports.whistle_side import rating_levels

S, B, D = Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED


def test_change_percent_is_exact_and_rounds_half_up():
    assert change_percent(3, 1) == Decimal("200.00")
    assert change_percent(1, 2) == Decimal("-50.00")
    assert change_percent(2, 3) == Decimal("-33.33")
    assert change_percent(33, 32) == Decimal("3.13")  # 3.125: half-up, not to even
    assert change_percent(1, 0) is None  # new this period: no percentage


def test_return_rate_and_per_10k_residents():
    assert percent(1, 8) == Decimal("12.50")
    assert percent(0, 0) is None
    assert per_10k(8, 50_000) == Decimal("1.60")
    assert per_10k(1, 30_000) == Decimal("0.33")
    assert per_10k(1, 80_000) == Decimal("0.13")  # 0.125 half-up
    assert per_10k(5, None) is None
    assert per_10k(5, 0) is None  # no residents recorded: refused, never a division by zero


def test_a_tracked_problems_months_are_before_the_start_month_or_after():
    november = month(2026, 11)
    assert phase_of(month(2026, 10), date(2026, 11, 1)) == BEFORE
    assert phase_of(november, date(2026, 11, 1)) == AFTER  # starting on the 1st: all after
    assert phase_of(november, date(2026, 11, 15)) == START  # mid-month: neither
    assert phase_of(month(2026, 12), date(2026, 11, 15)) == AFTER


def test_trend_means_use_full_months_only():
    months = [MonthCount(month(2026, 9), BEFORE, 6, False),
              MonthCount(month(2026, 10), BEFORE, 3, False),
              MonthCount(month(2026, 11), START, 9, False),
              MonthCount(month(2026, 12), AFTER, 2, False),
              MonthCount(month(2027, 1), AFTER, 1, True)]
    trend = trend_of(months)
    # before (6 + 3) / 2 = 4.5; after: December only (January is not over) = 2: -55.56 %.
    assert (trend.mean_before, trend.mean_after, trend.change_percent) == (
        Decimal("4.50"), Decimal("2.00"), Decimal("-55.56"))
    none_before = trend_of([MonthCount(month(2026, 10), BEFORE, 0, False),
                            MonthCount(month(2026, 11), AFTER, 4, False)])
    assert none_before.change_percent is None  # from nothing: no percentage


def test_whistle_satisfaction_rate_weights_basically_satisfied_at_0_8():
    assert rating_levels([S, B])["satisfaction_rate"] == Decimal("90.00")
    assert rating_levels([S, B, D]) == {"satisfied": 1, "basically_satisfied": 1, "dissatisfied": 1,
                                  "satisfaction_rate": Decimal("60.00")}
    assert rating_levels([B, B, D])["satisfaction_rate"] == Decimal("53.33")
    assert rating_levels([])["satisfaction_rate"] is None
