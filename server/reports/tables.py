"""A report table as data: columns with Chinese headers and a type, rows, an optional chart.

Every evaluation endpoint builds one Table; the API renders it as JSON, CSV (UTF-8 with BOM,
so Excel reads the Chinese) or XLSX (typed cells, frozen header, a native line chart) without
knowing what the table means. Values are plain: ``int``, ``float``/``Decimal``, ``str``,
aware ``datetime``, ``date`` or ``None``.

Percent columns hold percentages as the seeds write them (97.01 means 97.01 %), rounded to
two decimals; the XLSX renderer writes value / 100 with Excel's ``0.00%`` format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ColumnType(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"  # a score or a ratio with decimals (composite 97.63, 万人诉求比 3.25)
    PERCENT = "percent"  # 97.01 for 97.01 %
    DATETIME = "datetime"  # aware; rendered in Beijing time in CSV/XLSX, ISO 8601 in JSON
    DATE = "date"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    key: str  # the JSON key of each row
    title: str  # the header people read (Chinese): "响应率"
    type: ColumnType = ColumnType.TEXT


@dataclass(frozen=True)
class Chart:
    """A line chart of the table's rows: one line per series column, x along ``category``."""

    title: str
    category: str  # column key for the x axis (e.g. "period")
    series: tuple[str, ...]  # column keys of the lines (e.g. ("response_rate", ...))


@dataclass
class Table:
    name: str  # file name stem: "township-ranking-2026-11"
    title: str  # sheet heading: "2026年11月 街乡排名"
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)  # what counts and what not, in words

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)
