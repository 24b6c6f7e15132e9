"""Hotspots (高频问题): case counts by category × grid or × township against the previous
period, the top rising categories, and spatial clusters of one category.

A case counts in the period in which it was received (``received_at``, Beijing-time
periods), in the territory where it lies (``server.reports.areas``). As in the choropleth,
a duplicate linked to its master before the period's end is left out (the problem counts
once) and exempted cases count (an exemption takes a case out of a score, not out of what
residents asked for). Both periods are counted in one GROUP BY
over the rows of [previous start, current end), which the (district_id | township_id,
received_at, category_code, basic_grid_code) indexes cover: no case is loaded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.clusters import clusters as find_clusters
from server.cases.models import Case
from server.core.errors import Invalid
from server.org.models import Unit
from server.reports.areas import Area, category_clause, category_names, file_stem, load_area
from server.reports.periods import Period
from server.reports.tables import Column, ColumnType, Table

UNCATEGORISED = "未分类"
NO_GRID = "(不在网格内)"
DEFAULT_EPS_M = 100.0
DEFAULT_MIN_POINTS = 5
MAX_CLUSTER_POINTS = 50_000  # DBSCAN in memory: beyond this, narrow the period or category
BY_KINDS = ("grid", "township")

T, INT, P = ColumnType.TEXT, ColumnType.INTEGER, ColumnType.PERCENT


def change_percent(count: int, previous: int) -> Decimal | None:
    """(count - previous) / previous in percent, half-up to 2 decimals; None from zero."""
    if previous == 0:
        return None
    exact = Decimal(count - previous) * 100 / Decimal(previous)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def not_linked_by(end: datetime) -> sa.ColumnElement[bool]:
    """Not yet linked to a master case at ``end`` (a linked duplicate counts once, by its
    master, as in the choropleth of server.reports.choropleth)."""
    return sa.or_(Case.linked_at.is_(None), Case.linked_at >= end)


def _counts(session: Session, area: Area, period: Period, keys: list[Any],
            category_prefix: str | None) -> list[tuple[Any, ...]]:
    """(key values…, current count, previous count) per group with a case in either: one
    GROUP BY over [previous start, current end), each period judged at its own end."""
    previous = period.previous()
    in_current = sa.and_(Case.received_at >= period.start_utc, not_linked_by(period.end_utc))
    in_previous = sa.and_(Case.received_at < period.start_utc, not_linked_by(previous.end_utc))
    query = (sa.select(*keys, sa.func.sum(sa.case((in_current, 1), else_=0)),
                       sa.func.sum(sa.case((in_previous, 1), else_=0)))
             .where(area.clause,
                    Case.received_at >= previous.start_utc, Case.received_at < period.end_utc)
             .group_by(*keys))
    if category_prefix:
        query = query.where(category_clause([category_prefix]))
    counted = [(*row[:-2], int(row[-2] or 0), int(row[-1] or 0))
               for row in session.execute(query)]
    return [row for row in counted if row[-1] or row[-2]]


def _name(names: dict[str, str], code: str | None) -> str:
    return UNCATEGORISED if code is None else names.get(code, code)


def _change_columns() -> list[Column]:
    return [Column("count", "本期件数", INT), Column("previous", "上期件数", INT),
            Column("change", "增减", INT), Column("change_percent", "增减幅度", P)]


def category_grid_counts(session: Session, *, area_unit_id: uuid.UUID, period: Period,
                         by: str = "grid", category_prefix: str | None = None) -> Table:
    """Cases per category × basic grid (or × township) received in the period, with the
    previous period's count and the change; most cases first."""
    if by not in BY_KINDS:
        raise Invalid.for_field("by", "Count by 'grid' or 'township'.", location="query")
    area = load_area(session, area_unit_id)
    key = Case.basic_grid_code if by == "grid" else Case.township_id
    counted = _counts(session, area, period, [Case.category_code, key], category_prefix)
    names = category_names(session, {c for c, *_ in counted})
    towns = {}
    if by == "township":
        ids = {k for _, k, *_ in counted if k is not None}
        towns = {u.id: u for u in session.scalars(sa.select(Unit).where(Unit.id.in_(ids)))}
    rows = []
    for category, place, count, previous in counted:
        row = {"category_code": category, "category_name": _name(names, category)}
        if by == "grid":
            row.update(grid_code=place if place is not None else NO_GRID)
        else:
            town = towns.get(place)
            row.update(township_code=town.code if town else None,
                       township_name=town.name if town else NO_GRID)
        rows.append({**row, "count": count, "previous": previous, "change": count - previous,
                     "change_percent": change_percent(count, previous)})
    place_key = "grid_code" if by == "grid" else "township_code"
    rows.sort(key=lambda r: (-r["count"], r["category_code"] or "", r[place_key] or ""))
    place_columns = ([Column("grid_code", "网格", T)] if by == "grid" else
                     [Column("township_code", "街乡编码", T), Column("township_name", "街乡", T)])
    return Table(
        name=f"hotspots-{by}-{area.code}-{file_stem(period.label)}",
        title=f"{period.label} {area.name} 问题类别×{'网格' if by == 'grid' else '街乡'}",
        columns=[Column("category_code", "类别编码", T), Column("category_name", "类别", T),
                 *place_columns, *_change_columns()],
        rows=rows,
        notes=[f"按受理时间计入 {period.label},上期为 {period.previous().label};"
               "已关联到主件的重复件不计,剔除件照计。"])


def rising(session: Session, *, area_unit_id: uuid.UUID, period: Period,
           limit: int = 10) -> Table:
    """The categories whose cases grew most against the previous period (增量 first, then
    the growth in percent, a category new this period counting as the steepest)."""
    area = load_area(session, area_unit_id)
    counted = _counts(session, area, period, [Case.category_code], None)
    names = category_names(session, {c for c, *_ in counted})
    grown = [(c, n, p) for c, n, p in counted if n > p]
    grown.sort(key=lambda r: (-(r[1] - r[2]), r[2] != 0, -(r[1] / r[2]) if r[2] else 0,
                              r[0] or ""))
    rows = [{"rank": i, "category_code": c,
             "category_name": _name(names, c),
             "count": n, "previous": p, "change": n - p, "change_percent": change_percent(n, p)}
            for i, (c, n, p) in enumerate(grown[:limit], start=1)]
    return Table(
        name=f"rising-{area.code}-{file_stem(period.label)}",
        title=f"{period.label} {area.name} 上升最快的问题",
        columns=[Column("rank", "名次", INT), Column("category_code", "类别编码", T),
                 Column("category_name", "类别", T), *_change_columns()],
        rows=rows,
        notes=[f"与上期 {period.previous().label} 相比增加的类别,按增量、再按增幅排序。"])


def clusters(session: Session, *, area_unit_id: uuid.UUID, period: Period,
             category_code: str, eps_m: float = DEFAULT_EPS_M,
             min_points: int = DEFAULT_MIN_POINTS) -> Table:
    """Where cases of one category (and its sub-categories) received in the period pile up:
    DBSCAN over metres (``geo.clusters``); largest cluster first. Cases without a location
    cannot be placed and are left out (counted in the notes)."""
    area = load_area(session, area_unit_id)
    where = [area.clause, category_clause([category_code]), not_linked_by(period.end_utc),
             Case.received_at >= period.start_utc, Case.received_at < period.end_utc]
    located = sa.and_(*where, Case.lon.is_not(None), Case.lat.is_not(None))
    total = session.scalar(sa.select(sa.func.count()).where(*where)) or 0
    points = session.execute(
        sa.select(Case.number, Case.lon, Case.lat, Case.basic_grid_code).where(located)
        .order_by(Case.number).limit(MAX_CLUSTER_POINTS + 1)).all()
    if len(points) > MAX_CLUSTER_POINTS:
        raise Invalid(f"More than {MAX_CLUSTER_POINTS} located cases: narrow the period or "
                      "the category.", code="too_many_points")
    found = find_clusters([p.lon for p in points], [p.lat for p in points], eps_m=eps_m,
                          min_points=min_points)
    rows = []
    for rank, cluster in enumerate(found, start=1):
        members = [points[i] for i in cluster.members]
        rows.append({
            "rank": rank, "cases": len(members), "core_cases": cluster.core_count,
            "centre_lon": round(cluster.centre_lon, 6), "centre_lat": round(cluster.centre_lat, 6),
            "radius_m": round(cluster.radius_m, 1),
            "grid_codes": " ".join(sorted({m.basic_grid_code or NO_GRID for m in members})),
            "case_numbers": " ".join(m.number for m in members)})
    clustered = sum(r["cases"] for r in rows)
    return Table(
        name=f"clusters-{category_code}-{area.code}-{file_stem(period.label)}",
        title=f"{period.label} {area.name} {category_code} 聚集点",
        columns=[Column("rank", "序号", INT), Column("cases", "件数", INT),
                 Column("core_cases", "核心件数", INT), Column("centre_lon", "中心经度",
                                                          ColumnType.NUMBER),
                 Column("centre_lat", "中心纬度", ColumnType.NUMBER),
                 Column("radius_m", "半径(米)", ColumnType.NUMBER), Column("grid_codes", "网格", T),
                 Column("case_numbers", "工单编号", T)],
        rows=rows,
        notes=[f"DBSCAN:半径 {eps_m:g} 米内至少 {min_points} 件(含自身)为核心件;"
               f"共 {total} 件,{len(points)} 件有位置,{clustered} 件在聚集点内。"])
