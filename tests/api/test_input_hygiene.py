"""Hostile and careless input gets a clear 4xx, on SQLite and PostGIS alike (docs/security.md):
control characters (web, Open311, tus, phones), JSON depth and size, vertex caps of imports,
the wrong Content-Type, 405's Allow, an empty cursor."""

from __future__ import annotations

import json
import uuid

import pytest
from shapely.geometry import Polygon, box

from server.core import text
from tests.api.test_auth import assert_error
from tests.api.test_sync_push import now, op, push, rejected, statuses
from tests.fixtures.cases import IN_T1_A1
from tests.fixtures.open311 import fms_form
from tests.fixtures.tus import TUS, UPLOADS, metadata
from tests.fixtures.world import grid_feature

CASE = {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
        "title": "门口占道摆摊", "description": "小区门口每天晚上有人占道经营。",
        "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}


@pytest.fixture
def phone(login):  # noqa: ANN001, ANN201
    return login("t1.worker", device_id=str(uuid.uuid4()))


# --- control characters ----------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\u0000", "\u0007", "\u001b", "\ud800"])
def test_a_control_character_in_a_text_is_a_422_naming_the_field(
        client, world, login, catalogue, bad):
    # A NUL made PostgreSQL answer 500 (psycopg.DataError); a lone surrogate cannot be encoded.
    response = client.post("/api/v1/cases", json={**CASE, "description": f"占道{bad}经营"},
                           headers=login("t1.dispatcher"))
    body = assert_error(response, 422, "invalid_text")
    assert list(body["errors"]["json"]) == ["description"]
    assert f"U+{ord(bad):04X}" in body["message"]


def test_the_field_is_named_in_nested_bodies_and_in_keys(client, world, login):
    # A body nested inside another (the area of a batch assignment): the path is given whole.
    points = {"points": [{"id": "p1", "lon": 116.4, "lat": 39.9},
                         {"id": "p\u0000", "lon": 116.4, "lat": 39.9}]}
    response = client.post("/api/v1/assign/batch", json=points, headers=login("t1.dispatcher"))
    body = assert_error(response, 422, "invalid_text")
    assert body["errors"]["json"] == {"points": {"1": {"id": [body["message"]]}}}
    key = client.post("/api/v1/cases", json={**CASE, "ti\u0000tle": "x"},
                      headers=login("t1.dispatcher"))
    assert_error(key, 422, "invalid_text")


def test_tab_newline_and_carriage_return_are_kept(client, world, login, catalogue):
    description = "第一行\r\n第二行\n\t缩进"
    response = client.post("/api/v1/cases", json={**CASE, "description": description},
                           headers=login("t1.dispatcher"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["description"] == description


def test_an_escaped_backslash_and_an_emoji_pair_are_not_control_characters(
        client, world, login, catalogue):
    raw = json.dumps({**CASE, "description": "路径 C:\\bin 😀"}, ensure_ascii=True)
    # What the cheap pre-check has to look past: an escaped backslash, a surrogate pair.
    assert "\\\\bin" in raw
    assert "\\ud83d" in raw
    response = client.post("/api/v1/cases", data=raw, content_type="application/json",
                           headers=login("t1.dispatcher"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["description"] == "路径 C:\\bin 😀"


def test_a_control_character_in_a_query_string_is_a_422(client, world, login):
    response = client.get("/api/v1/cases?number=2026%00", headers=login("t1.dispatcher"))
    body = assert_error(response, 422, "invalid_text")
    assert list(body["errors"]["query"]) == ["number"]


def test_a_phone_operation_with_a_nul_is_rejected_alone_and_kept(
        client, world, login, phone, catalogue):
    report = op("report_incident", appeal_type="report", category_code="01.01",
                title="井盖缺失", description="人行道\u0000井盖缺失", lon=IN_T1_A1[0],
                lat=IN_T1_A1[1])
    good = op("report_incident", appeal_type="report", category_code="01.01",
              title="井盖缺失", description="人行道井盖缺失", lon=IN_T1_A1[0], lat=IN_T1_A1[1])
    bad_name = {**op("add_note", case_id=str(uuid.uuid4()), note="x"), "name": "add_\u0000note"}
    answer = push(client, phone, report, good, bad_name)
    assert statuses(answer) == [("rejected", "invalid_text"), ("applied", None),
                                ("rejected", "invalid_text")], answer
    first = answer["results"][0]
    assert first["result"]["errors"] == {"args": {"description": [first["message"]]}}
    assert "description" in first["message"]
    kept = {r["id"]: r for r in rejected(client, login("t1.dispatcher"))}
    assert kept[report["id"]]["code"] == "invalid_text"
    assert kept[report["id"]]["args"]["description"] == "人行道\u0000井盖缺失"  # as sent
    assert kept[bad_name["id"]]["name"] == "add_\ufffdnote"
    again = push(client, phone, report)  # a resend is the same answer, not applied
    assert statuses(again) == [("duplicate", "invalid_text")]


def test_a_watermelon_operation_with_a_nul_is_rejected_alone(client, world, phone, catalogue):
    record = {"id": str(uuid.uuid4()), "device_seq": 1, "name": "report_incident",
              "args": json.dumps({"appeal_type": "report", "category_code": "01.01",
                                  "title": "占道\u0000", "description": "占道经营",
                                  "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}),
              "device_time": int(now().timestamp() * 1000)}
    response = client.post("/api/v1/sync/watermelon/push", headers=phone, json={
        "changes": {"operations": {"created": [record], "updated": [], "deleted": []}},
        "lastPulledAt": 1, "sentAt": now().isoformat()})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert [(r["id"], r["status"], r["code"]) for r in answer["results"]] == [
        (record["id"], "rejected", "invalid_text")], answer


def test_open311_refuses_a_nul_in_its_form_in_its_own_shape(client, open311_key):
    response = client.post("/open311/v2/requests.json",
                           data=fms_form(open311_key, description="占道\u0000经营"))
    assert response.status_code == 400
    [error] = response.get_json()
    assert error["description"].startswith("invalid_text:"), error
    attribute = client.post("/open311/v2/requests.json", data=fms_form(
        open311_key, **{"attribute[report_url]": "https://x\u0000"}))
    assert attribute.status_code == 400


def test_tus_metadata_with_a_control_character_is_a_422(client, world, phone):
    response = client.post(UPLOADS, headers={
        **phone, **TUS, "Upload-Length": "10",
        "Upload-Metadata": metadata(sha256="ab" * 32, filetype="image/png\u0000")})
    body = assert_error(response, 422, "invalid_text")
    assert "filetype" in body["message"]


def test_the_text_rule_itself():
    assert text.bad_char("正常\t\r\n文本") is None
    assert text.bad_char("a\x0bb") == "\x0b"
    assert text.bad_char("\x7f") is None  # DEL is not C0: harmless to the database
    assert text.find_bad_text({"a": [1, {"b": "x\x00"}]}).path == ("a", 1, "b")
    assert text.find_bad_text({"ops": ["\x00"]}, skip=("ops",)) is None
    assert text.clean("a\x00b") == "a\ufffdb"
    assert not text.might_hold_bad_text(b'{"a": "\\u4e2d\\n\\t"}')
    assert text.might_hold_bad_text(b'{"a": "\\u0000"}')
    assert text.json_depth(b"[[[1]]]") == 3
    assert text.json_depth(b'{"a": {"b": []}}') == 3
    assert text.json_depth(b'{"a": "[[[[{", "b": "\\"[["}') == 1
    assert text.json_depth(b"17") == 0


# --- JSON depth and size ---------------------------------------------------------------------

@pytest.mark.parametrize("depth", [text.MAX_JSON_DEPTH + 1, 10_000])
def test_json_nested_too_deep_is_a_400(client, world, login, depth):
    # 10,000 deep was a RecursionError in the parser: a 500 on every JSON endpoint.
    body = '{"title": ' + "[" * depth + "]" * depth + "}"
    response = client.post("/api/v1/cases", data=body, content_type="application/json",
                           headers=login("t1.dispatcher"))
    body = assert_error(response, 400, "json_too_deep")
    assert str(text.MAX_JSON_DEPTH) in body["message"]


def test_a_body_over_the_size_limit_is_a_413(client, app, world, login, monkeypatch):
    headers = login("t1.dispatcher")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    response = client.post("/api/v1/cases", json={**CASE, "description": "占" * 2000},
                           headers=headers)
    assert_error(response, 413, "payload_too_large")


# --- content type, methods, cursors ----------------------------------------------------------

def test_a_body_that_is_not_json_is_a_415_not_missing_fields(client, world, login):
    response = client.post("/api/v1/cases", data=json.dumps(CASE), content_type="text/plain",
                           headers=login("t1.dispatcher"))
    body = assert_error(response, 415, "unsupported_media_type")
    assert "text/plain" in body["message"]
    form = client.post("/api/v1/auth/login", data={"username": "admin", "password": "x"})
    assert_error(form, 415, "unsupported_media_type")


def test_a_405_names_the_allowed_methods(client, world, login):
    response = client.put("/api/v1/cases", headers=login("t1.dispatcher"))
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    open311 = client.delete("/open311/v2/requests.json")
    assert open311.status_code == 405
    assert "POST" in open311.headers["Allow"]


def test_an_empty_cursor_is_the_first_page(client, world, login, file_case):
    file_case()
    headers = login("t1.dispatcher")
    response = client.get("/api/v1/cases?cursor=", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == client.get("/api/v1/cases", headers=headers).get_json()
    assert client.get("/api/v1/sync/rejected?cursor=&case_id=", headers=headers
                      ).status_code == 200
    assert_error(client.get("/api/v1/cases?cursor=nonsense", headers=headers), 422,
                 "invalid_cursor")


# --- vertex caps of imports ------------------------------------------------------------------

def _ring(n: int) -> Polygon:
    """A square in T2's free northern half drawn with about ``n`` vertices."""
    west, south, side = 116.40, 39.91, 0.01
    step = side * 4 / n
    points = []
    for i in range(n):
        d = i * step
        if d < side:
            points.append((west + d, south))
        elif d < 2 * side:
            points.append((west + side, south + d - side))
        elif d < 3 * side:
            points.append((west + 3 * side - d, south + side))
        else:
            points.append((west, south + 4 * side - d))
    return Polygon(points)


def test_a_grid_beyond_the_vertex_cap_is_named_and_nothing_is_imported(
        client, app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_VERTICES_PER_GEOMETRY", 100)
    body = {"type": "FeatureCollection", "features": [
        grid_feature("T2-N1", "T2", box(116.42, 39.91, 116.43, 39.92)),
        grid_feature("T2-N2", "T2", _ring(400))]}
    response = client.post("/api/v1/grids/import", json=body, headers=login("admin"))
    answer = assert_error(response, 422, "geometry_too_many_vertices")
    assert list(answer["errors"]["json"]["features"]) == ["1"]
    assert answer["details"] == [{"index": 1, "code": "T2-N2", "vertices": 401, "limit": 100}]
    listed = client.get("/api/v1/grids?limit=1000", headers=login("admin")).get_json()
    assert "T2-N1" not in {g["code"] for g in listed["items"]}


def test_a_file_beyond_the_import_cap_is_a_413(client, app, world, login, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_VERTICES_PER_IMPORT", 8)
    body = {"type": "FeatureCollection", "features": [
        grid_feature("T2-N1", "T2", box(116.40, 39.91, 116.41, 39.92)),
        grid_feature("T2-N2", "T2", box(116.41, 39.91, 116.42, 39.92))]}
    response = client.post("/api/v1/grids/import", json=body, headers=login("admin"))
    answer = assert_error(response, 413, "import_too_many_vertices")
    assert answer["details"] == [{"vertices": 10, "limit": 8}]
    boundary = client.post("/api/v1/units/boundaries/import", headers=login("admin"), json={
        "type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": body["features"][0]["geometry"],
             "properties": {"code": "T2"}},
            {"type": "Feature", "geometry": body["features"][1]["geometry"],
             "properties": {"code": "T1"}}]})
    assert_error(boundary, 413, "import_too_many_vertices")
