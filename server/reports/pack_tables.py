"""The tables of a district's monthly pack (月度通报材料), in the order they are read.

Each section calls the function the API answers with (``scores``, ``unit_stats``,
``hotspots``, ``whistle_side``, ``tracked``), so a figure in the pack is the figure on the
screen. Everything is judged as of the period's end: the pack of a closed month can be written
again later and says the same. Read side only; the files are written by ``server.report_pack``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.org.models import Unit
from server.org.rules import UnitKind
from server.reports import hotspots, scores, tracked, unit_stats, whistle_side
from server.reports.access import RankingKind, load_target
from server.reports.periods import Period
from server.reports.tables import Column, ColumnType, Table
from server.reports.tracked_models import TrackedProblem

Section = Callable[[Session, Unit, Period, datetime], Iterator[Table]]
INT, PCT, NUM = ColumnType.INTEGER, ColumnType.PERCENT, ColumnType.NUMBER

SCORE_COLUMNS = [
    Column("code", "单位编码"), Column("name", "单位"), Column("kind", "层级"),
    Column("rated", "考核件", INT), Column("resolved", "解决", INT),
    Column("satisfied", "满意", INT), Column("basically_satisfied", "基本满意", INT),
    Column("dissatisfied", "不满意", INT), Column("rehandled", "二次办理件", INT),
    Column("response_due", "应响应", INT), Column("response_met", "按时响应", INT),
    Column("response_rate", "响应率", PCT), Column("resolution_rate", "解决率", PCT),
    Column("satisfaction_rate", "满意率", PCT), Column("composite", "综合成绩", NUM),
]
KIND_TITLES = {UnitKind.TOWNSHIP: "街乡", UnitKind.COMMUNITY: "社区",
               UnitKind.DEPARTMENT: "部门", UnitKind.DISTRICT: "区"}


def _children(session: Session, parent: Unit, kind: UnitKind) -> list[Unit]:
    return list(session.scalars(sa.select(Unit).where(Unit.parent_id == parent.id,
                                                      Unit.kind == kind).order_by(Unit.code)))


def rankings(session: Session, district: Unit, period: Period, now: datetime) -> Iterator[Table]:
    for kind in (RankingKind.TOWNSHIP, RankingKind.DEPARTMENT):
        yield scores.ranking_table(scores.ranking(session, district_id=district.id, kind=kind,
                                                  period=period, as_of=now))


def township_scores(session: Session, district: Unit, period: Period,
                    now: datetime) -> Iterator[Table]:
    """Per township: its 三率 with the counts behind them, and each community's."""
    for township in _children(session, district, UnitKind.TOWNSHIP):
        units = [township, *_children(session, township, UnitKind.COMMUNITY)]
        rows = [_score_row(scores.unit_scores(session, unit_id=u.id, period=period, as_of=now),
                           u) for u in units]
        yield Table(name=f"scores-{township.code}-{period.label}",
                    title=f"{period.label} {township.name} 三率", columns=SCORE_COLUMNS,
                    rows=rows, notes=["街乡含其社区承办的工单;社区只计本社区承办的工单。"
                                      "计算规则见 docs/evaluation.md。"])


def _score_row(s: scores.UnitScores, unit: Unit) -> dict:
    c = s.counts
    return {"code": unit.code, "name": unit.name, "kind": KIND_TITLES.get(unit.kind, ""),
            "rated": c.rated, "resolved": c.resolved, "satisfied": c.satisfied,
            "basically_satisfied": c.basically_satisfied, "dissatisfied": c.dissatisfied,
            "rehandled": c.rehandled, "response_due": c.response_due,
            "response_met": c.response_met, **s.percents}


def stats(session: Session, district: Unit, period: Period, now: datetime) -> Iterator[Table]:
    """One table: the district, each township and each department, a row each."""
    units = [district, *_children(session, district, UnitKind.TOWNSHIP),
             *_children(session, district, UnitKind.DEPARTMENT)]
    tables = [unit_stats.unit_stats(session, unit_id=u.id, period=period) for u in units]
    notes = list(dict.fromkeys(note for t in tables for note in t.notes))
    yield Table(name=f"unit-stats-{district.code}-{period.label}",
                title=f"{period.label} {district.name} 单位统计", columns=tables[0].columns,
                rows=[row for t in tables for row in t.rows], notes=notes)


def hotspot_tables(session: Session, district: Unit, period: Period,
                   now: datetime) -> Iterator[Table]:
    for by in ("grid", "township"):
        yield hotspots.category_grid_counts(session, area_unit_id=district.id, period=period,
                                            by=by)
    yield hotspots.rising(session, area_unit_id=district.id, period=period)


def double_no(session: Session, district: Unit, period: Period,
              now: datetime) -> Iterator[Table]:
    target = load_target(session, district.id)
    assert target is not None  # the district was just read
    yield unit_stats.rating_list(session, target=target, period=period,
                                 which=unit_stats.DOUBLE_NO)


def whistle(session: Session, district: Unit, period: Period, now: datetime) -> Iterator[Table]:
    for side in (whistle_side.department_side, whistle_side.township_side):
        yield side(session, district_id=district.id, period=period, now=now)


def tracked_problems(session: Session, district: Unit, period: Period,
                     now: datetime) -> Iterator[Table]:
    """Each of the district's 每月一题 started by the month's end, counted up to that end."""
    problems = session.scalars(
        sa.select(TrackedProblem)
        .where(TrackedProblem.district_id == district.id,
               TrackedProblem.starts_on <= period.last)
        .order_by(TrackedProblem.starts_on, TrackedProblem.created_at))
    as_of = min(now, period.end_utc)
    for problem in problems:
        yield tracked.trend_table(problem, tracked.monthly_counts(session, problem, now=as_of))


def trend(session: Session, district: Unit, period: Period, now: datetime) -> Iterator[Table]:
    yield scores.monthly_trend(session, unit_id=district.id, last=period, as_of=now)


SECTIONS: tuple[Section, ...] = (rankings, township_scores, stats, hotspot_tables, double_no,
                                 whistle, tracked_problems, trend)
