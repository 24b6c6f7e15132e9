"""Reading the catalogue: one item, lists, the export, and the dispatch plan for a new case."""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.catalogue.models import CatalogueItem
from server.catalogue.rules import ItemSpec, LeadKind, Responsibility, parse_responsibility
from server.core.errors import Invalid, NotFound
from server.core.i18n import _
from server.grids.models import Grid
from server.grids.rules import GridKind
from server.org.models import Unit
from server.org.rules import UnitKind

log = logging.getLogger(__name__)


def get_item(session: Session, code: str) -> CatalogueItem:
    item = session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == code))
    if item is None:
        raise NotFound(_("The catalogue has no item '{code}'.").format(code=code),
                       code="unknown_category")
    return item


@dataclass(frozen=True)
class ItemPage:
    items: list[CatalogueItem]
    next_cursor: str | None


def _encode_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode()


def _decode_cursor(cursor: str) -> str:
    try:
        code = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        code = ""
    if not code:
        raise Invalid.for_field(
            "cursor", "This cursor is not one we gave out.", location="query", code="invalid_cursor"
        )
    return code


def list_items(
    session: Session,
    *,
    parent: str | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> ItemPage:
    """Items by code, keyset-paginated (codes are unique, so the code is the cursor).

    ``parent`` lists the direct children of that code ('' lists the top level); ``q`` is a
    case-insensitive substring of the name or the code.
    """
    query = sa.select(CatalogueItem)
    if parent is not None:
        top_level = parent == ""
        query = query.where(CatalogueItem.parent_code.is_(None) if top_level
                            else CatalogueItem.parent_code == parent)
    if q:
        query = query.where(sa.or_(CatalogueItem.name.icontains(q, autoescape=True),
                                   CatalogueItem.code.icontains(q, autoescape=True)))
    if active is not None:
        query = query.where(CatalogueItem.active.is_(active))
    if cursor is not None:
        query = query.where(CatalogueItem.code > _decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(CatalogueItem.code).limit(limit + 1)))
    next_cursor = _encode_cursor(rows[limit - 1].code) if len(rows) > limit else None
    return ItemPage(items=rows[:limit], next_cursor=next_cursor)


def all_specs(session: Session) -> list[ItemSpec]:
    """Every item, inactive ones too, by code: what the export writes."""
    return [i.spec for i in session.scalars(sa.select(CatalogueItem).order_by(CatalogueItem.code))]


@dataclass(frozen=True)
class DispatchPlan:
    """Where a new case of a category goes, resolved for the township that holds its grid."""

    item_code: str
    item_name: str
    lead_unit_id: uuid.UUID
    cooperating_unit_ids: tuple[uuid.UUID, ...]  # resolved, lead excluded, de-duplicated
    response_limit: timedelta
    completion_limit: timedelta
    returnable: bool
    # The lead unit when the plan's query loaded it (a department or a named unit): held
    # here so the session still has it when the caller needs it (its identity map is weak).
    lead_unit: Unit | None = field(default=None, compare=False, repr=False)


def plan_dispatch(
    session: Session, category_code: str, township_id: uuid.UUID | None, *,
    item: CatalogueItem | None = None,
    special_grid_ids: Collection[uuid.UUID] = (),
) -> DispatchPlan | None:
    """The lead and cooperating units and limits for a case, or None for the triage queue.

    None when the item is unknown, inactive or has no lead, or when its lead cannot be
    resolved: territorial or department leads need the township (a case without a grid has
    none), a department kind may have no unit in that district, and a special grid owner
    needs a special grid of that kind among ``special_grid_ids`` (the grids holding the
    case) with an owner unit. Cooperating tokens that cannot be resolved are skipped and
    logged: the case still goes to its lead.
    Three queries at most: the item (none if the caller passes the one it loaded), every
    unit it names, and the case's special grids when the item names their owners.
    """
    if item is None or item.code != category_code:
        item = session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == category_code))
    # The limits are never missing when there is a lead (a check constraint); tested for mypy.
    if (item is None or not item.dispatchable or item.lead is None
            or item.response_limit_minutes is None or item.completion_limit_minutes is None):
        return None
    lead = parse_responsibility(item.lead)
    if township_id is None and lead.kind in (LeadKind.TERRITORIAL, LeadKind.DEPARTMENT):
        return None  # territorial and department leads both need the township
    cooperating = [parse_responsibility(t) for t in item.cooperating]
    units, loaded = _resolve(session, [lead, *cooperating], township_id)
    units.update(_special_grid_owners(session, [lead, *cooperating], special_grid_ids))
    lead_id = units.get(lead)
    if lead_id is None:
        log.info("catalogue item %s: lead %s not resolved for township %s; to triage",
                 item.code, lead.token, township_id)
        return None
    cooperating_ids: list[uuid.UUID] = []
    for r in cooperating:
        unit_id = units.get(r)
        if unit_id is None:
            log.warning("catalogue item %s: cooperating %s not resolved for township %s; skipped",
                        item.code, r.token, township_id)
        elif unit_id != lead_id and unit_id not in cooperating_ids:
            cooperating_ids.append(unit_id)
    return DispatchPlan(
        item_code=item.code,
        item_name=item.name,
        lead_unit_id=lead_id,
        cooperating_unit_ids=tuple(cooperating_ids),
        response_limit=timedelta(minutes=item.response_limit_minutes),
        completion_limit=timedelta(minutes=item.completion_limit_minutes),
        returnable=item.returnable,
        lead_unit=loaded.get(lead_id),
    )


def _special_grid_owners(
    session: Session, wanted: Iterable[Responsibility], special_grid_ids: Collection[uuid.UUID]
) -> dict[Responsibility, uuid.UUID]:
    """Owner units of the case's special grids, by kind, in one query (none if not named).

    A case inside two special grids of the same kind (two schools' grounds touching): the
    grid with the smallest code, so the answer is stable. A grid without an owner is
    skipped (the topology audit reports it as ``owner_missing``).
    """
    kinds = {r.value for r in wanted if r.kind is LeadKind.SPECIAL_GRID_OWNER}
    if not kinds or not special_grid_ids:
        return {}
    rows = session.execute(
        sa.select(Grid.special_kind, Grid.owner_unit_id)
        .where(Grid.id.in_(list(special_grid_ids)), Grid.kind == GridKind.SPECIAL,
               Grid.special_kind.in_(kinds), Grid.owner_unit_id.is_not(None))
        .order_by(Grid.code)
    ).all()
    resolved: dict[Responsibility, uuid.UUID] = {}
    for kind, owner_id in rows:
        resolved.setdefault(Responsibility(LeadKind.SPECIAL_GRID_OWNER, kind), owner_id)
    return resolved


def _resolve(
    session: Session, wanted: Iterable[Responsibility], township_id: uuid.UUID | None
) -> tuple[dict[Responsibility, uuid.UUID], dict[uuid.UUID, Unit]]:
    """Units for responsibility tokens, in one query; and the units that query loaded.

    A department kind resolves to the department of that kind under the township itself
    (an outpost, 派驻机构) if there is one, else under the township's district; several
    candidates at the same level: the smallest code, so the answer is stable.
    """
    resolved: dict[Responsibility, uuid.UUID] = {}
    wanted = set(wanted)
    if township_id is not None:
        resolved[Responsibility(LeadKind.TERRITORIAL, None)] = township_id
    unit_codes = {r.value for r in wanted if r.kind is LeadKind.UNIT}
    kinds = {r.value for r in wanted if r.kind is LeadKind.DEPARTMENT} if township_id else set()
    conditions: list[sa.ColumnElement[bool]] = []
    if unit_codes:
        conditions.append(Unit.code.in_(unit_codes))
    if kinds:
        district_id = sa.select(Unit.parent_id).where(Unit.id == township_id).scalar_subquery()
        conditions.append(sa.and_(
            Unit.kind == UnitKind.DEPARTMENT,
            Unit.department_kind.in_(kinds),
            sa.or_(Unit.parent_id == township_id, Unit.parent_id == district_id),
        ))
    if not conditions:
        return resolved, {}
    # Whole units, not just their ids: the caller's next step (intake's supervisor and the
    # case's lead unit) finds the lead in the session instead of loading it again.
    rows = session.scalars(sa.select(Unit).where(sa.or_(*conditions)).order_by(Unit.code)).all()
    for row in rows:
        if row.code in unit_codes:
            resolved[Responsibility(LeadKind.UNIT, row.code)] = row.id
    # An outpost under the township comes before the district's department, then by code.
    departments = sorted(
        (r for r in rows if r.kind is UnitKind.DEPARTMENT and r.department_kind in kinds),
        key=lambda r: (r.parent_id != township_id, r.code),
    )
    for row in departments:
        resolved.setdefault(Responsibility(LeadKind.DEPARTMENT, row.department_kind), row.id)
    return resolved, {row.id: row for row in rows}
