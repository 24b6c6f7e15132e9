"""Text cells of CSV and .xlsx imports obey the JSON text rule (server.core.text): a cell with
a control character is refused as ``invalid_text`` naming its row and column, in the import's
usual rejection, and nothing of the file is imported; the CLI's JSON files are held to it too."""

from __future__ import annotations

import io
import json
import zipfile

from shapely.geometry import box

from tests.api.test_auth import assert_error
from tests.api.test_catalogue import HEADER as CATALOGUE_HEADER
from tests.api.test_spreadsheet_imports import XLSX, workbook
from tests.api.test_staff_postings import CSV_HEADER as POSTINGS_HEADER
from tests.fixtures.world import grid_feature


def post(client, headers, url: str, data: bytes, mimetype: str):  # noqa: ANN001, ANN201
    return client.post(url, data=data, headers={**headers, "Content-Type": mimetype})


def with_cell_xml(book: bytes, placeholder: str, xml_text: str) -> bytes:
    """The workbook with ``placeholder`` replaced, in the sheet's XML, by ``xml_text`` as
    Excel writes it (openpyxl refuses to write a control character itself)."""
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.startswith("xl/worksheets/"):
                data = data.replace(placeholder.encode(), xml_text.encode())
            target.writestr(name, data)
    return out.getvalue()


def test_a_catalogue_csv_cell_with_a_control_character_is_refused_and_nothing_imported(
    client, world, login
):
    admin = login("admin")
    text = (f"{CATALOGUE_HEADER}\n01,市容环境,,,,,,,\n"
            "01.01,占道\x00经营,territorial,,24,168,,,\n01.02,夜间施工,territorial,,24,168,,,\x1b\n")
    body = assert_error(post(client, admin, "/api/v1/catalogue/import", text.encode(),
                             "text/csv"), 422, "catalogue_import_rejected")
    assert sorted((d["row"], d["code"], d["field"], d["problem"]) for d in body["details"]) == [
        (3, "01.01", "name", "invalid_text"), (4, "01.02", "description", "invalid_text")]
    assert body["errors"]["csv"]["rows"]["3"]["name"] == [
        "invalid_text: 'name' holds a control character (U+0000); remove it and import again."]
    assert "at line 3" in body["message"]
    assert "Nothing was imported" in body["message"]
    listed = client.get("/api/v1/catalogue", query_string={"limit": 1000}, headers=admin)
    assert {i["code"] for i in listed.get_json()["items"]}.isdisjoint({"01", "01.01", "01.02"})


def test_an_excel_escaped_control_character_is_refused_and_a_line_break_kept(
    client, world, login
):
    """Excel writes U+0001 as ``_x0001_`` and a line break as ``_x000D_`` + LF: cells are read
    through that escape, so the first is refused like a raw character and the second is CR LF."""
    admin = login("admin")
    header = CATALOGUE_HEADER.split(",")
    rows = [header, ["01", "市容环境"], ["01.01", "占道BAD", "territorial", None, 24, 168]]
    book = with_cell_xml(workbook(rows, "事项"), "BAD", "_x0001_经营")
    body = assert_error(post(client, admin, "/api/v1/catalogue/import", book, XLSX), 422,
                        "catalogue_import_rejected")
    assert [(d["sheet"], d["row"], d["field"], d["problem"]) for d in body["details"]] == [
        ("事项", 3, "name", "invalid_text")]
    assert "U+0001" in body["details"][0]["reason"]

    rows = [header, ["01", "市容环境", None, None, None, None, None, None, "第一行BREAK"]]
    book = with_cell_xml(workbook(rows), "BREAK", "_x000D_\n第二行 _x005F_x0001_")
    response = post(client, admin, "/api/v1/catalogue/import", book, XLSX)
    assert response.status_code == 200, response.get_json()
    item = client.get("/api/v1/catalogue/01", headers=admin).get_json()
    assert item["description"] == "第一行\r\n第二行 _x0001_"  # _x005F_ is the underscore


def test_a_workbook_whose_xml_cannot_hold_the_character_is_reported_not_a_500(
    client, world, login
):
    """A raw control character is not well-formed XML: the sheet is reported as broken at
    the row where reading stopped, in the same rejection."""
    rows = [CATALOGUE_HEADER.split(","), ["01", "市容环境"], ["02", "BAD"]]
    book = with_cell_xml(workbook(rows), "BAD", "&#1;")
    body = assert_error(post(client, login("admin"), "/api/v1/catalogue/import", book, XLSX),
                        422, "catalogue_import_rejected")
    assert [(d["row"], d["field"], d["problem"]) for d in body["details"]] == [
        (3, "file", "malformed_xlsx")]


def test_a_unit_list_with_nul_in_a_code_is_refused_on_every_database(client, world, login):
    """The code is looked up before the rejection: PostgreSQL refuses NUL in a parameter
    (a 500 before), so a refused cell goes on as U+FFFD."""
    admin = login("admin")
    text = ("code,name,kind,parent,population\nT6,六镇,township,D1,900\n"
            "T6-V\x00,村,community,T6,\n")
    body = assert_error(post(client, admin, "/api/v1/units/import", text.encode(), "text/csv"),
                        422, "unit_import_rejected")
    assert [(d["row"], d["code"], d["field"], d["problem"]) for d in body["details"]] == [
        (3, "T6-V\ufffd", "code", "invalid_text")]
    listed = client.get("/api/v1/units", headers=admin).get_json()
    assert "T6" not in {u["code"] for u in listed}


def test_a_postings_list_with_a_control_character_in_a_note_posts_nobody(
    client, world, login, frozen_now
):
    dispatcher = login("d1.dispatcher")
    text = POSTINGS_HEADER + ("d1.staff,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,驻格\n"
                              "d1.staff,T2-A1,patrolling,,,,2,week,2026-11-01,,巡\x07格\n")
    body = assert_error(post(client, dispatcher, "/api/v1/postings/import", text.encode(),
                             "text/csv"), 422, "posting_import_rejected")
    assert [(d["row"], d["staff"], d["field"], d["problem"]) for d in body["details"]] == [
        (3, "d1.staff", "note", "invalid_text")]
    listed = client.get("/api/v1/postings?status=all", headers=dispatcher)
    assert listed.get_json()["items"] == []


def test_the_cli_refuses_a_units_csv_and_a_grids_json_with_a_control_character(
    app, world, tmp_path
):
    runner = app.test_cli_runner()
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,parent\nT7,七\x0c镇,township,D2\n", encoding="utf-8")
    result = runner.invoke(args=["import-units", str(units)])
    assert result.exit_code == 2
    assert "error [unit_import_rejected]" in result.output
    assert '"field": "name", "problem": "invalid_text"' in result.output

    grids = tmp_path / "grids.geojson"
    feature = grid_feature("T3-C1", "T3", box(116.505, 39.90, 116.52, 39.91), name="网\u0000格")
    grids.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}),
                     encoding="utf-8")
    result = runner.invoke(args=["import-grids", str(grids)])
    assert result.exit_code == 2
    assert "error [invalid_text]: " in result.output  # the message is in GRID_LOCALE
    assert "features.0.properties.name" in result.output
    assert "U+0000" in result.output
