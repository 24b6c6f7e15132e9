"""The dispatch catalogue's rules: item codes, responsibility tokens and the checks of one row.

A catalogue (派单事项目录) maps a category to who leads (主办) and who cooperates (协办), with
a response limit and a completion limit (Xining: seven days; urgent items in hours), and
whether returns (退单) are allowed. Real catalogues hold 2,000+ items (Xining: 2,193), kept
in spreadsheets: these rules check one row of such a file, whatever its format, and the
rows against each other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class LeadKind(StrEnum):
    TERRITORIAL = "territorial"  # 属地: the township that holds the case's grid
    DEPARTMENT = "department"  # a department by function, in the district of the case
    UNIT = "unit"  # one named unit, wherever the case is
    # +place: the owner unit of the special grid (专属网格) of that kind holding the case
    SPECIAL_GRID_OWNER = "special_grid_owner"


@dataclass(frozen=True)
class Responsibility:
    """Who leads or cooperates, before it is resolved to a unit for one case."""

    kind: LeadKind
    value: str | None  # the department kind or the unit code; None for territorial

    @property
    def token(self) -> str:
        """The canonical text form, as stored and exported ('department:city_management')."""
        return self.kind.value if self.value is None else f"{self.kind.value}:{self.value}"


# How a responsibility is written, quoted in error messages.
FORMS = ("'territorial', 'department:<kind>' (e.g. department:city_management), 'unit:<code>' "
         "or 'special_grid_owner:<kind>' (e.g. special_grid_owner:school)")
DEPARTMENT_KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Special grid kinds (school, hospital, market, construction_site) are written alike.
SPECIAL_KIND_PATTERN = DEPARTMENT_KIND_PATTERN
# Unit codes are free text up to 40 characters; ';' separates cooperating tokens in CSV.
UNIT_CODE_PATTERN = re.compile(r"^[^\s;]{1,40}$")


def parse_responsibility(token: str) -> Responsibility:
    """Read a responsibility token; ValueError says what is wrong and what is expected."""
    if not isinstance(token, str):
        raise ValueError(f"{token!r} is not text; write {FORMS}.")
    kind_text, sep, value = token.strip().partition(":")
    try:
        # Spreadsheets capitalise; the kind is matched case-insensitively and stored lowercase.
        kind = LeadKind(kind_text.strip().lower())
    except ValueError:
        raise ValueError(f"{token!r} is not a responsibility; write {FORMS}.") from None
    value = value.strip()
    if kind is LeadKind.TERRITORIAL:
        if sep:
            raise ValueError(f"{token!r}: 'territorial' takes no value after ':'.")
        return Responsibility(kind, None)
    if not value:
        raise ValueError(f"{token!r}: '{kind}:' needs a value after ':'; write {FORMS}.")
    if kind is LeadKind.DEPARTMENT and not DEPARTMENT_KIND_PATTERN.match(value):
        raise ValueError(
            f"{token!r}: a department kind is lowercase letters, digits and '_' "
            "(e.g. city_management, market_supervision)."
        )
    if kind is LeadKind.SPECIAL_GRID_OWNER and not SPECIAL_KIND_PATTERN.match(value):
        raise ValueError(
            f"{token!r}: a special grid kind is lowercase letters, digits and '_' "
            "(e.g. school, hospital, market, construction_site)."
        )
    if kind is LeadKind.UNIT and not UNIT_CODE_PATTERN.match(value):
        raise ValueError(f"{token!r}: a unit code is 1-40 characters without spaces or ';'.")
    return Responsibility(kind, value)


# ---- item codes ------------------------------------------------------------------------

CODE_SEGMENT = re.compile(r"^[0-9A-Za-z]{1,12}$")
MAX_CODE_LENGTH = 40  # cases keep the code in a 40-character column
# Static routes next to /catalogue/<code>; an item with such a code could not be read.
RESERVED_CODES = frozenset({"import", "export"})


def code_problem(code: object) -> str | None:
    """Why ``code`` cannot be an item code, or None. Codes are '.'-separated segments."""
    if not isinstance(code, str) or not code:
        return "is required"
    if len(code) > MAX_CODE_LENGTH:
        return f"is longer than {MAX_CODE_LENGTH} characters"
    if not all(CODE_SEGMENT.match(s) for s in code.split(".")):
        return ("must be segments of 1-12 letters or digits separated by '.' "
                "(e.g. 03, 03.02, 03.02.001)")
    if code.lower() in RESERVED_CODES:
        return f"{code!r} is reserved"
    return None


def parent_code(code: str) -> str | None:
    """The code without its last segment: '03.02.001' → '03.02'; top-level items have none."""
    head, sep, _ = code.rpartition(".")
    return head if sep else None


def code_level(code: str) -> int:
    return code.count(".") + 1


# ---- one row -------------------------------------------------------------------------

COLUMNS = ("code", "name", "lead", "cooperating", "response_limit_hours",
           "completion_limit_hours", "returnable", "active", "description")
REQUIRED_COLUMNS = ("code", "name")
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_COOPERATING = 10
# A limit over a year is a typo (minutes typed as hours, an extra zero); refuse it.
MAX_LIMIT_HOURS = 8760
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否"})


@dataclass(frozen=True)
class ItemSpec:
    """One item as a file defines it, checked and in canonical form."""

    code: str
    name: str
    description: str | None
    lead: str | None  # canonical token; None: a category that is not dispatched itself
    cooperating: tuple[str, ...]
    response_limit_minutes: int | None
    completion_limit_minutes: int | None
    returnable: bool
    active: bool


@dataclass(frozen=True)
class RowProblem:
    row: int  # CSV: line in the file (header = 1); JSON: 0-based index in "items"
    code: str | None
    field: str
    problem: str  # stable snake_case slug
    reason: str  # for a person

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "code": self.code, "field": self.field,
                "problem": self.problem, "reason": self.reason}


def hours_from_minutes(minutes: int | None) -> int | float | None:
    """24 rather than 24.0 when whole, so exports read as people typed them."""
    if minutes is None:
        return None
    return minutes // 60 if minutes % 60 == 0 else minutes / 60


class _Row:
    """Collects the problems of one row while its fields are read."""

    def __init__(self, row: int, values: Mapping[str, Any]) -> None:
        self.row = row
        self.values = values
        raw_code = values.get("code")
        self.code = raw_code.strip() if isinstance(raw_code, str) and raw_code.strip() else None
        self.problems: list[RowProblem] = []

    def problem(self, field: str, slug: str, reason: str) -> None:
        self.problems.append(RowProblem(self.row, self.code, field, slug, reason))

    def text(self, field: str, max_length: int) -> str | None:
        value = self.values.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(field, "not_text", f"{field} must be text, not {value!r}.")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.problem(field, "too_long", f"{field} is longer than {max_length} characters.")
        return value or None

    def boolean(self, field: str, default: bool) -> bool:
        value = self.values.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return value.strip().lower() in TRUE_WORDS
        self.problem(field, "not_a_boolean",
                     f"{field} must be true or false (also yes/no, 1/0, 是/否), not {value!r}.")
        return default

    def minutes(self, field: str) -> int | None:
        value = self.values.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            hours = float(value)
        except ValueError:
            self.problem(field, "not_a_number",
                         f"{field} must be a number of hours, not {value!r}.")
            return None
        if not math.isfinite(hours) or hours <= 0:
            self.problem(field, "not_positive",
                         f"{field} must be more than 0 hours, not {value!r}.")
            return None
        if hours > MAX_LIMIT_HOURS:
            self.problem(field, "too_large",
                         f"{field} of {value} hours is over a year ({MAX_LIMIT_HOURS} h); "
                         "limits are in hours.")
            return None
        minutes = round(hours * 60)
        if abs(hours * 60 - minutes) > 1e-6:
            self.problem(field, "not_whole_minutes",
                         f"{field} of {value} hours is not a whole number of minutes.")
            return None
        return minutes

    def responsibility(self, field: str, token: object) -> Responsibility | None:
        try:
            return parse_responsibility(token)  # type: ignore[arg-type]
        except ValueError as exc:
            self.problem(field, "invalid_responsibility", str(exc))
            return None

    def cooperating(self, lead: Responsibility | None) -> tuple[str, ...]:
        value = self.values.get("cooperating")
        if isinstance(value, str):
            tokens: Sequence[object] = [t for t in value.split(";") if t.strip()]
        elif value is None:
            tokens = []
        elif isinstance(value, list):
            tokens = value
        else:
            self.problem("cooperating", "not_a_list",
                         "cooperating must be a list of tokens (in CSV: separated by ';').")
            return ()
        found: list[str] = []
        for token in tokens:
            parsed = self.responsibility("cooperating", token)
            if parsed is None:
                continue
            if lead is not None and parsed == lead:
                self.problem("cooperating", "cooperating_is_lead",
                             f"{parsed.token} leads this item; it cannot also cooperate.")
            elif parsed.token in found:
                self.problem("cooperating", "duplicate_cooperating",
                             f"{parsed.token} is listed twice.")
            else:
                found.append(parsed.token)
        if len(found) > MAX_COOPERATING:
            self.problem("cooperating", "too_many_cooperating",
                         f"At most {MAX_COOPERATING} cooperating units per item.")
        return tuple(found)


def check_row(row: int, values: Mapping[str, Any]) -> tuple[ItemSpec | None, list[RowProblem]]:
    """Check one row's fields on their own; the spec is None when any problem was found.

    ``values`` maps column names to what the file held: text (CSV, JSON) or, from JSON,
    numbers, booleans and lists. Missing or blank values take the defaults: no lead, no
    cooperating units, returnable and active.
    """
    r = _Row(row, values)
    problem = code_problem(r.code)
    if values.get("code") is not None and not isinstance(values.get("code"), str):
        r.problem("code", "not_text", f"code must be text, not {values.get('code')!r}.")
    elif problem:
        slug = "missing" if r.code is None else "invalid_code"
        r.problem("code", slug, f"code {problem}.")
    name = r.text("name", MAX_NAME_LENGTH)
    if name is None and not any(p.field == "name" for p in r.problems):
        r.problem("name", "missing", "name is required.")
    description = r.text("description", MAX_DESCRIPTION_LENGTH)
    lead_value = r.values.get("lead")
    lead_blank = lead_value is None or (isinstance(lead_value, str) and not lead_value.strip())
    lead = None if lead_blank else r.responsibility("lead", lead_value)
    cooperating = r.cooperating(lead)
    if cooperating and lead_blank:
        r.problem("cooperating", "cooperating_without_lead",
                  "An item with cooperating units needs a lead.")
    response = r.minutes("response_limit_hours")
    completion = r.minutes("completion_limit_hours")
    if lead is not None:
        for field, minutes in (("response_limit_hours", response),
                               ("completion_limit_hours", completion)):
            if minutes is None and not any(p.field == field for p in r.problems):
                r.problem(field, "limits_required",
                          f"An item with a lead needs {field} (it is dispatched with deadlines).")
    if response is not None and completion is not None and completion < response:
        r.problem("completion_limit_hours", "completion_before_response",
                  "The completion limit cannot be shorter than the response limit.")
    returnable = r.boolean("returnable", True)
    active = r.boolean("active", True)
    if r.problems or r.code is None or name is None:
        return None, r.problems
    return ItemSpec(r.code, name, description, lead.token if lead else None, cooperating,
                    response, completion, returnable, active), []


def check_rows(
    rows: Sequence[tuple[int, Mapping[str, Any]]], *, existing_codes: Collection[str]
) -> tuple[list[tuple[int, ItemSpec]], list[RowProblem]]:
    """Check every row, then the rows together: codes unique in the file, parents present.

    A parent may come from ``existing_codes`` (already stored, active or not) or from any
    row of the file, before or after its children; a parent row with problems of its own
    still counts as present, so one mistake is reported once.
    """
    specs: list[tuple[int, ItemSpec]] = []
    problems: list[RowProblem] = []
    first_row_of: dict[str, int] = {}
    for number, values in rows:
        spec, found = check_row(number, values)
        problems.extend(found)
        code = values.get("code")
        code = code.strip() if isinstance(code, str) else None
        if code and code_problem(code) is None:
            if code in first_row_of:
                problems.append(RowProblem(number, code, "code", "duplicate_code",
                                           f"{code} is also defined by row {first_row_of[code]}."))
                continue
            first_row_of[code] = number
        if spec is not None:
            specs.append((number, spec))
    for number, values in rows:
        code = values.get("code")
        code = code.strip() if isinstance(code, str) else None
        if not code or code_problem(code) is not None or first_row_of.get(code) != number:
            continue
        parent = parent_code(code)
        if parent is not None and parent not in first_row_of and parent not in existing_codes:
            problems.append(RowProblem(number, code, "code", "parent_missing",
                                       f"Its parent {parent} is neither in the file nor stored."))
    bad_rows = {p.row for p in problems}
    return [(n, s) for n, s in specs if n not in bad_rows], problems


def referenced(specs: Sequence[tuple[int, ItemSpec]], kind: LeadKind) -> set[str]:
    """The unit codes or department kinds the items name, to look up in one query."""
    return {
        r.value
        for _, spec in specs
        for token in (spec.lead, *spec.cooperating) if token
        for r in (parse_responsibility(token),)
        if r.kind is kind and r.value is not None
    }


def check_references(
    specs: Sequence[tuple[int, ItemSpec]],
    *,
    unit_codes: Collection[str],
    department_kinds: Collection[str],
    special_kinds: Collection[str] = (),
) -> list[RowProblem]:
    """Units named by code must exist; department kinds must be held by some department,
    special grid kinds by some active special grid.

    A kind nothing has is almost always a typo that would send every case of the item to
    triage, so it is refused; a district lacking that department, or a case outside every
    special grid of the kind, is normal and is decided per case by ``plan_dispatch``.
    """
    problems: list[RowProblem] = []
    for number, spec in specs:
        for field, tokens in (("lead", (spec.lead,)), ("cooperating", spec.cooperating)):
            for token in tokens:
                if token is None:
                    continue
                r = parse_responsibility(token)
                if r.kind is LeadKind.UNIT and r.value not in unit_codes:
                    problems.append(RowProblem(number, spec.code, field, "unknown_unit",
                                               f"No unit has code {r.value!r}."))
                elif r.kind is LeadKind.DEPARTMENT and r.value not in department_kinds:
                    known = ", ".join(sorted(department_kinds)) or "none yet"
                    problems.append(RowProblem(
                        number, spec.code, field, "unknown_department_kind",
                        f"No department has kind {r.value!r} (known: {known})."))
                elif r.kind is LeadKind.SPECIAL_GRID_OWNER and r.value not in special_kinds:
                    known = ", ".join(sorted(special_kinds)) or "none yet"
                    problems.append(RowProblem(
                        number, spec.code, field, "unknown_special_grid_kind",
                        f"No active special grid has kind {r.value!r} (known: {known})."))
    return problems
