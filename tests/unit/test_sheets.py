"""The shared spreadsheet reader (pure): header checks, row numbers, cells as typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import pytest

from server.core.sheets import cell_text, read_csv


@dataclass(frozen=True)
class P:
    row: int
    key: str | None
    field: str
    problem: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row}


def read(text: str):  # noqa: ANN201
    return read_csv(text.encode(), columns=("code", "name"), required=("code",), key="code",
                    problem=P)


def test_rows_are_numbered_by_line_and_blank_cells_left_out():
    sheet = read("\ufeffCode,Name\n\n01,\"两\n行\"\n02,\n")
    assert sheet.rows == [(3, {"code": "01", "name": "两\n行"}), (5, {"code": "02"})]
    assert sheet.problems == []


def test_header_problems_are_all_on_the_header_line():
    sheet = read("\n\nname,name,colour\n")
    assert [(p.row, p.field, p.problem) for p in sheet.problems] == [
        (1, "name", "duplicate_column"), (1, "colour", "unknown_column"),
        (1, "code", "missing_column")]


def test_extra_values_name_the_row_and_its_key():
    sheet = read("code,name\n01,a,b\n")
    assert [(p.row, p.key, p.problem) for p in sheet.problems] == [(2, "01", "extra_values")]


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (24.0, "24"), (0.5, "0.5"), (7, "7"), (True, "true"),
    (datetime(2026, 11, 1), "2026-11-01"),  # noqa: DTZ001 (Excel's cells are naive)
    (date(2026, 11, 1), "2026-11-01"), (time(8, 30), "08:30"), ("是", "是"),
])
def test_cells_become_the_text_a_person_typed(value, text):
    assert cell_text(value) == text


def test_a_cell_with_a_control_character_is_refused_by_row_and_column_and_kept_cleaned():
    sheet = read("code,name\n01,a\x00b\n0\x1f2,\x0c\n03,tab\there\r\n")
    assert [(p.row, p.key, p.field, p.problem) for p in sheet.problems] == [
        (2, "01", "name", "invalid_text"), (3, "0\ufffd2", "code", "invalid_text"),
        (3, "0\ufffd2", "name", "invalid_text")]
    assert "U+0000" in sheet.problems[0].reason
    assert sheet.rows == [(2, {"code": "01", "name": "a\ufffdb"}), (3, {"code": "0\ufffd2"}),
                          (4, {"code": "03", "name": "tab\there"})]


@pytest.mark.parametrize(("value", "text"), [
    ("a_x000D_\nb", "a\r\nb"), ("_x0001_", "\x01"), ("_x005F_x0001_", "_x0001_"),
    ("x_x4E2D_", "x中"), ("_x00_", "_x00_"),
])
def test_workbook_texts_are_read_through_excels_escape(value, text):
    assert cell_text(value) == text
