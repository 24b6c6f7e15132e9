"""Districts keep their lists in Excel (issue 11): the catalogue and postings imports read
.xlsx like CSV, with the same per-row report naming the sheet, and the CLI shows progress."""

from __future__ import annotations

import io
from datetime import datetime, time

from openpyxl import Workbook

from tests.api.test_auth import assert_error

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows: list[list[object]], title: str = "事项清单") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


CATALOGUE = [
    ["Code", "Name", "Lead", "Cooperating", "Response_limit_hours", "Completion_limit_hours",
     "Returnable"],
    ["01", "市容环境", None, None, None, None, None],
    # Excel stores typed numbers as floats and a ticked box as TRUE.
    ["01.01", "占道经营", "territorial", "department:market_supervision", 24.0, 168, True],
    ["01.02", "夜间施工", "department:city_management", None, 0.5, 12, False],
]


def post(client, headers, url: str, data: bytes, **query):  # noqa: ANN001, ANN003, ANN201
    return client.post(url, data=data, query_string=query,
                       headers={**headers, "Content-Type": XLSX})


def test_an_xlsx_catalogue_imports_like_its_csv(client, world, login):
    admin = login("admin")
    response = post(client, admin, "/api/v1/catalogue/import", workbook(CATALOGUE))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 3
    item = client.get("/api/v1/catalogue/01.02", headers=admin).get_json()
    assert (item["response_limit_hours"], item["returnable"]) == (0.5, False)
    assert client.get("/api/v1/catalogue/01.01", headers=admin).get_json()[
        "completion_limit_hours"] == 168


def test_xlsx_problems_carry_the_sheet_and_its_row_numbers(client, world, login):
    rows = [[], [None, None], ["code", "name", "lead", "code"]]  # the header is row 3
    body = assert_error(post(client, login("admin"), "/api/v1/catalogue/import", workbook(rows)),
                        422, "catalogue_import_rejected")
    assert [(d["sheet"], d["row"], d["field"], d["problem"]) for d in body["details"]] == [
        ("事项清单", 3, "code", "duplicate_column")]
    assert "of sheet '事项清单'" in body["message"]
    rows = [CATALOGUE[0], CATALOGUE[1], ["01.09", "错误", "territorial", None, -1, 24, None],
            ["01.10", "多余", None, None, None, None, None, None, "surplus"]]
    body = assert_error(post(client, login("admin"), "/api/v1/catalogue/import", workbook(rows)),
                        422, "catalogue_import_rejected")
    assert {(d["row"], d["problem"]) for d in body["details"]} == {
        (3, "not_positive"), (4, "extra_values")}
    assert set(body["errors"]["xlsx"]["rows"]) == {"3", "4"}


def test_a_file_that_is_not_a_workbook_is_reported(client, world, login):
    body = assert_error(post(client, login("admin"), "/api/v1/catalogue/import", b"code,name\n"),
                        422, "catalogue_import_rejected")
    assert body["details"][0]["problem"] == "not_xlsx"


def test_an_xlsx_postings_list_with_excel_dates_and_times(client, world, login, frozen_now):
    header = ["staff", "grids", "mode", "days", "start", "end", "visits", "per", "valid_from"]
    rows = [header,
            ["d1.staff", "T1-A1;T1-B1", "stationed", "1-5", time(8, 30), time(17, 30), None,
             None, datetime(2026, 11, 1)],  # noqa: DTZ001 (Excel's dates are naive)
            ["d1.staff", "T2-A1", "patrolling", None, None, None, 2.0, "week", "2026-11-01"]]
    response = post(client, login("d1.dispatcher"), "/api/v1/postings/import",
                    workbook(rows, "驻格"))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()["postings"]
    assert created[0]["schedule"] == {"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}
    assert created[0]["valid_from"] == "2026-11-01"
    assert created[1]["visits"] == {"required": 2, "per": "week"}


def test_xlsx_postings_problems_name_sheet_and_row(client, world, login, frozen_now):
    rows = [["staff", "grids", "mode", "valid_from"], ["nobody", "T1-A1", "patrolling",
                                                       "2026-11-01"]]
    body = assert_error(post(client, login("d1.dispatcher"), "/api/v1/postings/import",
                             workbook(rows, "驻格")), 422, "posting_import_rejected")
    assert {(d["sheet"], d["row"]) for d in body["details"]} == {("驻格", 2)}


def test_the_cli_reads_an_xlsx_with_a_progress_bar_and_a_summary(app, world, tmp_path):
    path = tmp_path / "catalogue.xlsx"
    path.write_bytes(workbook(CATALOGUE))
    result = app.test_cli_runner().invoke(args=["import-catalogue", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 rows read from catalogue.xlsx (sheet '事项清单')" in result.output
    assert "dry run: created 3, updated 0, unchanged 0, deactivated 0" in result.output
