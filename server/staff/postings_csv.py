"""The postings list (pure): rows with their line numbers, each checked into fields or problems.

A district posts hundreds of staff at once from a spreadsheet: UTF-8 (BOM optional), a
header row, one posting per row, grid codes separated by ';'. Line numbers are lines of the
file (the header is line 1), as in the catalogue import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.core import sheets
from server.staff.rules import PostingMode, VisitPeriod, parse_days, parse_hhmm

COLUMNS = (
    "staff",
    "grids",
    "mode",
    "days",
    "start",
    "end",
    "visits",
    "per",
    "valid_from",
    "valid_to",
    "note",
)
REQUIRED_COLUMNS = ("staff", "grids", "mode", "valid_from")


@dataclass(frozen=True)
class RowProblem:
    row: int
    staff: str | None
    field: str
    problem: str  # stable snake_case slug
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "staff": self.staff,
            "field": self.field,
            "problem": self.problem,
            "reason": self.reason,
        }


@dataclass
class PostingRow:
    """A row read and checked for syntax; names (username, grid codes) are resolved later."""

    line: int
    staff: str
    grid_codes: list[str]
    fields: dict[str, Any]


@dataclass
class PostingsFile:
    location: str = "csv"  # where the ``errors`` report points: "csv" or "xlsx"
    sheet: str | None = None  # .xlsx: the worksheet read
    rows: list[PostingRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def read_csv(data: bytes) -> PostingsFile:
    """Read a postings CSV with the shared spreadsheet reader (``server.core.sheets``)."""
    return _from_sheet("csv", sheets.read_csv(
        data, columns=COLUMNS, required=REQUIRED_COLUMNS, key="staff", problem=RowProblem))


def read_xlsx(data: bytes) -> PostingsFile:
    """Read the first worksheet of an Excel workbook; rows are the sheet's row numbers."""
    return _from_sheet("xlsx", sheets.read_xlsx(
        data, columns=COLUMNS, required=REQUIRED_COLUMNS, key="staff", problem=RowProblem))


def _from_sheet(location: str, sheet: sheets.Sheet[RowProblem]) -> PostingsFile:
    """Check each row read from a sheet into fields or problems."""
    result = PostingsFile(location, sheet.name, problems=list(sheet.problems))
    for line, values in sheet.rows:
        _check_row(line, values, result)
    return result


def _check_row(line: int, values: dict[str, str], result: PostingsFile) -> None:
    staff = values.get("staff")
    problems: list[RowProblem] = []

    def problem(name: str, slug: str, reason: str) -> None:
        problems.append(RowProblem(line, staff, name, slug, reason))

    for name in REQUIRED_COLUMNS:
        if name not in values:
            problem(name, "required", f"'{name}' is required.")
    fields: dict[str, Any] = {"note": values.get("note")}
    try:
        fields["mode"] = PostingMode(values.get("mode", "stationed"))
    except ValueError:
        problem("mode", "invalid_mode", "mode is 'stationed' or 'patrolling'.")
    for name in ("valid_from", "valid_to"):
        if name in values:
            try:
                fields[name] = date.fromisoformat(values[name])
            except ValueError:
                problem(name, "invalid_date", f"{name} is a date like 2026-12-01.")
        else:
            fields[name] = None
    if fields.get("mode") is PostingMode.STATIONED:
        try:
            fields["weekdays"] = list(parse_days(values.get("days", "")))
            fields["day_start"] = parse_hhmm(values.get("start", ""))
            fields["day_end"] = parse_hhmm(values.get("end", ""))
        except ValueError:
            problem(
                "days",
                "invalid_schedule",
                "A stationed posting needs days (e.g. 1-5) and start/end (HH:MM).",
            )
    elif fields.get("mode") is PostingMode.PATROLLING:
        try:
            fields["visits_required"] = int(values.get("visits", ""))
            fields["visit_period"] = VisitPeriod(values.get("per", "week"))
        except ValueError:
            problem(
                "visits",
                "invalid_visits",
                "A patrolling posting needs visits (a number) and per (week or month).",
            )
    if problems:
        result.problems.extend(problems)
        return
    codes = [c.strip() for c in values["grids"].split(";") if c.strip()]
    result.rows.append(PostingRow(line, staff or "", codes, fields))
