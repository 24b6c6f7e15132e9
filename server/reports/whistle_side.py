"""双考评 from the whistle calls, for any period: departments answering calls, townships raising.

Departments: the calls whose judgement named them (lead or cooperating) in the period
(``judged_at``), whether and when they arrived against the arrival deadline, and how the
callers rated them (满意 / 基本满意 / 不满意). Townships: the calls they raised in the period
(``raised_at``; calls a department raised are not a township's), their outcome, and how the
departments judged them (a department marking a call unjustified).
Everything is judged as of the period's end (or now, for a running period): an arrival,
closing, rating or objection recorded after it does not change a closed period.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.rules import Satisfaction
from server.org.models import Unit
from server.reports.periods import Period
from server.reports.tables import Column, ColumnType, Table
from server.whistle import rules
from server.whistle.models import WhistleCall, WhistleDepartment
from server.whistle.rules import ArrivalState, DepartmentRole, WhistleStatus

INT, NUM, PCT = ColumnType.INTEGER, ColumnType.NUMBER, ColumnType.PERCENT


def _before(at: datetime | None, as_of: datetime) -> datetime | None:
    return at if at is not None and at < as_of else None


def _mean(values: list[float]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(str(sum(values))) / len(values)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _pct(n: int, d: int) -> Decimal | None:
    return (Decimal(n) * 100 / d).quantize(Decimal("0.01"), ROUND_HALF_UP) if d else None


def rating_levels(rated: list[Satisfaction]) -> dict[str, int | Decimal | None]:
    """Ratings per level and the 满意率: (满意 + w × 基本满意) / rated, w the whistle rules'
    weight (0.8, as in the case evaluation), exact, half-up to 2 decimals."""
    counts = {level.value: sum(r is level for r in rated) for level in Satisfaction}
    rate = None
    if rated:
        weight = Decimal(str(rules.BASICALLY_SATISFIED_WEIGHT))
        exact = (counts["satisfied"] + weight * counts["basically_satisfied"]) * 100 / len(rated)
        rate = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {**counts, "satisfaction_rate": rate}


def _units(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Unit]:
    return {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(ids)))} \
        if ids else {}


def department_side(session: Session, *, district_id: uuid.UUID, period: Period,
                    now: datetime) -> Table:
    """Per department named on calls of the district judged in the period."""
    as_of = min(now, period.end_utc)
    rows = session.execute(
        sa.select(WhistleDepartment, WhistleCall.judged_at, WhistleCall.arrival_due_at,
                  WhistleCall.closed_at)
        .join(WhistleCall, WhistleCall.id == WhistleDepartment.call_id)
        .where(WhistleCall.district_id == district_id, WhistleDepartment.role.is_not(None),
               WhistleCall.judged_at >= period.start_utc, WhistleCall.judged_at < period.end_utc,
               WhistleCall.status.in_([WhistleStatus.ACCEPTED, WhistleStatus.CLOSED]))).all()
    stats: dict[uuid.UUID, dict] = defaultdict(lambda: defaultdict(int))
    minutes: dict[uuid.UUID, list[float]] = defaultdict(list)
    ratings: dict[uuid.UUID, list[Satisfaction]] = defaultdict(list)
    for d, judged_at, due_at, closed_at in rows:
        s = stats[d.unit_id]
        arrived = _before(d.first_arrival_at, as_of)
        state = rules.arrival_state(first_arrival_at=arrived, due_at=due_at, now=as_of,
                                    closed=_before(closed_at, as_of) is not None)
        s["named"] += 1
        s["lead"] += d.role is DepartmentRole.LEAD
        s["answered"] += arrived is not None
        s[state.value] += 1
        if (m := rules.response_minutes(judged_at, arrived)) is not None:
            minutes[d.unit_id].append(m)
        if _before(d.rated_at, as_of) is not None:
            ratings[d.unit_id].append(d.rating_satisfaction)
        s["unjustified"] += _before(d.unjustified_at, as_of) is not None
    units = _units(session, set(stats))
    out = []
    for unit_id, s in stats.items():
        rated = ratings[unit_id]
        out.append({
            "department_code": units[unit_id].code, "department_name": units[unit_id].name,
            "named": s["named"], "lead": s["lead"], "answered": s["answered"],
            "on_time": s[ArrivalState.ON_TIME.value], "late": s[ArrivalState.LATE.value],
            "absent": s[ArrivalState.ABSENT.value], "pending": s[ArrivalState.PENDING.value],
            "on_time_rate": _pct(s[ArrivalState.ON_TIME.value],
                                 s["named"] - s[ArrivalState.PENDING.value]),
            "mean_response_minutes": _mean(minutes[unit_id]),
            "ratings": len(rated), **rating_levels(rated), "unjustified": s["unjustified"]})
    out.sort(key=lambda r: r["department_code"])
    return Table(
        name=f"whistle-departments-{period.label.replace('/', '_')}",
        title=f"{period.label} 吹哨报到 部门考评",
        columns=[Column("department_code", "部门编码"), Column("department_name", "部门"),
                 Column("named", "被点名次数", INT), Column("lead", "主责次数", INT),
                 Column("answered", "报到次数", INT), Column("on_time", "按时报到", INT),
                 Column("late", "迟到", INT), Column("absent", "未报到", INT),
                 Column("pending", "待报到", INT), Column("on_time_rate", "按时报到率", PCT),
                 Column("mean_response_minutes", "平均响应(分钟)", NUM),
                 Column("ratings", "评价次数", INT), Column("satisfied", "满意", INT),
                 Column("basically_satisfied", "基本满意", INT),
                 Column("dissatisfied", "不满意", INT), Column("satisfaction_rate", "满意率", PCT),
                 Column("unjustified", "认为不合理的吹哨", INT)],
        rows=out,
        notes=["按研判(点名)时间计入期间;报到、评价、异议以期末(或当前)为准;"
               "按时报到率 = 按时报到 ÷ (被点名 − 待报到)。"])


def township_side(session: Session, *, district_id: uuid.UUID, period: Period,
                  now: datetime) -> Table:
    """Per township of the district: the calls it raised in the period and their outcome."""
    as_of = min(now, period.end_utc)
    calls = session.execute(
        sa.select(WhistleCall.id, WhistleCall.township_id, WhistleCall.status,
                  WhistleCall.judged_at, WhistleCall.closed_at, WhistleCall.completion_due_at)
        .where(WhistleCall.district_id == district_id,
               WhistleCall.raised_by_department_id.is_(None),
               WhistleCall.raised_at >= period.start_utc,
               WhistleCall.raised_at < period.end_utc)).all()
    objections = {call_id for call_id, at in session.execute(
        sa.select(WhistleDepartment.call_id, WhistleDepartment.unjustified_at)
        .where(WhistleDepartment.call_id.in_([c.id for c in calls]),
               WhistleDepartment.unjustified_at.is_not(None))) if at < as_of}
    stats: dict[uuid.UUID, dict] = defaultdict(lambda: defaultdict(int))
    for c in calls:
        s = stats[c.township_id]
        judged = _before(c.judged_at, as_of) is not None
        closed_at = _before(c.closed_at, as_of)
        s["raised"] += 1
        s["rejected"] += judged and c.status is WhistleStatus.REJECTED
        s["accepted"] += judged and c.status is not WhistleStatus.REJECTED
        s["closed"] += closed_at is not None
        s["closed_on_time"] += bool(rules.closed_on_time(closed_at, c.completion_due_at))
        s["marked_unjustified"] += c.id in objections
    units = _units(session, set(stats))
    out = [{"township_code": units[t].code, "township_name": units[t].name,
            **{k: s[k] for k in ("raised", "accepted", "rejected", "closed", "closed_on_time",
                                 "marked_unjustified")},
            "justified_rate": _pct(s["accepted"] - s["marked_unjustified"], s["raised"])}
           for t, s in stats.items()]
    out.sort(key=lambda r: r["township_code"])
    return Table(
        name=f"whistle-townships-{period.label.replace('/', '_')}",
        title=f"{period.label} 吹哨报到 街乡考评",
        columns=[Column("township_code", "街乡编码"), Column("township_name", "街乡"),
                 Column("raised", "吹哨次数", INT), Column("accepted", "受理", INT),
                 Column("rejected", "驳回", INT), Column("closed", "办结", INT),
                 Column("closed_on_time", "按期办结", INT),
                 Column("marked_unjustified", "被部门认为不合理", INT),
                 Column("justified_rate", "吹哨合理率", PCT)],
        rows=out,
        notes=["按吹哨时间计入期间;研判、办结、部门异议以期末(或当前)为准;"
               "吹哨合理率 = (受理 − 被部门认为不合理) ÷ 吹哨次数。"])
