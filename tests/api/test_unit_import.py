"""Unit lists (issue 11): the administrative tree from CSV or .xlsx, all or nothing."""

from __future__ import annotations

from tests.api.test_auth import assert_error
from tests.api.test_spreadsheet_imports import XLSX, workbook

HEADER = ["code", "name", "kind", "parent", "population"]


def _post(client, headers, rows, **query):  # noqa: ANN001, ANN003, ANN201
    return client.post("/api/v1/units/import", data=workbook(rows, "乡镇"), query_string=query,
                       headers={**headers, "Content-Type": XLSX})


def test_a_township_and_its_villages_are_created_children_first_in_the_file(
    client, world, login
):
    rows = [HEADER,
            ["T9-V1", "东村", "community", "T9", 1200.0],  # before its parent
            ["T9", "新镇", "township", "D1", "2,500"],
            ["T9-V2", "西村", "community", "T9", 1300],
            ["T1", "Unit T1", "township", "D1", 50_000]]  # as stored: unchanged
    response = _post(client, login("admin"), rows)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 3, "unchanged": 1, "dry_run": False}
    check = client.get("/api/v1/units/population-check", query_string={"unit": "T9"},
                       headers=login("admin")).get_json()
    [t9] = [r for r in check["units"] if r["unit"]["code"] == "T9"]
    assert (t9["population"], t9["children_sum"], t9["status"]) == (2500, 2500, "consistent")


def test_every_bad_row_is_reported_with_its_sheet_row_and_nothing_is_created(
    client, world, login
):
    rows = [HEADER,
            ["T8", "镇", "township", "D1", 100],
            ["T8-V1", "村", "village", "T8", None],
            ["T8-V2", "村", "community", "T7", None],
            ["T8-V3", "村", "community", "D1", None],
            ["T1", "改名", "township", "D1", 50_000],
            ["T8", "重复", "township", "D1", None]]
    body = assert_error(_post(client, login("admin"), rows), 422, "unit_import_rejected")
    assert sorted((d["row"], d["problem"]) for d in body["details"]) == [
        (3, "invalid_kind"), (4, "parent_missing"), (5, "unit_parent_not_allowed"),
        (6, "unit_differs"), (7, "duplicate_code")]
    assert {d["sheet"] for d in body["details"]} == {"乡镇"}
    listed = client.get("/api/v1/units", headers=login("admin")).get_json()
    assert "T8" not in {u["code"] for u in listed}


def test_only_admins_import_units(client, world, login):
    assert_error(_post(client, login("d1.dispatcher"), [HEADER]), 403, "permission_denied")


def test_the_cli_imports_a_csv_list_and_summarises_the_population_check(app, world, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("code,name,kind,parent,population\nT7,七镇,township,D2,900\n",
                    encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-units", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 rows read from units.csv" in result.output
    assert "created 1, unchanged 0; population check:" in result.output
