"""The dispatch catalogue over HTTP: import (JSON, CSV), row problems, replace, export, roles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.test_auth import assert_error

DATA = Path(__file__).resolve().parent.parent / "data" / "catalogue"
HEADER = ("code,name,lead,cooperating,response_limit_hours,completion_limit_hours,returnable,"
          "active,description")
GOOD_LINE = "01,市容环境,,,,,,,"


def post_csv(client, headers, text: str | bytes, **query):  # noqa: ANN001, ANN003, ANN201
    body = text.encode() if isinstance(text, str) else text
    return client.post("/api/v1/catalogue/import", data=body, query_string=query,
                       headers={**headers, "Content-Type": "text/csv"})


def post_json(client, headers, items, **query):  # noqa: ANN001, ANN003, ANN201
    return client.post("/api/v1/catalogue/import", json={"items": items}, query_string=query,
                       headers=headers)


def all_items(client, headers, **query) -> dict[str, dict]:  # noqa: ANN001, ANN003
    response = client.get("/api/v1/catalogue", query_string={"limit": 1000, **query},
                          headers=headers)
    assert response.status_code == 200, response.get_json()
    return {i["code"]: i for i in response.get_json()["items"]}


@pytest.fixture
def admin(world, login):  # noqa: ANN001, ANN201
    return login("admin")


@pytest.fixture
def sample(client, admin):  # noqa: ANN001, ANN201
    response = post_json(client, admin, json.loads((DATA / "sample.json").read_text())["items"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ---- import: happy paths ---------------------------------------------------------------


def test_a_json_import_creates_items_that_can_be_read(client, admin, sample):
    assert sample == {"created": 4, "updated": 0, "unchanged": 0, "deactivated": 0,
                      "dry_run": False}
    item = client.get("/api/v1/catalogue/01.01", headers=admin).get_json()
    assert item["name"] == "占道经营"
    assert item["parent_code"] == "01"
    assert item["level"] == 2
    assert item["lead"] == "department:city_management"
    assert item["cooperating"] == ["territorial"]
    assert (item["response_limit_hours"], item["completion_limit_hours"]) == (24, 168)
    assert item["returnable"] is True
    assert item["active"] is True
    assert item["dispatchable"] is True
    branch = client.get("/api/v1/catalogue/01", headers=admin).get_json()
    assert branch["lead"] is None
    assert branch["dispatchable"] is False


def test_a_csv_import_with_a_bom_and_a_quoted_multiline_cell(client, admin):
    response = post_csv(client, admin, (DATA / "sample.csv").read_bytes())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 8
    items = all_items(client, admin)
    assert items["03"]["description"] == "区分中心答复,\n不派街乡"
    assert items["02.01"]["cooperating"] == ["territorial", "department:city_management"]
    assert items["02.01"]["returnable"] is False
    assert items["02.02"]["response_limit_hours"] == 0.5
    assert items["03.01"]["active"] is False
    assert items["03.01"]["dispatchable"] is False


def test_an_import_updates_by_code_and_counts_what_changed(client, admin, sample):
    response = post_json(client, admin, [
        {"code": "01", "name": "市容环境"},
        {"code": "01.02", "name": "乱堆乱放(含建筑垃圾)", "lead": "territorial",
         "response_limit_hours": 24, "completion_limit_hours": 168, "returnable": False},
        {"code": "01.03", "name": "违规广告", "lead": "department:city_management",
         "response_limit_hours": 24, "completion_limit_hours": 168},
    ])
    assert response.get_json() == {"created": 1, "updated": 1, "unchanged": 1, "deactivated": 0,
                                    "dry_run": False}
    assert all_items(client, admin)["01.02"]["name"] == "乱堆乱放(含建筑垃圾)"
    assert "01.01" in all_items(client, admin, active="true")  # upsert leaves the rest alone


def test_a_dry_run_counts_and_writes_nothing(client, admin, world):
    response = post_csv(client, admin, (DATA / "sample.csv").read_bytes(), dry_run="true")
    assert response.get_json()["created"] == 8
    assert response.get_json()["dry_run"] is True
    assert all_items(client, admin) == {}


def test_replace_deactivates_what_the_file_leaves_out(client, admin, sample):
    response = post_json(client, admin, [{"code": "01", "name": "市容环境"}], replace="true")
    assert response.get_json()["deactivated"] == 3
    items = all_items(client, admin)
    assert set(items) == {"01", "01.01", "01.02", "09"}  # never deleted
    assert {c for c, i in items.items() if i["active"]} == {"01"}
    assert set(all_items(client, admin, active="false")) == {"01.01", "01.02", "09"}


# ---- import: problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "field", "problem"),
    [
        (",无编码,territorial,,24,168,,,", "code", "missing"),
        ("01-02,坏编码,territorial,,24,168,,,", "code", "invalid_code"),
        ("01,重复,,,,,,,", "code", "duplicate_code"),
        ("07.01,没有上级,territorial,,24,168,,,", "code", "parent_missing"),
        ("01.02,,territorial,,24,168,,,", "name", "missing"),
        ("01.02,坏主办,street,,24,168,,,", "lead", "invalid_responsibility"),
        ("01.02,坏协办,territorial,dept:x,24,168,,,", "cooperating", "invalid_responsibility"),
        ("01.02,未知单位,unit:NOPE,,24,168,,,", "lead", "unknown_unit"),
        ("01.02,未知部门,department:water_affairs,,24,168,,,", "lead", "unknown_department_kind"),
        ("01.02,零时限,territorial,,0,168,,,", "response_limit_hours", "not_positive"),
        ("01.02,负时限,territorial,,24,-1,,,", "completion_limit_hours", "not_positive"),
        ("01.02,文字时限,territorial,,一天,168,,,", "response_limit_hours", "not_a_number"),
        ("01.02,倒挂,territorial,,48,24,,,", "completion_limit_hours",
         "completion_before_response"),
        ("01.02,缺时限,territorial,,,168,,,", "response_limit_hours", "limits_required"),
        ("01.02,坏布尔,territorial,,24,168,maybe,,", "returnable", "not_a_boolean"),
        ("01.02,多一列,territorial,,24,168,,,,extra", "file", "extra_values"),
    ],
)
def test_each_kind_of_csv_problem_is_reported_on_its_line_and_nothing_is_stored(
    client, admin, world, line, field, problem
):
    text = f"{HEADER}\n{GOOD_LINE}\n\n{line}\n"
    error = assert_error(post_csv(client, admin, text), 422, "catalogue_import_rejected")
    assert [(d["row"], d["field"], d["problem"]) for d in error["details"]] == [(4, field, problem)]
    assert error["details"][0]["reason"]
    assert "line 4" in error["message"]
    assert "Nothing was imported" in error["message"]
    assert field in error["errors"]["csv"]["rows"]["4"]
    assert all_items(client, admin) == {}


def test_csv_header_problems_are_reported_on_line_1(client, admin, world):
    error = assert_error(post_csv(client, admin, "code,name,colour\n01,市容,red\n"), 422,
                         "catalogue_import_rejected")
    assert [(d["row"], d["field"], d["problem"]) for d in error["details"]] == [
        (1, "colour", "unknown_column")]


def test_a_gbk_csv_is_refused_with_advice(client, admin, world):
    error = assert_error(post_csv(client, admin, f"{HEADER}\n{GOOD_LINE}\n".encode("gbk")), 422,
                         "catalogue_import_rejected")
    assert error["details"][0]["problem"] == "not_utf8"


def test_json_problems_are_numbered_by_item_index(client, admin, world):
    items = [
        {"code": "01", "name": "市容环境"},
        {"code": "01.01", "name": "占道经营", "lead": "department:city_management",
         "response_limit_hours": 24, "completion_limit_hours": 12, "colour": "red"},
        "01.02",
        {"code": "01.01", "name": "重复"},
    ]
    error = assert_error(post_json(client, admin, items), 422, "catalogue_import_rejected")
    assert [(d["row"], d["code"], d["field"], d["problem"]) for d in error["details"]] == [
        (1, "01.01", "colour", "unknown_column"),
        (1, "01.01", "completion_limit_hours", "completion_before_response"),
        (2, None, "item", "not_an_object"),
        (3, "01.01", "code", "duplicate_code"),
    ]
    assert set(error["errors"]["json"]["items"]) == {"1", "2", "3"}
    assert all_items(client, admin) == {}


def test_an_empty_file_cannot_deactivate_everything(client, admin, sample):
    assert_error(post_json(client, admin, [], replace="true"), 422, "catalogue_file_empty")
    assert_error(post_csv(client, admin, HEADER + "\n", replace="true"), 422,
                 "catalogue_file_empty")
    assert all(i["active"] for i in all_items(client, admin).values())


def test_other_content_types_are_refused(client, admin, world):
    response = client.post("/api/v1/catalogue/import", data="code,name",
                           headers={**admin, "Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")
    assert_error(client.post("/api/v1/catalogue/import", json={}, headers=admin), 422,
                 "validation_failed")


# ---- export ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_with_replace_changes_nothing(client, admin, world, fmt):
    post_csv(client, admin, (DATA / "sample.csv").read_bytes())
    before = all_items(client, admin)
    exported = client.get("/api/v1/catalogue/export", query_string={"format": fmt},
                          headers=admin)
    assert exported.status_code == 200
    if fmt == "csv":
        assert exported.mimetype == "text/csv"
        assert exported.data.startswith("\ufeff".encode())
        response = post_csv(client, admin, exported.data, replace="true")
    else:
        response = post_json(client, admin, exported.get_json()["items"], replace="true")
    assert response.get_json() == {"created": 0, "updated": 0, "unchanged": 8, "deactivated": 0,
                                   "dry_run": False}
    assert all_items(client, admin) == before


def test_the_json_export_is_the_import_format(client, admin, sample):
    items = client.get("/api/v1/catalogue/export", headers=admin).get_json()["items"]
    assert items[1] == {"code": "01.01", "name": "占道经营", "lead": "department:city_management",
                        "cooperating": ["territorial"], "response_limit_hours": 24,
                        "completion_limit_hours": 168, "returnable": True, "active": True,
                        "description": None}


# ---- reading ---------------------------------------------------------------------------


def test_any_signed_in_user_may_read_and_filter(client, sample, login):
    worker = login("t1.worker")
    assert set(all_items(client, worker, parent="01")) == {"01.01", "01.02"}
    assert set(all_items(client, worker, parent="")) == {"01", "09"}
    assert set(all_items(client, worker, q="咨询")) == {"09"}
    assert set(all_items(client, worker, q="01.0")) == {"01.01", "01.02"}
    one = client.get("/api/v1/catalogue/09", headers=worker).get_json()
    assert one["description"] == "区分中心答复"
    assert_error(client.get("/api/v1/catalogue"), 401, "unauthenticated")


def test_the_list_is_keyset_paginated_by_code(client, admin, sample):
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/catalogue", query_string=query, headers=admin).get_json()
        seen += [i["code"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["01", "01.01", "01.02", "09"]
    assert_error(client.get("/api/v1/catalogue", query_string={"cursor": "%%%"}, headers=admin),
                 422, "invalid_cursor")


def test_an_unknown_code_is_unknown_category(client, admin, world):
    assert_error(client.get("/api/v1/catalogue/42.01", headers=admin), 404, "unknown_category")


# ---- roles -----------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["t1.worker", "auditor", "t1.dispatcher", "d1.handler"])
def test_only_admins_and_district_dispatchers_import(client, world, login, username):
    response = post_json(client, login(username), [{"code": "01", "name": "市容环境"}])
    assert_error(response, 403, "permission_denied")


def test_a_district_dispatcher_may_import(client, world, login):
    response = post_json(client, login("d1.dispatcher"), [{"code": "01", "name": "市容环境"}])
    assert response.status_code == 200, response.get_json()


# ---- command line and demo -------------------------------------------------------------


def test_the_cli_imports_a_csv_with_the_same_checks(app, world, tmp_path):
    result = app.test_cli_runner().invoke(args=["import-catalogue", str(DATA / "sample.csv")])
    assert result.exit_code == 0, result.output
    assert "created 8, updated 0, unchanged 0, deactivated 0" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"items": [{"code": "07.01", "name": "孤儿"}]}), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-catalogue", "--replace", str(bad)])
    assert result.exit_code == 2
    assert "catalogue_import_rejected" in result.output
    assert '"problem": "parent_missing"' in result.output


def test_the_demo_catalogue_dispatches_in_the_demo_district(app, db_session):
    from server.catalogue.queries import plan_dispatch
    from server.org.services import get_unit_by_code

    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    township = get_unit_by_code(db_session, "110199001")
    plan = plan_dispatch(db_session, "01.01", township.id)  # 占道经营: city management leads
    assert plan.lead_unit_id == get_unit_by_code(db_session, "110199-CGZF").id
    assert plan.cooperating_unit_ids == (township.id,)
    assert plan_dispatch(db_session, "01.06", township.id) is None  # inactive
    assert plan_dispatch(db_session, "09", None).lead_unit_id == get_unit_by_code(
        db_session, "110199-CC").id
