"""Report tables as the API sends them: JSON, CSV (UTF-8 with BOM) or XLSX with a native chart.

Every evaluation endpoint takes ``format`` (``FormatArgsSchema``): ``json`` answers the
endpoint's own documented schema, ``csv`` and ``xlsx`` answer its ``Table`` as a download.
``table_json`` is the JSON of any Table (``TableSchema`` documents it).

- CSV: UTF-8 with a byte-order mark, because Excel on Chinese Windows opens a BOM-less CSV as
  GBK and shows mojibake. The header row is the columns' Chinese titles; percents are written
  ``97.01%`` (Excel reads that as a percent), datetimes in Beijing time.
- XLSX: one sheet of typed cells (percent cells hold value/100 with ``0.00%``), the header
  row frozen and filtered, column widths from the content, the title and notes on a second
  sheet 说明, and the table's Chart as a native Excel line chart next to the data.

Text that starts like a formula (= + - @) is never a formula: CSV cells get a leading
apostrophe and XLSX cells are written as strings (OWASP "CSV injection"), because case
titles and comments come from residents.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any
from urllib.parse import quote

from flask import Response, jsonify
from flask_smorest import Blueprint
from marshmallow import fields

from server.api.schemas import StrictSchema
from server.core.clock import LOCAL_TZ
from server.reports.tables import ColumnType, Table

CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
LOCAL_DATETIME = "%Y-%m-%d %H:%M:%S"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class FormatArgsSchema(StrictSchema):
    """Mix into a query schema: ``class RankingArgsSchema(PeriodArgsSchema, FormatArgsSchema)``."""

    EXAMPLE = {"format": "json"}

    format = fields.Enum(
        TableFormat, by_value=True, load_default=TableFormat.JSON,
        metadata={"description": "json (the documented schema), csv (UTF-8 with BOM, Chinese "
                                 "headers) or xlsx (typed cells, frozen header, native chart)"},
    )


class ColumnSchema(StrictSchema):
    EXAMPLE = {"key": "satisfaction", "title": "小区门口垃圾桶满溢", "type": "text"}

    key = fields.String(metadata={"description": "The key of each row's value"})
    title = fields.String(metadata={"description": "The header people read (Chinese)"})
    type = fields.Enum(ColumnType, by_value=True, metadata={
        "description": "percent holds 97.01 for 97.01 %; datetime is ISO 8601 UTC"})


class ChartSchema(StrictSchema):
    EXAMPLE = {"title": "小区门口垃圾桶满溢", "category": "0301", "series": ["on_time_rate"]}

    title = fields.String()
    category = fields.String(metadata={"description": "Column key along the x axis"})
    series = fields.List(fields.String(), metadata={"description": "Column keys of the lines"})


class TableSchema(StrictSchema):
    """Any report table: its columns (key, Chinese title, type), rows keyed by column key."""

    EXAMPLE = {
        "name": "望京街道",
        "title": "小区门口垃圾桶满溢",
        "columns": [{"key": "satisfaction", "title": "小区门口垃圾桶满溢", "type": "text"}],
        "rows": [{}],
        "chart": {"title": "小区门口垃圾桶满溢", "category": "0301", "series": ["on_time_rate"]},
        "notes": ["已电话联系居民，约定下午上门。"],
    }

    name = fields.String(metadata={"description": "File name stem of the CSV/XLSX download"})
    title = fields.String()
    columns = fields.List(fields.Nested(ColumnSchema))
    rows = fields.List(fields.Dict(keys=fields.String()), metadata={
        "description": "One object per row, keyed by column key; null where there is no value"})
    chart = fields.Nested(ChartSchema, allow_none=True)
    notes = fields.List(fields.String(), metadata={"description": "What counts and what not"})


# The shape of every table's CSV (the columns are the table's own).
CSV_EXAMPLE = "\ufeff单位,受理量,按期办结率\r\n望京街道,45,93.3%\r\n"


def table_formats_doc(status: int = 200):  # noqa: ANN201 - a flask-smorest decorator
    """Document the csv/xlsx answers beside the endpoint's JSON schema in OpenAPI.

    Use with ``@blp.response(200, SomeSchema)``; the JSON content stays as documented there
    (the status is an int, as flask-smorest keys it: a "200" key would replace that doc).
    """
    return Blueprint.doc(responses={status: {"content": {
        "text/csv": {"schema": {"type": "string", "description":
                                "format=csv: UTF-8 with BOM, header row of Chinese titles"},
                     "example": CSV_EXAMPLE},
        XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary", "description":
                                   "format=xlsx: one sheet of typed cells, notes in 说明"}},
    }}})


def send_table(table: Table, fmt: TableFormat | str) -> Response:
    """The table as a download (fmt csv or xlsx), or as JSON (fmt json)."""
    fmt = TableFormat(fmt)
    if fmt is TableFormat.JSON:
        return jsonify(table_json(table))
    if fmt is TableFormat.CSV:
        body, mimetype = table_csv(table), CSV_MIMETYPE
    else:
        from server.api.xlsx import table_xlsx  # xlsx builds on this module's cell texts

        body, mimetype = table_xlsx(table), XLSX_MIMETYPE
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": content_disposition(f"{table.name}.{fmt.value}"),
        "Cache-Control": "private, no-store",  # scoped figures: no shared caches
    })


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and ``filename*`` in UTF-8 for the rest."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", unicodedata.normalize("NFKD", filename))
    ascii_name = ascii_name.strip("_.") or "table"
    if "." not in ascii_name and "." in filename:
        ascii_name += "." + filename.rsplit(".", 1)[1]
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def table_json(table: Table) -> dict[str, Any]:
    """The TableSchema shape; values as JSON types (datetimes ISO 8601 UTC, dates ISO)."""
    keys = [c.key for c in table.columns]
    return {
        "name": table.name,
        "title": table.title,
        "columns": [{"key": c.key, "title": c.title, "type": c.type.value}
                    for c in table.columns],
        "rows": [{k: _json_value(row.get(k)) for k in keys} for row in table.rows],
        "chart": None if table.chart is None else {
            "title": table.chart.title, "category": table.chart.category,
            "series": list(table.chart.series)},
        "notes": list(table.notes),
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # UUIDs and such


def table_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends, as Excel writes
    writer.writerow([c.title for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(row.get(c.key), c.type) for c in table.columns])
    return (BOM + out.getvalue()).encode("utf-8")


def csv_value(value: Any, kind: ColumnType) -> str:
    """One cell as people read it: 97.01%, 2026-11-05 14:30:00 (Beijing), 是/否, blank."""
    if value is None:
        return ""
    if kind is ColumnType.PERCENT:
        return f"{Decimal(str(value)):.2f}%"
    if kind is ColumnType.NUMBER:
        return f"{Decimal(str(value)):.2f}"
    if kind is ColumnType.DATETIME:
        return local_datetime(value).strftime(LOCAL_DATETIME)
    if kind is ColumnType.BOOLEAN:
        return "是" if value else "否"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if kind is ColumnType.TEXT and text.startswith(_FORMULA_START) else text


def local_datetime(value: datetime) -> datetime:
    """An aware datetime as Beijing wall time without tzinfo (what a spreadsheet shows)."""
    if value.tzinfo is None:
        raise ValueError("Report datetimes are aware UTC; a naive one is a bug.")
    return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
