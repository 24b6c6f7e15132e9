"""The catalogue's file formats, CSV, .xlsx and JSON: rows in with their numbers, rows out (pure).

CSV is what people keep catalogues in (Excel, WPS): UTF-8 with or without a BOM, a header
row naming the columns, cooperating tokens separated by ';'. JSON is ``{"items": [...]}``
with the same names. Export writes what import reads, so a round trip changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.catalogue.rules import (
    COLUMNS,
    REQUIRED_COLUMNS,
    ItemSpec,
    RowProblem,
    hours_from_minutes,
)
from server.core import sheets

# Excel only reads a UTF-8 CSV as UTF-8 when it starts with a BOM; without it, Chinese
# names turn to mojibake on a Chinese-locale Windows.
BOM = "\ufeff"


@dataclass
class CatalogueFile:
    """Rows read from a file, each with the number a person finds it by, and file problems."""

    location: str  # "csv", "xlsx" or "json": where the ``errors`` report points
    collection: str  # "rows" or "items"
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    sheet: str | None = None  # .xlsx: the worksheet read


def read_csv(data: bytes, progress: Callable[[int], None] | None = None) -> CatalogueFile:
    """Read a CSV catalogue with the shared spreadsheet reader (``server.core.sheets``): row
    numbers are lines of the file, the header is line 1."""
    sheet = sheets.read_csv(data, columns=COLUMNS, required=REQUIRED_COLUMNS, key="code",
                            problem=RowProblem, progress=progress)
    return CatalogueFile("csv", "rows", list(sheet.rows), sheet.problems)


def read_xlsx(data: bytes, progress: Callable[[int], None] | None = None) -> CatalogueFile:
    """Read the first worksheet of an .xlsx catalogue: the same columns and checks as CSV,
    row numbers are the sheet's and problems name the sheet."""
    sheet = sheets.read_xlsx(data, columns=COLUMNS, required=REQUIRED_COLUMNS, key="code",
                             problem=RowProblem, progress=progress)
    return CatalogueFile("xlsx", "rows", list(sheet.rows), sheet.problems, sheet.name)


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
