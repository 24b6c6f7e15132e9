"""Lists people keep in spreadsheets (pure): rows with the number a person finds them by.

Districts keep the catalogue, postings and units in Excel or WPS, as .xlsx or saved as CSV.
One reader for both (the first worksheet of a workbook, with openpyxl): a header row
naming the columns (any order, any case; unknown, duplicate and missing required columns
refused), blank cells left out (defaults apply), a row with more values than the header
refused. Numbers are lines of the file (the header is line 1; blank lines count; a quoted
cell spanning lines is numbered by its first line); in a workbook they are the sheet's row
numbers, and problems name the sheet. One rejection shape for every import built on it.

Cells obey the text rule of every other input (``server.core.text``): a cell holding a C0
control character other than tab, line feed and carriage return is refused as
``invalid_text``, naming its row and column, and nothing of the file is imported. Excel and
WPS store such characters in a workbook as ``_xHHHH_`` escapes (ECMA-376 ST_Xstring;
``_x005F_`` escapes the underscore itself), which openpyxl leaves as they are: cells are
read through that escape, so ``_x000D_`` is the carriage return of a line break and
``_x0001_`` is caught like a raw U+0001 in a CSV.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Generic, Protocol, TypeVar
from xml.etree.ElementTree import ParseError

import openpyxl

from server.core.errors import Invalid
from server.core.text import bad_char, clean


class Problem(Protocol):
    row: int
    field: str
    problem: str
    reason: str

    def as_dict(self) -> dict[str, Any]: ...


P = TypeVar("P", bound=Problem)
# (row, key of the row or None, field, problem slug, reason) -> the area's problem type
ProblemFactory = Callable[[int, str | None, str, str, str], P]
_XSTRING_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")


@dataclass
class Sheet(Generic[P]):
    """Rows read from a file (number, values by column) and the problems of the file itself."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[P] = field(default_factory=list)
    name: str | None = None  # the worksheet's name (.xlsx); None for CSV


def read_csv(
    data: bytes,
    *,
    columns: Sequence[str],
    required: Collection[str],
    key: str,
    problem: ProblemFactory[P],
    progress: Callable[[int], None] | None = None,
) -> Sheet[P]:
    """Read a UTF-8 CSV (BOM optional); ``key`` names the column that identifies a row in
    problems (the item code, the staff member). ``progress`` is told each line read
    (a command-line progress bar)."""
    sheet: Sheet[P] = Sheet()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        sheet.problems.append(problem(
            line, None, "file", "not_utf8",
            "The file is not UTF-8 (Excel's plain 'CSV' is GBK on Chinese Windows): "
            "save it as 'CSV UTF-8' and import again."))
        return sheet
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if progress is not None:
                progress(start - line)
            if header is None:
                if not any(value.strip() for value in record):
                    continue
                header = read_header(record, columns, required, sheet, problem)
                if header is None:
                    return sheet
                continue
            add_record(line, header, record, key, sheet, problem)
    except csv.Error as exc:
        sheet.problems.append(problem(start, None, "file", "malformed_csv",
                                      f"The CSV cannot be read here: {exc}."))
    if header is None and not sheet.problems:
        sheet.problems.append(problem(1, None, "file", "empty_file", "The file has no header row."))
    return sheet


def read_xlsx(
    data: bytes,
    *,
    columns: Sequence[str],
    required: Collection[str],
    key: str,
    problem: ProblemFactory[P],
    progress: Callable[[int], None] | None = None,
) -> Sheet[P]:
    """Read the first worksheet of an .xlsx workbook like a CSV: the first non-blank row is
    the header, numbers are the sheet's row numbers. Cells become the text a person typed:
    24.0 → "24", a date → 2026-12-01, a time → 08:30, TRUE → "true"."""
    sheet: Sheet[P] = Sheet()
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as exc:
        # ParseError: XML that is not well-formed, such as a raw control character in the
        # shared strings (XML 1.0 has no way to carry one).
        sheet.problems.append(problem(
            1, None, "file", "not_xlsx",
            f"The file is not an Excel workbook (.xlsx) openpyxl can read: {exc}."))
        return sheet
    number = 0
    try:
        worksheet = workbook.worksheets[0]
        sheet.name = worksheet.title
        header: list[str] | None = None
        for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if progress is not None:
                progress(1)
            record = [cell_text(c) for c in cells]
            if header is None:
                if any(v.strip() for v in record):
                    header = read_header(_trim(record), columns, required, sheet, problem,
                                         row=number)
                    if header is None:
                        return sheet
                continue
            add_record(number, header, record, key, sheet, problem)
    except ParseError as exc:  # the worksheet's XML breaks off (read-only mode reads lazily)
        sheet.problems.append(problem(
            number + 1, None, "file", "malformed_xlsx",
            f"The sheet cannot be read after row {number}: {exc}."))
        return sheet
    finally:
        workbook.close()
    if header is None and not sheet.problems:
        sheet.problems.append(
            problem(1, None, "file", "empty_file", "The sheet has no header row."))
    return sheet


def row_estimate(data: bytes, kind: str) -> int | None:
    """Rows a progress bar should expect: lines of a CSV, the first sheet's stated size of
    a workbook (None when the workbook does not say, or cannot be opened)."""
    if kind == "csv":
        return data.count(b"\n") + 1
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None
    try:
        return workbook.worksheets[0].max_row
    finally:
        workbook.close()


def _trim(record: list[str]) -> list[str]:
    """A header without the empty cells Excel leaves after the last column."""
    while record and not record[-1].strip():
        record = record[:-1]
    return record


def cell_text(value: object) -> str:
    """What a person typed in a cell, as the CSV reader would have seen it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, str):
        return _XSTRING_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    return str(value)


def read_header(
    record: Sequence[str],
    columns: Sequence[str],
    required: Collection[str],
    sheet: Sheet[P],
    problem: ProblemFactory[P],
    *,
    row: int = 1,
) -> list[str] | None:
    """The column names, lower-cased, or None when the header is refused (problems added)."""
    header = [name.strip().lower() for name in record]
    found: list[P] = []
    for position, name in enumerate(header):
        if name not in columns:
            found.append(problem(
                row, None, name or f"column {position + 1}", "unknown_column",
                f"Unknown column {record[position]!r}; the columns are: {', '.join(columns)}."))
        elif name in header[:position]:
            found.append(problem(row, None, name, "duplicate_column",
                                 f"Column {name!r} appears twice."))
    found += [problem(row, None, name, "missing_column", f"The header has no {name!r} column.")
              for name in required if name not in header]
    sheet.problems.extend(found)
    return None if found else header


def add_record(
    number: int,
    header: Sequence[str],
    record: Sequence[str],
    key: str,
    sheet: Sheet[P],
    problem: ProblemFactory[P],
) -> None:
    """One data row: blank rows are skipped, blank cells left out (Excel drops trailing
    empty cells, so a short row is fine), values beyond the header refused, and each cell
    holding a forbidden character refused by its column (``invalid_text``)."""
    if not any(value.strip() for value in record):
        return
    # A refused cell is kept with U+FFFD in place of each forbidden character: the file is
    # rejected anyway, the row's other problems are still reported, and the later checks
    # (which look codes up in the database: PostgreSQL refuses NUL) see a harmless text.
    refused = [(name, char) for name, value in zip(header, record, strict=False)
               if (char := bad_char(value)) is not None]
    values = {name: clean(value).strip() for name, value in zip(header, record, strict=False)
              if value.strip()}
    for name, char in refused:
        sheet.problems.append(problem(
            number, values.get(key), name, "invalid_text",
            f"'{name}' holds a control character (U+{ord(char):04X}); remove it and "
            "import again."))
    if len(record) > len(header) and any(v.strip() for v in record[len(header):]):
        sheet.problems.append(problem(
            number, values.get(key), "file", "extra_values",
            f"The row has {len(record)} values but the header names {len(header)} columns."))
    sheet.rows.append((number, values))


def rejection(
    problems: Sequence[Problem],
    *,
    code: str,
    location: str,
    collection: str,
    numbering: str,
    max_shown: int,
    sheet: str | None = None,
) -> Invalid:
    """Every problem of an import in one 422: by row and field in ``errors``, one entry per
    problem in ``details``; the message names the first and says nothing was imported.
    From a workbook, ``sheet`` names the worksheet in the message and in each detail."""
    problems = sorted(problems, key=lambda p: p.row)
    shown = problems[:max_shown]
    by_row: dict[str, dict[str, list[str]]] = {}
    for p in shown:
        by_row.setdefault(str(p.row), {}).setdefault(p.field, []).append(
            f"{p.problem}: {p.reason}")
    rows = len({p.row for p in problems})
    more = (f" The first {len(shown)} of {len(problems)} problems are listed."
            if len(problems) > len(shown) else "")
    first = problems[0]
    where = "" if sheet is None else f" of sheet {sheet!r}"
    return Invalid(
        f"{len(problems)} problem(s) in {rows} {numbering}(s){where}, the first at {numbering} "
        f"{first.row}: {first.reason} Nothing was imported.{more}",
        code=code,
        errors={location: {collection: by_row}},
        details=[p.as_dict() if sheet is None else {"sheet": sheet, **p.as_dict()}
                 for p in shown],
    )
