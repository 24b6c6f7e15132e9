"""Postings through the API: create, who may, list with filters and cursor, end, CSV import."""

from __future__ import annotations

from tests.api.test_auth import assert_error
from tests.fixtures.world import unknown_id

CSV_HEADER = "staff,grids,mode,days,start,end,visits,per,valid_from,valid_to,note\n"


def test_district_dispatcher_posts_stationed_staff(client, world, login, post):
    posting = post(["T1-A1", "T1-B1"])
    assert posting["staff"]["username"] == "d1.staff"
    assert posting["department"]["code"] == "D1-CGZF"
    assert posting["mode"] == "stationed"
    assert [g["code"] for g in posting["grids"]] == ["T1-A1", "T1-B1"]
    assert posting["schedule"] == {"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}
    assert posting["visits"] is None
    got = client.get(f"/api/v1/postings/{posting['id']}", headers=login("d1.staff"))
    assert got.status_code == 200
    assert got.get_json() == posting


def test_patrolling_posting_carries_visits(client, world, login, post):
    posting = post(["T2-A1"], mode="patrolling", visits={"required": 3, "per": "month"})
    assert posting["visits"] == {"required": 3, "per": "month"}
    assert posting["schedule"] is None


def test_township_dispatcher_posts_only_to_its_own_grids(client, world, login, post):
    post(["T1-A1"], by="t1.dispatcher")
    body = post(["T2-A1"], by="t1.dispatcher", expect=422)
    assert body["code"] == "grids_not_postable"


def test_department_handler_posts_only_its_own_staff(client, world, login, post):
    body = post(["T1-A1"], by="d1.handler", expect=422)  # d1.handler is in D1-SCJG
    assert body["code"] == "staff_not_postable"


def test_only_department_staff_are_posted(client, world, login, post):
    body = post(["T1-A1"], staff="t1.worker", expect=422)
    assert body["code"] == "staff_not_postable"


def test_grid_workers_cannot_post(client, world, login, post):
    body = post(["T1-A1"], by="t1.worker", expect=403)
    assert body["code"] == "permission_denied"


def test_another_districts_dispatcher_cannot_post_our_staff(client, world, login, post):
    assert post(["T1-A1"], by="d2.dispatcher", expect=422)["code"] == "staff_not_postable"


def test_overlapping_posting_to_the_same_grid_is_a_conflict(client, world, login, post):
    post(["T1-A1"])
    assert post(["T1-A1"], mode="patrolling", expect=409)["code"] == "posting_overlaps"


def test_stationed_posting_needs_a_schedule(client, world, login, post):
    body = post(["T1-A1"], schedule=None, expect=422)
    assert body["code"] == "posting_invalid"
    assert "schedule" in body["errors"]["json"]


def test_list_filters_and_pages(client, world, login, post):
    post(["T1-A1"])
    post(["T1-B1"], mode="patrolling")
    post(["T2-A1"], mode="patrolling", valid_from="2026-12-01")
    headers = login("d1.dispatcher")
    active = client.get("/api/v1/postings?limit=1", headers=headers).get_json()
    assert len(active["items"]) == 1
    assert active["next_cursor"]
    rest = client.get(
        f"/api/v1/postings?limit=1&cursor={active['next_cursor']}", headers=headers
    ).get_json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    assert {active["items"][0]["id"], rest["items"][0]["id"]}.isdisjoint({None})
    upcoming = client.get("/api/v1/postings?status=upcoming", headers=headers).get_json()
    assert [p["grids"][0]["code"] for p in upcoming["items"]] == ["T2-A1"]
    patrols = client.get("/api/v1/postings?mode=patrolling&status=all", headers=headers).get_json()
    assert len(patrols["items"]) == 2
    t2 = client.get("/api/v1/postings?township=T2&status=all", headers=headers).get_json()
    assert len(t2["items"]) == 1
    # A township sees the postings to its grids only.
    seen = client.get("/api/v1/postings?status=all", headers=login("t2.dispatcher")).get_json()
    assert [p["grids"][0]["code"] for p in seen["items"]] == ["T2-A1"]
    assert_error(
        client.get("/api/v1/postings?cursor=nonsense", headers=headers), 422, "invalid_cursor"
    )


def test_a_posting_outside_ones_territory_is_not_found(client, world, login, post):
    posting = post(["T1-A1"])
    assert_error(
        client.get(f"/api/v1/postings/{posting['id']}", headers=login("t2.dispatcher")),
        404,
        "posting_not_found",
    )
    assert_error(
        client.get(f"/api/v1/postings/{unknown_id()}", headers=login("d1.dispatcher")),
        404,
        "posting_not_found",
    )


def test_end_a_posting(client, world, login, post):
    posting = post(["T1-A1"])
    ended = client.post(
        f"/api/v1/postings/{posting['id']}/end",
        json={"reason": "moved"},
        headers=login("d1.dispatcher"),
    )
    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["valid_to"] == "2026-11-25"
    assert ended.get_json()["end_reason"] == "moved"
    again = client.post(
        f"/api/v1/postings/{posting['id']}/end",
        json={"last_day": "2026-11-30"},
        headers=login("d1.dispatcher"),
    )
    assert_error(again, 409, "posting_already_ended")


def _import(client, headers, text: str, **query):  # noqa: ANN001, ANN003, ANN202
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(
        f"/api/v1/postings/import?{qs}",
        data=text.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )


def test_csv_import_creates_every_row(client, world, login, frozen_now):
    text = CSV_HEADER + (
        "d1.staff,T1-A1;T1-B1,stationed,1-5,08:30,17:30,,,2026-11-01,,驻格\n"
        "d1.staff,T2-A1,patrolling,,,,2,week,2026-11-01,2026-12-31,\n"
    )
    response = _import(client, login("d1.dispatcher"), text)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["imported"] == 2
    assert body["postings"][0]["grids"][0]["code"] in ("T1-A1", "T1-B1")
    assert body["postings"][1]["visits"] == {"required": 2, "per": "week"}


def test_csv_import_with_row_errors_imports_nothing(client, world, login, frozen_now):
    text = CSV_HEADER + (
        "d1.staff,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,\n"
        "nobody,T1-B1,stationed,1-5,08:30,17:30,,,2026-11-01,,\n"
        "d1.staff,T1-Z9,patrolling,,,,2,week,2026-11-01,,\n"
        "d1.staff,T1-C1,patrolling,,,,x,week,2026-11-01,,\n"
        "d1.staff,T1-A1,patrolling,,,,1,week,2026-11-10,,\n"
    )
    response = _import(client, login("d1.dispatcher"), text)
    body = assert_error(response, 422, "posting_import_rejected")
    rows = body["errors"]["csv"]["rows"]
    assert set(rows) == {"3", "4", "5", "6"}
    assert rows["3"]["staff"][0].startswith("staff_not_postable")
    assert rows["4"]["grids"][0].startswith("unknown_grid")
    assert rows["5"]["visits"][0].startswith("invalid_visits")
    assert rows["6"]["grids"][0].startswith("posting_overlaps")  # overlaps line 2
    assert {d["row"] for d in body["details"]} == {3, 4, 5, 6}
    listed = client.get("/api/v1/postings?status=all", headers=login("d1.dispatcher"))
    assert listed.get_json()["items"] == []


def test_csv_import_checks_the_header(client, world, login, frozen_now):
    response = _import(client, login("d1.dispatcher"), "staff,grid,mode\n")
    body = assert_error(response, 422, "posting_import_rejected")
    assert "1" in body["errors"]["csv"]["rows"]


def test_csv_import_dry_run_writes_nothing(client, world, login, frozen_now):
    text = CSV_HEADER + "d1.staff,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,\n"
    body = _import(client, login("d1.dispatcher"), text, dry_run="true").get_json()
    assert body == {"imported": 0, "dry_run": True, "postings": []}
    listed = client.get("/api/v1/postings?status=all", headers=login("d1.dispatcher"))
    assert listed.get_json()["items"] == []
    bad = CSV_HEADER + "nobody,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,\n"
    assert_error(_import(client, login("d1.dispatcher"), bad, dry_run="true"), 422,
                 "posting_import_rejected")


def test_csv_import_finds_an_overlap_with_any_earlier_row_not_only_the_last(
        client, world, login, frozen_now):
    text = CSV_HEADER + (
        "d1.staff,T1-A1,patrolling,,,,1,week,2026-11-01,2026-11-30,\n"
        "d1.staff,T1-A1,patrolling,,,,1,week,2026-12-01,2026-12-31,\n"
        "d1.staff,T1-A1,patrolling,,,,1,week,2026-11-15,2026-11-20,\n"  # inside line 2's span
    )
    body = assert_error(_import(client, login("d1.dispatcher"), text), 422,
                        "posting_import_rejected")
    rows = body["errors"]["csv"]["rows"]
    assert set(rows) == {"4"}
    assert rows["4"]["grids"][0].startswith("posting_overlaps")


def test_csv_import_needs_csv(client, world, login, frozen_now):
    response = client.post("/api/v1/postings/import", json={}, headers=login("d1.dispatcher"))
    assert response.status_code == 415


def test_csv_import_reads_the_same_number_of_times_for_2_rows_or_12(
    client, world, login, frozen_now, db_session
):
    from tests.api.test_notifications import count_queries

    headers = login("d1.dispatcher")
    one = CSV_HEADER + "d1.staff,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,\n"
    _import(client, headers, one, dry_run="true")  # warms the token cache
    counts = []
    for rows in (2, 12):
        text = CSV_HEADER + "".join(
            f"d1.staff,T1-A1,patrolling,,,,1,week,2027-{m:02d}-01,2027-{m:02d}-28,\n"
            for m in range(1, rows + 1))
        with count_queries(db_session) as statements:
            response = _import(client, headers, text, dry_run="true")
        assert response.status_code == 201, response.get_json()
        counts.append(len(statements))
    assert counts[0] == counts[1]


def test_the_postings_reader_refuses_duplicate_columns_and_extra_values(
    client, world, login, frozen_now
):
    text = ("staff,grids,mode,valid_from,mode\n"
            "d1.staff,T1-A1,stationed,2026-11-01,stationed\n")
    body = assert_error(_import(client, login("d1.dispatcher"), text), 422,
                        "posting_import_rejected")
    assert [(d["row"], d["problem"]) for d in body["details"]] == [(1, "duplicate_column")]
    text = CSV_HEADER + "d1.staff,T1-A1,stationed,1-5,08:30,17:30,,,2026-11-01,,,surplus\n"
    body = assert_error(_import(client, login("d1.dispatcher"), text), 422,
                        "posting_import_rejected")
    assert [(d["row"], d["staff"], d["problem"]) for d in body["details"]] == [
        (2, "d1.staff", "extra_values")]
