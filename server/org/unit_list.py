"""Importing the administrative tree from a list (CSV or .xlsx): all or nothing, per-row report.

A district loads its townships and communities, with their populations, from the
civil-affairs office's spreadsheet: one unit per row, parents by code (anywhere in the file
or already stored). Existing units are not edited here: a row identical to the stored unit
counts as unchanged, a different one is refused (edit that unit instead), so a re-import of
the same list changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.core import sheets
from server.core.errors import Invalid
from server.org.models import Unit
from server.org.rules import ALLOWED_PARENTS, UnitKind
from server.org.services import create_unit

COLUMNS = ("code", "name", "kind", "parent", "population", "department_kind")
REQUIRED_COLUMNS = ("code", "name", "kind")
MAX_UNITS_PER_IMPORT = 5000
MAX_PROBLEMS_REPORTED = 500


@dataclass(frozen=True)
class RowProblem:
    row: int
    code: str | None
    field: str
    problem: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "field": self.field,
                "problem": self.problem, "reason": self.reason}


@dataclass
class UnitsFile:
    location: str  # "csv" or "xlsx"
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    sheet: str | None = None


def read_units(
    data: bytes, kind: str, progress: Callable[[int], None] | None = None
) -> UnitsFile:
    """Read a units list; ``kind`` is "csv" or "xlsx"."""
    reader = sheets.read_csv if kind == "csv" else sheets.read_xlsx
    sheet = reader(data, columns=COLUMNS, required=REQUIRED_COLUMNS, key="code",
                   problem=RowProblem, progress=progress)
    return UnitsFile(kind, list(sheet.rows), list(sheet.problems), sheet.name)


@dataclass(frozen=True)
class _Spec:
    row: int
    code: str
    name: str
    kind: UnitKind
    parent: str | None
    population: int | None
    department_kind: str | None


@dataclass(frozen=True)
class UnitImportCounts:
    created: int
    unchanged: int


def import_units(
    session: Session, file: UnitsFile, *, dry_run: bool, now: datetime
) -> UnitImportCounts:
    """Create the units a list names, parents before children, all or nothing."""
    if len(file.rows) > MAX_UNITS_PER_IMPORT:
        raise Invalid.for_field(
            "rows", f"At most {MAX_UNITS_PER_IMPORT} units per import; split the file.",
            location=file.location, code="too_many_units")
    problems = list(file.problems)
    specs: dict[str, _Spec] = {}
    for number, values in file.rows:
        spec = _check_row(number, values, problems)
        if spec is None:
            continue
        if spec.code in specs:
            problems.append(RowProblem(number, spec.code, "code", "duplicate_code",
                                       f"{spec.code} is also defined by row "
                                       f"{specs[spec.code].row}."))
            continue
        specs[spec.code] = spec
    wanted = set(specs) | {s.parent for s in specs.values() if s.parent}
    stored = {u.code: u for u in session.scalars(sa.select(Unit).where(Unit.code.in_(wanted)))}
    unchanged = {c for c, s in specs.items() if c in stored and _same(stored[c], s, stored)}
    for code, spec in specs.items():
        if code in stored and code not in unchanged:
            problems.append(RowProblem(spec.row, code, "code", "unit_differs",
                                       f"Unit {code} exists with other values; edit it instead."))
        elif code not in stored:
            problems.extend(_parent_problems(spec, specs, stored))
    if problems:
        raise sheets.rejection(
            problems, code="unit_import_rejected", location=file.location, collection="rows",
            numbering="line" if file.sheet is None else "row",
            max_shown=MAX_PROBLEMS_REPORTED, sheet=file.sheet)
    new = [s for c, s in specs.items() if c not in stored]
    if not dry_run:
        for spec in _parents_first(new):
            create_unit(session, code=spec.code, name=spec.name, kind=spec.kind,
                        parent_code=spec.parent, population=spec.population,
                        department_kind=spec.department_kind, now=now)
    return UnitImportCounts(created=len(new), unchanged=len(unchanged))


def _check_row(number: int, values: dict[str, str], problems: list[RowProblem]) -> _Spec | None:
    code = values.get("code")
    found: list[RowProblem] = []

    def problem(name: str, slug: str, reason: str) -> None:
        found.append(RowProblem(number, code, name, slug, reason))

    if not code or len(code) > 40:
        problem("code", "invalid_code", "code is 1-40 characters.")
    name = values.get("name")
    if not name or len(name) > 120:
        problem("name", "invalid_name", "name is 1-120 characters.")
    try:
        kind = UnitKind(values.get("kind", "").lower())
    except ValueError:
        kind = None
        problem("kind", "invalid_kind", f"kind is one of {', '.join(k.value for k in UnitKind)}.")
    population = None
    if values.get("population"):
        try:
            population = int(values["population"].replace(",", ""))
            if population < 0:
                raise ValueError
        except ValueError:
            problem("population", "invalid_population",
                    f"population is a whole number of residents, not {values['population']!r}.")
    problems.extend(found)
    if found or kind is None or code is None or name is None:
        return None
    return _Spec(number, code, name, kind, values.get("parent"), population,
                 values.get("department_kind"))


def _same(unit: Unit, spec: _Spec, stored: dict[str, Unit]) -> bool:
    parent = stored.get(spec.parent) if spec.parent else None
    parent_id = parent.id if parent else None
    return (unit.name, unit.kind, unit.parent_id, unit.population, unit.department_kind) == (
        spec.name, spec.kind, parent_id, spec.population, spec.department_kind)


def _parent_problems(spec: _Spec, specs: dict[str, _Spec], stored: dict[str, Unit]
                     ) -> list[RowProblem]:
    if spec.parent is None:
        parent_kind = None
    elif spec.parent in specs:
        parent_kind = specs[spec.parent].kind
    elif spec.parent in stored:
        parent_kind = stored[spec.parent].kind
    else:
        return [RowProblem(spec.row, spec.code, "parent", "parent_missing",
                           f"Its parent {spec.parent} is neither in the file nor stored.")]
    if parent_kind not in ALLOWED_PARENTS[spec.kind]:
        allowed = ", ".join(sorted(str(k) for k in ALLOWED_PARENTS[spec.kind] if k)) or "none"
        return [RowProblem(spec.row, spec.code, "parent", "unit_parent_not_allowed",
                           f"A {spec.kind} cannot sit under a {parent_kind or 'missing parent'}; "
                           f"allowed: {allowed}.")]
    return []


def _parents_first(new: list[_Spec]) -> list[_Spec]:
    """Creation order: a unit after its parent when both are new (kinds nest, so depth is
    bounded and a cycle is impossible: a parent's kind is always above its child's)."""
    by_code = {s.code: s for s in new}

    def depth(spec: _Spec) -> int:
        level = 0
        while spec.parent in by_code and level <= len(by_code):
            spec, level = by_code[spec.parent], level + 1
        return level

    return sorted(new, key=lambda s: (depth(s), s.row))
