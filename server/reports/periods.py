"""Evaluation periods in Beijing time: a day, an ISO week, a month, or a range of days.

Rankings are monthly, weekly and daily in Beijing time (Jiuxianqiao: 日监控排名、周调度分析、
月总结通报), never UTC months: a case rated at 23:30 on 30 November in Beijing belongs to
November even though it is 15:30 UTC. A period is a half-open interval of local days,
[first day 00:00, day after the last 00:00), turned into UTC only at the database boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from server.core.clock import LOCAL_TZ


class PeriodKind(StrEnum):
    DAY = "day"  # 2026-11-05
    WEEK = "week"  # 2026-W45 (ISO week, Monday first)
    MONTH = "month"  # 2026-11
    RANGE = "range"  # 2026-11-01/2026-11-15, both days included


class BadPeriod(ValueError):
    """The text does not name a period of its kind; the message says what was expected."""


_FORMATS = {
    PeriodKind.DAY: "YYYY-MM-DD",
    PeriodKind.WEEK: "YYYY-Www (ISO week)",
    PeriodKind.MONTH: "YYYY-MM",
    PeriodKind.RANGE: "YYYY-MM-DD/YYYY-MM-DD",
}
MAX_RANGE_DAYS = 366


@dataclass(frozen=True, order=True)
class Period:
    """Local days ``first`` … ``last`` inclusive; ``start_utc``/``end_utc`` half-open."""

    first: date
    last: date
    kind: PeriodKind = PeriodKind.RANGE

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise BadPeriod("A period ends on or after the day it starts.")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.first, time(0), LOCAL_TZ).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), LOCAL_TZ).astimezone(UTC)

    def contains(self, at: datetime) -> bool:
        return self.start_utc <= at < self.end_utc

    @property
    def label(self) -> str:
        """The period as it is written in the API and in reports (parse(kind, label) == self)."""
        if self.kind is PeriodKind.DAY:
            return self.first.isoformat()
        if self.kind is PeriodKind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.MONTH:
            return f"{self.first.year}-{self.first.month:02d}"
        return f"{self.first.isoformat()}/{self.last.isoformat()}"

    def previous(self) -> Period:
        """The period just before, of the same kind and length (for rank changes and trends).

        A month's previous is the calendar month before; a range's is the same number of days
        ending the day before it starts.
        """
        if self.kind is PeriodKind.MONTH:
            last = self.first - timedelta(days=1)
            return month(last.year, last.month)
        length = timedelta(days=self.days)
        return Period(self.first - length, self.last - length, self.kind)

    def next(self) -> Period:
        if self.kind is PeriodKind.MONTH:
            after = self.last + timedelta(days=1)
            return month(after.year, after.month)
        length = timedelta(days=self.days)
        return Period(self.first + length, self.last + length, self.kind)


def month(year: int, month_: int) -> Period:
    first = date(year, month_, 1)
    following = date(year + month_ // 12, month_ % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), PeriodKind.MONTH)


def iso_week(year: int, week: int) -> Period:
    first = date.fromisocalendar(year, week, 1)
    return Period(first, first + timedelta(days=6), PeriodKind.WEEK)


def day(on: date) -> Period:
    return Period(on, on, PeriodKind.DAY)


def containing(kind: PeriodKind, at: datetime) -> Period:
    """The day, week or month (Beijing time) that contains the instant ``at``."""
    local = at.astimezone(LOCAL_TZ).date()
    if kind is PeriodKind.DAY:
        return day(local)
    if kind is PeriodKind.WEEK:
        year, week, _ = local.isocalendar()
        return iso_week(year, week)
    if kind is PeriodKind.MONTH:
        return month(local.year, local.month)
    raise BadPeriod("A range has no natural period around an instant; give its days.")


def parse(kind: PeriodKind | str, text: str) -> Period:
    """``parse("month", "2026-11")``; raises BadPeriod with the expected format."""
    kind = PeriodKind(kind)
    text = text.strip()
    try:
        if kind is PeriodKind.DAY:
            return day(date.fromisoformat(_match(r"\d{4}-\d{2}-\d{2}", text)))
        if kind is PeriodKind.WEEK:
            year, week = _match(r"(\d{4})-W(\d{2})", text, groups=True)
            return iso_week(int(year), int(week))
        if kind is PeriodKind.MONTH:
            year, month_ = _match(r"(\d{4})-(\d{2})", text, groups=True)
            return month(int(year), int(month_))
        first, last = _match(r"(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})", text, groups=True)
        period = Period(date.fromisoformat(first), date.fromisoformat(last), PeriodKind.RANGE)
    except ValueError as exc:  # includes BadPeriod; date() rejects 2026-13, W54 and such
        raise BadPeriod(f"'{text}' is not a {kind.value}: write {_FORMATS[kind]}.") from exc
    if period.days > MAX_RANGE_DAYS:
        raise BadPeriod(f"A range covers at most {MAX_RANGE_DAYS} days.")
    return period


def _match(pattern: str, text: str, *, groups: bool = False):  # noqa: ANN202
    found = re.fullmatch(pattern, text)
    if found is None:
        raise ValueError(text)
    return found.groups() if groups else found.group(0)

