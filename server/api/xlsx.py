"""A report Table as an XLSX workbook (openpyxl): typed cells, frozen header, native line chart.

Sheet 1 holds the table with its header in row 1 (so Excel's filter, pandas and Power Query
read it as is), frozen and filtered; sheet 说明 holds the title and the notes. A Chart becomes
an Excel LineChart anchored right of the data, referring to the cells (not a picture), so the
people who receive the pack can restyle it. Percent series and score series (0–100) sit on two
y axes when a chart has both, or the 0–1 percent lines would lie flat along the bottom.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from server.api.tables import csv_value, local_datetime
from server.reports.tables import Chart, Column, ColumnType, Table

NUMBER_FORMATS = {
    ColumnType.INTEGER: "#,##0",
    ColumnType.NUMBER: "0.00",
    ColumnType.PERCENT: "0.00%",
    ColumnType.DATETIME: "yyyy-mm-dd hh:mm:ss",
    ColumnType.DATE: "yyyy-mm-dd",
}
HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
MAX_WIDTH = 60
NOTES_SHEET = "说明"


def table_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(table.title or table.name)
    workbook.properties.title = table.title
    _write_cells(sheet, table)
    if table.chart is not None and table.rows:
        _add_chart(sheet, table, table.chart)
    _write_notes(workbook.create_sheet(NOTES_SHEET), table)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def sheet_title(text: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\ ."""
    return re.sub(r"[\[\]:*?/\\]", " ", text).strip()[:31] or "Sheet1"


def _write_cells(sheet: Worksheet, table: Table) -> None:
    for col, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=col, value=column.title)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(table.rows, start=2):
        for col, column in enumerate(table.columns, start=1):
            _set_cell(sheet, r, col, row.get(column.key), column)
    sheet.freeze_panes = "A2"
    if table.columns:
        last = get_column_letter(len(table.columns))
        sheet.auto_filter.ref = f"A1:{last}{max(len(table.rows) + 1, 1)}"
    for col, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = _width(table, column)


def _set_cell(sheet: Worksheet, row: int, col: int, value: Any, column: Column) -> None:
    cell = sheet.cell(row=row, column=col)
    cell.value = xlsx_value(value, column.type)
    if isinstance(cell.value, str):
        cell.data_type = "s"  # "=…" from a resident's text is text, never a formula
    if column.type in NUMBER_FORMATS and cell.value is not None:
        cell.number_format = NUMBER_FORMATS[column.type]


def xlsx_value(value: Any, kind: ColumnType) -> Any:
    """The cell value: numbers as numbers (percent / 100), datetimes as Beijing wall time."""
    if value is None:
        return None
    if kind is ColumnType.PERCENT:
        return float(Decimal(str(value)) / 100)
    if kind is ColumnType.NUMBER:
        return float(value)
    if kind is ColumnType.INTEGER:
        return int(value)
    if kind is ColumnType.DATETIME:
        return local_datetime(value)
    if kind is ColumnType.DATE:
        return value
    if kind is ColumnType.BOOLEAN:
        return "是" if value else "否"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def display_width(text: str) -> int:
    """Columns Excel needs for the text: CJK and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(table: Table, column: Column) -> float:
    longest = display_width(column.title)  # the text people see is the CSV text
    for row in table.rows[:500]:  # a sample is enough for a width
        longest = max(longest, display_width(csv_value(row.get(column.key), column.type)))
    return min(longest + 2, MAX_WIDTH)


def _add_chart(sheet: Worksheet, table: Table, chart: Chart) -> None:
    keys = [c.key for c in table.columns]
    last_row = len(table.rows) + 1
    categories = Reference(sheet, min_col=keys.index(chart.category) + 1, min_row=2,
                           max_row=last_row)
    percent = [k for k in chart.series if table.column(k).type is ColumnType.PERCENT]
    others = [k for k in chart.series if k not in percent]
    text = table.column(chart.category).type is ColumnType.TEXT
    primary = _line_chart(sheet, keys, percent or others, categories, last_row,
                          text_categories=text)
    primary.title = chart.title
    primary.x_axis.title = table.column(chart.category).title
    primary.y_axis.number_format = "0%" if percent else "0"
    if percent and others:
        secondary = _line_chart(sheet, keys, others, categories, last_row,
                                text_categories=text)
        secondary.y_axis.axId = 200
        secondary.y_axis.title = "分"
        secondary.y_axis.crosses = "max"
        primary += secondary
    primary.height, primary.width = 9, 18
    sheet.add_chart(primary, f"{get_column_letter(len(keys) + 2)}2")


def _line_chart(sheet: Worksheet, keys: list[str], series: list[str], categories: Reference,
                last_row: int, *, text_categories: bool) -> LineChart:
    chart = LineChart()
    for key in series:
        col = keys.index(key) + 1
        chart.add_data(Reference(sheet, min_col=col, min_row=1, max_row=last_row),
                       titles_from_data=True)
    chart.set_categories(categories)
    if text_categories:  # openpyxl refers to categories as numbers; months are text labels
        for line in chart.series:
            line.cat = AxDataSource(strRef=StrRef(f=line.cat.numRef.f))
    # openpyxl ≥ 3.1 marks axes deleted by default; Excel then draws no labels at all.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def _write_notes(sheet: Worksheet, table: Table) -> None:
    sheet["A1"] = table.title
    sheet["A1"].font = Font(bold=True, size=13)
    for i, note in enumerate(table.notes, start=3):
        sheet.cell(row=i, column=1, value=note).data_type = "s"
    sheet.column_dimensions["A"].width = MAX_WIDTH * 2
