"""The catalogue's file formats, CSV and JSON: rows in with their numbers, rows out (pure).

CSV is what people keep catalogues in (Excel, WPS): UTF-8 with or without a BOM, a header
row naming the columns, cooperating tokens separated by ';'. JSON is ``{"items": [...]}``
with the same names. Export writes what import reads, so a round trip changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.catalogue.rules import (
    COLUMNS,
    REQUIRED_COLUMNS,
    ItemSpec,
    RowProblem,
    hours_from_minutes,
)

# Excel only reads a UTF-8 CSV as UTF-8 when it starts with a BOM; without it, Chinese
# names turn to mojibake on a Chinese-locale Windows.
BOM = "\ufeff"


@dataclass
class CatalogueFile:
    """Rows read from a file, each with the number a person finds it by, and file problems."""

    location: str  # "csv" or "json": where the ``errors`` report points
    collection: str  # "rows" or "items"
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def read_csv(data: bytes) -> CatalogueFile:
    """Read a CSV catalogue. Row numbers are lines of the file: the header is line 1.

    A record whose quoted text spans lines is numbered by its first line; blank lines are
    skipped but still counted.
    """
    result = CatalogueFile("csv", "rows")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        result.problems.append(RowProblem(
            line, None, "file", "not_utf8",
            "The file is not UTF-8 (Excel's plain 'CSV' is GBK on Chinese Windows): "
            "save it as 'CSV UTF-8' and import again."))
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in record):
                continue
            if header is None:
                header = _read_header(record, result)
                if header is None:
                    return result
                continue
            result.rows.append((line, _read_record(line, header, record, result)))
    except csv.Error as exc:
        result.problems.append(RowProblem(start, None, "file", "malformed_csv",
                                          f"The CSV cannot be read here: {exc}."))
    if header is None and not result.problems:
        result.problems.append(RowProblem(1, None, "file", "empty_file",
                                          "The file has no header row."))
    return result


def _read_header(record: list[str], result: CatalogueFile) -> list[str] | None:
    header = [name.strip().lower() for name in record]
    ok = True
    for position, name in enumerate(header):
        if name not in COLUMNS:
            result.problems.append(RowProblem(
                1, None, name or f"column {position + 1}", "unknown_column",
                f"Unknown column {record[position]!r}; the columns are: {', '.join(COLUMNS)}."))
            ok = False
        elif name in header[:position]:
            result.problems.append(RowProblem(1, None, name, "duplicate_column",
                                              f"Column {name!r} appears twice."))
            ok = False
    for name in REQUIRED_COLUMNS:
        if name not in header:
            result.problems.append(RowProblem(1, None, name, "missing_column",
                                              f"The header has no {name!r} column."))
            ok = False
    return header if ok else None


def _read_record(
    line: int, header: list[str], record: list[str], result: CatalogueFile
) -> dict[str, Any]:
    # Blank cells are absent values (defaults apply); Excel drops trailing empty cells.
    values = {name: value for name, value in zip(header, record, strict=False)
              if value.strip()}
    if len(record) > len(header) and any(v.strip() for v in record[len(header):]):
        code = values.get("code")
        result.problems.append(RowProblem(
            line, code.strip() if code else None, "file", "extra_values",
            f"The row has {len(record)} values but the header names {len(header)} columns."))
    return values


def read_json_items(items: object) -> CatalogueFile:
    """Read the ``items`` of a JSON catalogue. Row numbers are 0-based indexes in ``items``."""
    result = CatalogueFile("json", "items")
    if not isinstance(items, list):
        result.problems.append(RowProblem(0, None, "items", "not_a_list",
                                          "'items' must be a list of objects."))
        return result
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            result.problems.append(RowProblem(index, None, "item", "not_an_object",
                                              f"Item {index} is not an object."))
            continue
        code = item.get("code") if isinstance(item.get("code"), str) else None
        for key in item:
            if key not in COLUMNS:
                result.problems.append(RowProblem(
                    index, code, str(key), "unknown_column",
                    f"Unknown field {key!r}; the fields are: {', '.join(COLUMNS)}."))
        result.rows.append((index, item))
    return result


def spec_as_json(spec: ItemSpec) -> dict[str, Any]:
    """One item as the JSON import reads it."""
    return {
        "code": spec.code,
        "name": spec.name,
        "lead": spec.lead,
        "cooperating": list(spec.cooperating),
        "response_limit_hours": hours_from_minutes(spec.response_limit_minutes),
        "completion_limit_hours": hours_from_minutes(spec.completion_limit_minutes),
        "returnable": spec.returnable,
        "active": spec.active,
        "description": spec.description,
    }


def write_csv(specs: Iterable[ItemSpec]) -> str:
    """The catalogue as CSV text with a BOM, columns in the documented order."""
    out = io.StringIO(newline="")
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for spec in specs:
        writer.writerow(_csv_cell(v) for v in _csv_values(spec_as_json(spec)))
    return out.getvalue()


def _csv_values(row: Mapping[str, Any]) -> list[Any]:
    return [";".join(row[c]) if c == "cooperating" else row[c] for c in COLUMNS]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
