"""Department staff in grids (驻格 / 巡格), pure: postings, check-in tolerance, compliance sums.

Xining's Chengzhong district posts department staff to grids, stationed (常驻, a weekly
schedule) or patrolling (定期下沉, so many visits per week or month); Yicheng asks grid
workers to spend at least 15 days a month in the field. Days are local (Asia/Shanghai).
"""

from __future__ import annotations

import math
from calendar import monthrange
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from server.core.clock import LOCAL_TZ
from server.org.rules import Role, Sight, Subject, roles_seeing


class PostingMode(StrEnum):
    STATIONED = "stationed"  # 驻格: present on scheduled days
    PATROLLING = "patrolling"  # 巡格: so many visits per grid per week or month


class VisitPeriod(StrEnum):
    WEEK = "week"
    MONTH = "month"


class CheckKind(StrEnum):
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"


class CheckVia(StrEnum):
    API = "api"
    SYNC = "sync"


OUTSIDE_GRID = "outside_grid"  # flag: farther from the grid than the tolerance
NO_POSTING = "no_posting"  # flag: a department staff member not posted to that grid that day

# Who may post staff: the department's own handlers (its dispatching desk) for their
# department's staff, district command centres for any department of their district, and
# township command centres to grids of their township. Admins everywhere.
MANAGE_POSTINGS = frozenset(
    {Role.ADMIN, Role.DISTRICT_DISPATCHER, Role.TOWNSHIP_DISPATCHER, Role.DEPARTMENT_HANDLER}
)
# Who works in the field and so checks in and uploads tracks.
FIELD_ROLES = frozenset({Role.DEPARTMENT_STAFF, Role.GRID_WORKER, Role.GRID_LEADER})
# Who reads whereabouts (command centres), others' tracks and compliance: role-level gates
# from the need-to-know table (server/org/rules.py NEED_TO_KNOW; docs/scope.md); the
# objects shown are scoped by server/staff/queries.py from the same table.
READ_WHEREABOUTS = roles_seeing(Subject.WHEREABOUTS)
READ_TRACKS = roles_seeing(Subject.TRACKS, frozenset({Sight.NONE, Sight.SELF}))
READ_COMPLIANCE = roles_seeing(Subject.COMPLIANCE)


@dataclass(frozen=True)
class FieldLimits:
    """Settings of the field rules, passed in by the entry points (config.py)."""

    checkin_buffer_m: float = 30.0
    checkin_max_tolerance_m: float = 100.0
    fix_max_accuracy_m: float = 100.0
    fix_max_speed_mps: float = 50.0  # 180 km/h: faster than any vehicle on a city's roads
    visit_min_minutes: float = 10.0
    track_max_gap_s: float = 300.0
    field_days_min: int = 15
    fix_max_future_s: float = 300.0


def checkin_tolerance_m(accuracy_m: float | None, limits: FieldLimits) -> float:
    """The larger of the reported accuracy and the buffer, capped: a phone that says it is
    within 300 m cannot check in from 300 m away."""
    return min(max(accuracy_m or 0.0, limits.checkin_buffer_m), limits.checkin_max_tolerance_m)


def is_inside(distance_m: float, tolerance_m: float) -> bool:
    return distance_m <= tolerance_m


# --- schedules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A stationed posting's week: ISO weekdays (1 = Monday) and local hours."""

    weekdays: tuple[int, ...]
    start: time
    end: time

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not self.weekdays:
            found.append(("days", "Name at least one day."))
        if any(d < 1 or d > 7 for d in self.weekdays):
            found.append(("days", "Days are 1 (Monday) to 7 (Sunday)."))
        if self.start >= self.end:
            found.append(("end", "The end must be after the start."))
        return found


def parse_hhmm(text: str) -> time:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not HH:MM")
    return time(int(hours), int(minutes))


def parse_days(text: str) -> tuple[int, ...]:
    """'1-5', '1,3,5', '1;3;5' or '1-5,7' to sorted ISO weekdays."""
    days: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        lo, hi = int(first), int(last or first)
        if lo > hi:
            raise ValueError(f"{part!r} runs backwards")
        days.update(range(lo, hi + 1))
    return tuple(sorted(days))


# --- local days and periods --------------------------------------------------------------------


def local_date(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return start, start + timedelta(days=1)


def days(start: date, end: date) -> Iterator[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def period_key(day: date, period: VisitPeriod) -> date:
    """The first day of the ISO week (Monday) or month that ``day`` belongs to."""
    if period is VisitPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_length(key: date, period: VisitPeriod) -> int:
    return 7 if period is VisitPeriod.WEEK else monthrange(key.year, key.month)[1]


def overlap(
    a_start: date, a_end: date | None, b_start: date, b_end: date
) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end or b_end, b_end)
    return (start, end) if start <= end else None


def prorated(required: int, covered_days: int, period_days: int) -> int:
    """What a part of a period requires: a posting covering 10 days of a 30-day month with 6
    visits a month requires 2. Rounded up, so any part of a period asks at least one."""
    if covered_days <= 0 or required <= 0:
        return 0
    return math.ceil(required * covered_days / period_days - 1e-9)


@dataclass(frozen=True)
class PeriodTarget:
    key: date  # first day of the week or month
    covered_days: int
    required: int
    made: int

    @property
    def met(self) -> bool:
        return self.made >= self.required


def period_targets(
    covered: Iterable[date],
    period: VisitPeriod,
    required_per_period: int,
    made_by_day: dict[date, int],
) -> list[PeriodTarget]:
    """Per week or month touched by ``covered`` days: the prorated requirement and the count
    made on those days."""
    by_key: dict[date, list[date]] = {}
    for day in covered:
        by_key.setdefault(period_key(day, period), []).append(day)
    return [
        PeriodTarget(
            key,
            len(ds),
            prorated(required_per_period, len(ds), period_length(key, period)),
            sum(made_by_day.get(d, 0) for d in ds),
        )
        for key, ds in sorted(by_key.items())
    ]


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- the tracks of many people at once (GET /tracks: the console's map layer) --------------

MAX_TRACK_PEOPLE = 100  # people per request
MAX_TRACK_WINDOW_S = 24 * 3600  # one day: the map shows today's tracks
MAX_TRACK_FIXES = 100_000  # raw fixes read, counted before they are loaded
