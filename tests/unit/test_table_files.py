"""Report tables as files: XLSX read back with openpyxl (chart, formats, frozen header), CSV
with a BOM read back with csv, the JSON shape, file names, the format argument and its docs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import unquote

import marshmallow as ma
import pytest
from flask import Flask
from flask_smorest import Api, Blueprint
from openpyxl import load_workbook

from server.api.tables import (
    BOM,
    XLSX_MIMETYPE,
    FormatArgsSchema,
    TableSchema,
    send_table,
    table_formats_doc,
    table_json,
)
from server.reports.tables import Chart, Column, ColumnType, Table

MONTHS = ["2026-09", "2026-10", "2026-11"]


def trend_table() -> Table:
    """A unit's monthly trend as scores.monthly_trend shapes it: rates, composite, a chart."""
    return Table(
        name="trend-望京街道-2026-11",
        title="望京街道 月度趋势",
        columns=[
            Column("period", "月份"),
            Column("rated", "考核件", ColumnType.INTEGER),
            Column("response_rate", "响应率", ColumnType.PERCENT),
            Column("satisfaction_rate", "满意率", ColumnType.PERCENT),
            Column("composite", "综合成绩", ColumnType.NUMBER),
            Column("last_rated_at", "最后回访", ColumnType.DATETIME),
            Column("first_day", "首日", ColumnType.DATE),
            Column("flagged", "约谈", ColumnType.BOOLEAN),
            Column("note", "备注"),
        ],
        rows=[
            {"period": m, "rated": 1200 + i, "response_rate": Decimal("97.01") + i,
             "satisfaction_rate": 88.5 + i, "composite": Decimal("91.37") + i,
             # 16:30 UTC on the last day is 00:30 the next day in Beijing
             "last_rated_at": datetime(2026, 9 + i, 28, 16, 30, tzinfo=UTC),
             "first_day": date(2026, 9 + i, 1), "flagged": i == 0,
             "note": "=HYPERLINK(\"http://x\")" if i == 1 else None}
            for i, m in enumerate(MONTHS)
        ],
        chart=Chart("月度趋势", "period", ("response_rate", "satisfaction_rate", "composite")),
        notes=["考核件: 期内最后一次回访", "剔除件不计"],
    )


def test_xlsx_reads_back_with_its_native_line_chart_formats_and_frozen_header():
    response = send_table(trend_table(), "xlsx")
    assert response.mimetype == XLSX_MIMETYPE
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    assert sheet.title == "望京街道 月度趋势"
    assert [c.value for c in sheet[1]] == ["月份", "考核件", "响应率", "满意率", "综合成绩",
                                          "最后回访", "首日", "约谈", "备注"]
    assert sheet.freeze_panes == "A2"
    first = {c.column_letter: c for c in sheet[2]}
    assert (first["B"].value, first["B"].number_format) == (1200, "#,##0")
    assert first["C"].value == pytest.approx(0.9701)
    assert first["C"].number_format == "0.00%"
    assert (first["E"].value, first["E"].number_format) == (pytest.approx(91.37), "0.00")
    beijing_wall_time = datetime(2026, 9, 29, 0, 30, tzinfo=UTC).replace(tzinfo=None)
    assert first["F"].value == beijing_wall_time
    assert first["F"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first["G"].value.date() == date(2026, 9, 1)
    assert first["H"].value == "是"
    assert sheet["I3"].value.startswith("=HYPERLINK")
    assert sheet["I3"].data_type == "s"
    assert sheet.column_dimensions["A"].width >= 6

    [chart] = sheet._charts
    assert chart.tagname == "lineChart"
    percent_refs = [s.val.numRef.f for s in chart.series]
    assert percent_refs == ["'望京街道 月度趋势'!$C$2:$C$4", "'望京街道 月度趋势'!$D$2:$D$4"]
    assert chart.series[0].cat.numRef is None
    assert chart.series[0].cat.strRef.f == "'望京街道 月度趋势'!$A$2:$A$4"
    assert chart.series[0].tx.strRef.f == "'望京街道 月度趋势'!C1"
    # the composite (0-100) rides on a second y axis beside the 0-1 percents
    secondary = [c for c in chart._charts if c is not chart]
    assert [s.val.numRef.f for c in secondary for s in c.series] == [
        "'望京街道 月度趋势'!$E$2:$E$4"]
    assert {c.y_axis.axId for c in chart._charts} == {100, 200}

    notes = book["说明"]
    assert notes["A1"].value == "望京街道 月度趋势"
    assert [notes["A3"].value, notes["A4"].value] == ["考核件: 期内最后一次回访", "剔除件不计"]


def test_a_table_without_a_chart_or_rows_is_still_a_workbook():
    table = trend_table()
    table.rows, table.chart = [], None
    book = load_workbook(io.BytesIO(send_table(table, "xlsx").get_data()))
    assert book.worksheets[0]._charts == []
    assert book.worksheets[0].max_row == 1


def test_csv_starts_with_the_bom_and_reads_back_with_chinese_headers():
    response = send_table(trend_table(), "csv")
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == ["月份", "考核件", "响应率", "满意率", "综合成绩", "最后回访", "首日",
                             "约谈", "备注"]
    assert rows[0]["考核件"] == "1200"
    assert rows[0]["响应率"] == "97.01%"
    assert rows[0]["满意率"] == "88.50%"
    assert rows[0]["综合成绩"] == "91.37"
    assert rows[0]["最后回访"] == "2026-09-29 00:30:00"
    assert [r["约谈"] for r in rows] == ["是", "否", "否"]
    assert rows[0]["备注"] == ""
    assert rows[1]["备注"] == "'=HYPERLINK(\"http://x\")"  # never a formula in Excel
    assert len(rows) == 3


def test_downloads_are_named_by_rfc_6266_with_the_chinese_name_in_utf_8():
    header = send_table(trend_table(), "csv").headers["Content-Disposition"]
    plain, extended = header.split("; ")[1:]
    assert plain == 'filename="trend-_-2026-11.csv"'
    assert extended.startswith("filename*=UTF-8''")
    assert unquote(extended.removeprefix("filename*=UTF-8''")) == "trend-望京街道-2026-11.csv"


def test_table_json_has_the_documented_shape():
    with Flask(__name__).app_context():
        body = send_table(trend_table(), "json").get_json()
    assert body == table_json(trend_table())
    assert TableSchema().validate(body) == {}
    assert body["columns"][2] == {"key": "response_rate", "title": "响应率", "type": "percent"}
    row = body["rows"][0]
    assert row["response_rate"] == 97.01
    assert row["last_rated_at"] == "2026-09-28T16:30:00+00:00"
    assert row["first_day"] == "2026-09-01"
    assert row["note"] is None
    assert body["chart"] == {"title": "月度趋势", "category": "period",
                             "series": ["response_rate", "satisfaction_rate", "composite"]}


class _ArgsSchema(FormatArgsSchema):
    unit_id = ma.fields.UUID()


def test_the_format_argument_defaults_to_json_and_refuses_others():
    assert _ArgsSchema().load({})["format"] == "json"
    assert _ArgsSchema().load({"format": "xlsx"})["format"] == "xlsx"
    with pytest.raises(ma.ValidationError) as error:
        _ArgsSchema().load({"format": "pdf"})
    assert "format" in error.value.messages
    with pytest.raises(ma.ValidationError):
        _ArgsSchema().load({"fmt": "csv"})  # unknown = RAISE


def test_openapi_documents_csv_and_xlsx_beside_the_json_schema():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("t", __name__)

    @blp.route("/trend")
    @blp.arguments(_ArgsSchema, location="query")
    @blp.response(200, TableSchema)
    @table_formats_doc()
    def trend(args):  # noqa: ANN001, ANN202
        """A trend"""
        return send_table(trend_table(), args["format"])

    api.register_blueprint(blp)
    content = api.spec.to_dict()["paths"]["/trend"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv", XLSX_MIMETYPE}
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Table"}
    client = app.test_client()
    assert client.get("/trend?format=csv").data.startswith(BOM.encode())
    assert client.get("/trend").get_json()["name"] == "trend-望京街道-2026-11"
