"""Repeat complaints (重复诉求) in a period: the same phone, or the same place and category.

The cases looked at are the period's appeals of the unit: for a district, township,
community or grid those received in the period in its territory; for a department those
dispatched to it (or its outposts) in the period. Two groupings:

- by phone: two or more of those cases with the same resident phone as recorded.
  Confidential cases are left out: grouping them would tell who else called. Once a case's
  contact data is erased (``server.retention``), its opaque ``resident_ref``, shared by
  every case that had the phone, stands for the phone: a past period counts the same.
- by place: two or more cases of the same category each within ``REPEAT_RADIUS_M`` of
  another of the group (DBSCAN with min 2 points: chains of close cases).

Phones are personal data: the table shows a group's phone unmasked only to someone who may
see every case of it unmasked (``personal_data_view_for``), masked (``mask_phone``) otherwise.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geo.clusters import clusters
from server.auth.actor import Actor
from server.cases.models import Case
from server.cases.queries import personal_data_view_for
from server.cases.rules import PersonalDataView, mask_phone
from server.reports.access import Target, TargetKind
from server.reports.areas import load_area
from server.reports.facts import leads_of
from server.reports.periods import Period
from server.reports.tables import Column, ColumnType, Table
from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind

REPEAT_RADIUS_M = 50.0
ERASED_KEY = "(号码已按保存期限删除)"
# Who called: the phone, or its opaque reference once some case of it was erased (every
# case that still had the phone then got the reference too, so they stay one group).
CALLER = sa.func.coalesce(Case.resident_ref, Case.resident_phone)


@dataclass(frozen=True)
class Member:
    id: object
    number: str
    received_at: datetime
    category_code: str | None
    phone: str | None


@dataclass(frozen=True)
class Group:
    by: str  # "phone" | "place"
    key: str  # the phone, or the category code
    members: list[Member]


def appeals_clause(session: Session, target: Target, period: Period) -> sa.ColumnElement[bool]:
    if target.kind is TargetKind.DEPARTMENT:
        dispatched = sa.select(Deadline.subject_id).where(
            Deadline.subject_type == "case", Deadline.kind == DeadlineKind.RESPONSE,
            Deadline.unit_id.in_(sorted(leads_of(session, target))),
            Deadline.starts_at >= period.start_utc, Deadline.starts_at < period.end_utc)
        return Case.id.in_(dispatched)
    return sa.and_(load_area(session, target.id).clause, Case.received_at >= period.start_utc,
                   Case.received_at < period.end_utc)


def _member(row) -> Member:  # noqa: ANN001
    return Member(row.id, row.number, row.received_at, row.category_code, row.resident_phone)


def _repeat_phones(appeals: sa.ColumnElement[bool]) -> sa.Select:
    return (sa.select(CALLER)
            .where(appeals, CALLER.is_not(None), Case.confidential.is_(False))
            .group_by(CALLER).having(sa.func.count() > 1))


def _place_clusters(session: Session, appeals: sa.ColumnElement[bool]
                    ) -> list[tuple[str, list[uuid.UUID]]]:
    """(category, member ids oldest first) of each same-place group: only ids and positions
    are read (a district month is tens of thousands of cases)."""
    located = session.execute(sa.select(Case.id, Case.category_code, Case.lon, Case.lat).where(
        appeals, Case.lon.is_not(None), Case.lat.is_not(None), Case.category_code.is_not(None))
        .order_by(Case.received_at, Case.number)).all()
    per_category: dict[str, list] = defaultdict(list)
    for row in located:
        per_category[row.category_code].append(row)
    found = []
    for category in sorted(per_category):
        rows = per_category[category]
        for cluster in clusters([r.lon for r in rows], [r.lat for r in rows],
                                eps_m=REPEAT_RADIUS_M, min_points=2):
            found.append((category, [rows[i].id for i in cluster.members]))
    return found


def repeat_counts(session: Session, target: Target, period: Period) -> tuple[int, int]:
    """How many groups by phone and by place (what the unit statistics show)."""
    appeals = appeals_clause(session, target, period)
    phones = session.scalar(sa.select(sa.func.count()).select_from(
        _repeat_phones(appeals).subquery())) or 0
    return phones, len(_place_clusters(session, appeals))


def repeat_groups(session: Session, target: Target, period: Period
                  ) -> tuple[list[Group], list[Group]]:
    """(by phone, by place), each group's members oldest first; groups ordered by size,
    then by their first case number."""
    appeals = appeals_clause(session, target, period)
    cols = (Case.id, Case.number, Case.received_at, Case.category_code, Case.resident_phone)
    by_phone: dict[str, list[Member]] = defaultdict(list)
    for row in session.execute(sa.select(*cols, CALLER.label("caller")).where(
            appeals, Case.confidential.is_(False), CALLER.in_(_repeat_phones(appeals)))
            .order_by(Case.received_at, Case.number)):
        by_phone[row.caller].append(_member(row))
    places = _place_clusters(session, appeals)
    members = {row.id: _member(row) for row in session.execute(
        sa.select(*cols).where(Case.id.in_([i for _, ids in places for i in ids])))}
    place_groups = [Group("place", category, [members[i] for i in ids])
                    for category, ids in places]
    # The key is the phone while a member still has it, else it was erased from them all.
    phone_groups = [Group("phone", next((m.phone for m in found if m.phone), ERASED_KEY), found)
                    for found in by_phone.values()]

    def order(g: Group) -> tuple:
        return (-len(g.members), g.members[0].number)

    return sorted(phone_groups, key=order), sorted(place_groups, key=order)


def shown_cases(session: Session, actor: Actor, group: Group) -> list[Case] | None:
    """The group's cases if the actor may see the phone of every one of them, else None."""
    cases = list(session.scalars(sa.select(Case).where(
        Case.id.in_([m.id for m in group.members]))))
    if all(personal_data_view_for(session, actor, c) is PersonalDataView.SHOWN for c in cases):
        return cases
    return None


def repeat_table(session: Session, actor: Actor, target: Target, period: Period
                 ) -> tuple[Table, list[Case]]:
    """The groups as a table for this actor, and the cases whose phone it shows unmasked
    (the caller logs that access, as the case view does)."""
    phone_groups, place_groups = repeat_groups(session, target, period)
    rows: list[dict] = []
    shown: list[Case] = []
    for group in [*phone_groups, *place_groups]:
        key = group.key
        if group.by == "phone" and key != ERASED_KEY:
            cases = shown_cases(session, actor, group)
            if cases is None:
                key = mask_phone(key)
            else:
                shown.extend(cases)
        rows.append({"by": "同号码" if group.by == "phone" else "同地点同类", "key": key,
                     "cases": len(group.members),
                     "first_received_at": group.members[0].received_at,
                     "last_received_at": group.members[-1].received_at,
                     "categories": " ".join(sorted({m.category_code or "" for m in
                                                    group.members})).strip(),
                     "case_numbers": " ".join(m.number for m in group.members)})
    table = Table(
        name=f"repeat-complaints-{target.code}-{period.label.replace('/', '_')}",
        title=f"{period.label} {target.name} 重复诉求",
        columns=[Column("by", "类型"), Column("key", "号码/类别"),
                 Column("cases", "件数", ColumnType.INTEGER),
                 Column("first_received_at", "首次受理", ColumnType.DATETIME),
                 Column("last_received_at", "最近受理", ColumnType.DATETIME),
                 Column("categories", "类别"), Column("case_numbers", "工单编号")],
        rows=rows,
        notes=[f"同号码:期内同一来电号码两件及以上(不含保密件);同地点同类:同一类别、"
               f"相距 {REPEAT_RADIUS_M:g} 米内连成一片的两件及以上。"])
    return table, shown
