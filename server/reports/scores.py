"""The 三率 and the composite for any evaluated unit and period, rankings of a district's
townships and departments, and the monthly trend (issue 9 items 1 and 3).

Counting rules: docs/evaluation.md. Each figure comes from ``facts`` (one GROUP BY per
figure over the period's rows) rolled up in Python with ``scoring.rollup``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.core.errors import NotFound
from server.org.models import Unit
from server.org.rules import UnitKind
from server.reports import facts
from server.reports.access import RankingKind, Target, load_target
from server.reports.explain import Explanation, explain, explanation_table
from server.reports.periods import Period, PeriodKind, containing, month
from server.reports.scoring import (
    Counts,
    EvaluationSettings,
    Rates,
    percent,
    rank,
    rank_change,
    rates,
    rollup,
    score,
)
from server.reports.settings import settings_for
from server.reports.tables import Chart, Column, ColumnType, Table

__all__ = ["Explanation", "Ranking", "RankingRow", "UnitScores", "explain", "explanation_table",
           "monthly_trend", "ranking", "ranking_table", "unit_scores", "unit_scores_table"]


@dataclass(frozen=True)
class UnitScores:
    target: Target
    period: Period
    settings: EvaluationSettings
    counts: Counts
    rates: Rates

    @property
    def percents(self) -> dict[str, Decimal | None]:
        return {"response_rate": percent(self.rates.response),
                "resolution_rate": percent(self.rates.resolution),
                "satisfaction_rate": percent(self.rates.satisfaction),
                "composite": score(self.rates.composite)}


def unit_scores(session: Session, *, unit_id: uuid.UUID, period: Period,
                settings: EvaluationSettings | None = None,
                as_of: datetime | None = None) -> UnitScores:
    """The 三率 and composite of one unit (district, township, community, department with its
    outposts) or grid. ``as_of`` (the request's now) leaves out response limits still running;
    for a closed period it changes nothing."""
    target = load_target(session, unit_id)
    if target is None:
        raise NotFound("No such unit.", code="unit_not_found")
    settings = settings or settings_for(session, district_id=target.district_id, period=period)
    counts = facts.target_counts(session, target, period, as_of=as_of)
    return UnitScores(target, period, settings, counts, rates(counts, settings))


SCORE_COLUMNS = [
    Column("code", "单位编码"),
    Column("name", "单位"),
    Column("period", "考核期"),
    Column("rated", "考核件", ColumnType.INTEGER),
    Column("resolved", "解决", ColumnType.INTEGER),
    Column("satisfied", "满意", ColumnType.INTEGER),
    Column("basically_satisfied", "基本满意", ColumnType.INTEGER),
    Column("dissatisfied", "不满意", ColumnType.INTEGER),
    Column("rehandled", "二次办理件", ColumnType.INTEGER),
    Column("response_due", "应响应", ColumnType.INTEGER),
    Column("response_met", "按时响应", ColumnType.INTEGER),
    Column("response_rate", "响应率", ColumnType.PERCENT),
    Column("resolution_rate", "解决率", ColumnType.PERCENT),
    Column("satisfaction_rate", "满意率", ColumnType.PERCENT),
    Column("composite", "综合成绩", ColumnType.NUMBER),
]


def unit_scores_table(result: UnitScores) -> Table:
    """One unit's figures and the counts behind them, as one row."""
    c, s, t = result.counts, result.settings, result.target
    row = {"code": t.code, "name": t.name, "period": result.period.label, "rated": c.rated,
           "resolved": c.resolved, "satisfied": c.satisfied,
           "basically_satisfied": c.basically_satisfied, "dissatisfied": c.dissatisfied,
           "rehandled": c.rehandled, "response_due": c.response_due,
           "response_met": c.response_met, **result.percents}
    return Table(
        name=f"scores-{t.code}-{result.period.label.replace('/', '_')}",
        title=f"{t.name} {result.period.label} 三率", columns=SCORE_COLUMNS, rows=[row],
        notes=[f"综合成绩 = 响应率×{s.response_weight}% + 解决率×{s.resolution_weight}% + "
               f"满意率×{s.satisfaction_weight}%; 基本满意按 {s.basic_weight} 计。",
               "剔除件、关联重复件不计; 二次办理件按最后一次回访计。"])


@dataclass(frozen=True)
class RankingRow:
    unit_id: uuid.UUID
    code: str
    name: str
    counts: Counts
    rates: Rates
    composite: Decimal | None
    rank: int | None
    flagged: bool
    previous_rank: int | None
    rank_change: int | None


@dataclass(frozen=True)
class Ranking:
    district_id: uuid.UUID
    district_name: str
    kind: RankingKind
    period: Period
    settings: EvaluationSettings
    rows: list[RankingRow] = field(default_factory=list)

    @property
    def bottom_n(self) -> int:
        return (self.settings.bottom_townships if self.kind is RankingKind.TOWNSHIP
                else self.settings.bottom_departments)

    @property
    def flagged(self) -> list[RankingRow]:
        return [r for r in self.rows if r.flagged]


def _ranked_units(session: Session, district: Unit, kind: RankingKind) -> list[Unit]:
    unit_kind = UnitKind.TOWNSHIP if kind is RankingKind.TOWNSHIP else UnitKind.DEPARTMENT
    return list(session.scalars(
        sa.select(Unit).where(Unit.parent_id == district.id, Unit.kind == unit_kind)
        .order_by(Unit.code)))


def _period_placings(session: Session, district: Unit, units: list[Unit], period: Period,
                     settings: EvaluationSettings, bottom_n: int, as_of: datetime | None):
    owners = rollup(facts.district_nodes(session, district.id), district.id)
    by_lead = facts.counts_by_unit(session, period, as_of=as_of, lead_unit_ids=owners.keys())
    wanted = {u.id for u in units}
    sums: dict[uuid.UUID, Counts] = {u.id: Counts() for u in units}
    for lead, counts in by_lead.items():
        for target_id in owners.get(lead, ()):
            if target_id in wanted:
                sums[target_id] = sums[target_id] + counts
    unit_rates = {uid: rates(c, settings) for uid, c in sums.items()}
    scores = [(uid, score(r.composite)) for uid, r in unit_rates.items()]
    return sums, unit_rates, rank(scores, bottom_n)


def ranking(session: Session, *, district_id: uuid.UUID, kind: RankingKind | str,
            period: Period, settings: EvaluationSettings | None = None,
            as_of: datetime | None = None) -> Ranking:
    """The district's townships or departments ranked by composite, with the rank change
    against the previous period (judged by its own settings) and the bottom N flagged."""
    kind = RankingKind(kind)
    district = session.get(Unit, district_id)
    if district is None or district.kind is not UnitKind.DISTRICT:
        raise NotFound("No such district.", code="district_not_found")
    settings = settings or settings_for(session, district_id=district.id, period=period)
    units = _ranked_units(session, district, kind)
    result = Ranking(district.id, district.name, kind, period, settings)
    sums, unit_rates, placings = _period_placings(session, district, units, period, settings,
                                                  result.bottom_n, as_of)
    previous = period.previous()
    prev_settings = settings_for(session, district_id=district.id, period=previous)
    _, _, prev_placings = _period_placings(session, district, units, previous, prev_settings,
                                           0, as_of)
    for unit in units:
        placing, before = placings[unit.id], prev_placings[unit.id].rank
        result.rows.append(RankingRow(
            unit.id, unit.code, unit.name, sums[unit.id], unit_rates[unit.id],
            score(unit_rates[unit.id].composite), placing.rank, placing.flagged, before,
            rank_change(before, placing.rank)))
    result.rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))
    return result


RANKING_COLUMNS = [
    Column("rank", "排名", ColumnType.INTEGER),
    Column("code", "单位编码"),
    Column("name", "单位"),
    Column("rated", "考核件", ColumnType.INTEGER),
    Column("response_rate", "响应率", ColumnType.PERCENT),
    Column("resolution_rate", "解决率", ColumnType.PERCENT),
    Column("satisfaction_rate", "满意率", ColumnType.PERCENT),
    Column("composite", "综合成绩", ColumnType.NUMBER),
    Column("previous_rank", "上期排名", ColumnType.INTEGER),
    Column("rank_change", "名次变化", ColumnType.INTEGER),
    Column("flagged", "约谈", ColumnType.BOOLEAN),
]


def ranking_table(ranking: Ranking) -> Table:
    kind = "街乡" if ranking.kind is RankingKind.TOWNSHIP else "部门"
    rows = [{"rank": r.rank, "code": r.code, "name": r.name, "rated": r.counts.rated,
             "response_rate": percent(r.rates.response),
             "resolution_rate": percent(r.rates.resolution),
             "satisfaction_rate": percent(r.rates.satisfaction), "composite": r.composite,
             "previous_rank": r.previous_rank, "rank_change": r.rank_change,
             "flagged": r.flagged} for r in ranking.rows]
    s = ranking.settings
    return Table(
        name=f"{ranking.kind.value}-ranking-{ranking.period.label.replace('/', '_')}",
        title=f"{ranking.district_name} {ranking.period.label} {kind}排名",
        columns=RANKING_COLUMNS, rows=rows,
        notes=[f"综合成绩 = 响应率×{s.response_weight}% + 解决率×{s.resolution_weight}% + "
               f"满意率×{s.satisfaction_weight}%; 基本满意按 {s.basic_weight} 计。",
               f"并列同分同名次; 末 {ranking.bottom_n} 名标记约谈 (并列者一并标记)。",
               "无考核件的单位不排名。"])


TREND_COLUMNS = [
    Column("period", "月份"),
    Column("rated", "考核件", ColumnType.INTEGER),
    Column("response_due", "应响应", ColumnType.INTEGER),
    Column("response_rate", "响应率", ColumnType.PERCENT),
    Column("resolution_rate", "解决率", ColumnType.PERCENT),
    Column("satisfaction_rate", "满意率", ColumnType.PERCENT),
    Column("composite", "综合成绩", ColumnType.NUMBER),
]


def monthly_trend(session: Session, *, unit_id: uuid.UUID, last: Period | datetime,
                  months: int = 12, as_of: datetime | None = None) -> Table:
    """One row per month, ending with ``last`` (a month, or the month containing an instant),
    each month judged by the settings in force then; a line chart of the four figures."""
    if isinstance(last, datetime):
        last = containing(PeriodKind.MONTH, last)
    elif last.kind is not PeriodKind.MONTH:
        last = month(last.last.year, last.last.month)
    periods = [last]
    while len(periods) < months:
        periods.insert(0, periods[0].previous())
    rows = []
    for period in periods:
        s = unit_scores(session, unit_id=unit_id, period=period, as_of=as_of)
        rows.append({"period": period.label, "rated": s.counts.rated,
                     "response_due": s.counts.response_due, **s.percents})
    target = load_target(session, unit_id)
    assert target is not None  # unit_scores raised otherwise
    return Table(
        name=f"trend-{target.code}-{last.label}", title=f"{target.name} 月度三率走势",
        columns=TREND_COLUMNS, rows=rows,
        chart=Chart(title=f"{target.name} 三率与综合成绩", category="period",
                    series=("response_rate", "resolution_rate", "satisfaction_rate",
                            "composite")),
        notes=["每月按当月有效的考评设置计算; 无考核件的月份为空。"])
