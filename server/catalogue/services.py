"""Importing the dispatch catalogue: every row checked first, then all written or nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.catalogue.formats import CatalogueFile
from server.catalogue.models import CatalogueItem
from server.catalogue.rules import (
    ItemSpec,
    LeadKind,
    RowProblem,
    check_references,
    check_rows,
    parent_code,
    referenced,
)
from server.core import sheets
from server.core.errors import Invalid
from server.core.trail import ActorLike, record_change, snapshot
from server.grids.models import Grid
from server.grids.rules import GridKind
from server.org.models import Unit
from server.org.rules import UnitKind

MAX_ITEMS_PER_IMPORT = 20_000
# A wrong file (another sheet, another encoding) yields a problem per cell; the first
# ones are enough to see what is wrong, and keep the answer small.
MAX_PROBLEMS_REPORTED = 1000


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int
    unchanged: int
    deactivated: int


def import_catalogue(
    session: Session,
    file: CatalogueFile,
    *,
    replace_all: bool,
    dry_run: bool = False,
    now: datetime,
    actor: ActorLike | None = None,
) -> ImportCounts:
    """Create or update items by code, all or nothing.

    With ``replace_all``, active items the file does not list are deactivated (never
    deleted: cases keep their category). An empty file is refused, so that a wrong upload
    cannot deactivate the whole catalogue. ``dry_run`` checks and counts, writing nothing.
    At most four reads whatever the size: the stored items, the units named, the department
    kinds and the special grid kinds (the last two only when items name them).
    """
    if len(file.rows) > MAX_ITEMS_PER_IMPORT:
        raise Invalid.for_field(
            file.collection,
            f"At most {MAX_ITEMS_PER_IMPORT} items per import; split the file.",
            location=file.location, code="too_many_items",
        )
    if not file.rows and not file.problems:
        raise Invalid.for_field(file.collection, "The file lists no items.",
                                location=file.location, code="catalogue_file_empty")
    stored = {i.code: i for i in session.scalars(sa.select(CatalogueItem))}
    specs, problems = check_rows(file.rows, existing_codes=stored.keys())
    problems = [*file.problems, *problems]
    problems += check_references(
        specs,
        unit_codes=_existing_unit_codes(session, referenced(specs, LeadKind.UNIT)),
        department_kinds=_department_kinds(session) if referenced(specs, LeadKind.DEPARTMENT)
        else frozenset(),
        special_kinds=_special_kinds(session)
        if referenced(specs, LeadKind.SPECIAL_GRID_OWNER) else frozenset(),
    )
    if problems:
        raise _rejection(file, problems)
    return _write(session, [s for _, s in specs], stored, replace_all=replace_all,
                  dry_run=dry_run, now=now, actor=actor)


def _existing_unit_codes(session: Session, codes: set[str]) -> frozenset[str]:
    if not codes:
        return frozenset()
    return frozenset(session.scalars(sa.select(Unit.code).where(Unit.code.in_(codes))))


def _department_kinds(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(
        sa.select(Unit.department_kind).distinct()
        .where(Unit.kind == UnitKind.DEPARTMENT, Unit.department_kind.is_not(None))
    ))


def _special_kinds(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(
        sa.select(Grid.special_kind).distinct()
        .where(Grid.kind == GridKind.SPECIAL, Grid.retired_at.is_(None),
               Grid.special_kind.is_not(None))
    ))


def _write(
    session: Session,
    specs: list[ItemSpec],
    stored: dict[str, CatalogueItem],
    *,
    replace_all: bool,
    dry_run: bool,
    now: datetime,
    actor: ActorLike | None = None,
) -> ImportCounts:
    created = updated = unchanged = deactivated = 0
    new_items: list[CatalogueItem] = []
    for spec in specs:
        item = stored.get(spec.code)
        if item is None:
            created += 1
            new_items.append(_new_item(spec, now))
        elif item.spec == spec:
            unchanged += 1
        else:
            updated += 1
            if not dry_run:
                _record(session, actor, "catalogue_item.updated", item, spec, now)
                _apply(item, spec, now)
    if replace_all:
        listed = {s.code for s in specs}
        for item in stored.values():
            if item.active and item.code not in listed:
                deactivated += 1
                if not dry_run:
                    _record(session, actor, "catalogue_item.deactivated", item,
                            replace(item.spec, active=False), now)
                    _apply(item, replace(item.spec, active=False), now)
    if not dry_run:
        session.add_all(new_items)
        session.flush()
        for item in new_items:
            _record(session, actor, "catalogue_item.created", item, None, now)
        session.flush()
    return ImportCounts(created, updated, unchanged, deactivated)


def _record(session: Session, actor: ActorLike | None, action: str, item: CatalogueItem,
            spec: ItemSpec | None, now: datetime) -> None:
    """The trail of one item: before and after (``spec``; None: as stored, for a new item)."""
    created = spec is None
    record_change(session, actor, action, item, before=None if created else snapshot(item.spec),
                  after=snapshot(item.spec if created else spec), now=now, flush=False)


def _new_item(spec: ItemSpec, now: datetime) -> CatalogueItem:
    item = CatalogueItem(code=spec.code, parent_code=parent_code(spec.code), created_at=now)
    _apply(item, spec, now)
    return item


def _apply(item: CatalogueItem, spec: ItemSpec, now: datetime) -> None:
    item.name = spec.name
    item.description = spec.description
    item.lead = spec.lead
    item.cooperating = list(spec.cooperating)
    item.response_limit_minutes = spec.response_limit_minutes
    item.completion_limit_minutes = spec.completion_limit_minutes
    item.returnable = spec.returnable
    item.active = spec.active
    item.updated_at = now


def _rejection(file: CatalogueFile, problems: list[RowProblem]) -> Invalid:
    return sheets.rejection(
        problems, code="catalogue_import_rejected", location=file.location,
        collection=file.collection,
        numbering={"json": "item", "xlsx": "row"}.get(file.location, "line"),
        max_shown=MAX_PROBLEMS_REPORTED, sheet=file.sheet)
