"""Postings follow grid changes (issue 11): a replaced grid takes its postings with it."""

from __future__ import annotations

from shapely.geometry import box

from tests.fixtures.staff import check_in
from tests.fixtures.world import grid_feature

# T1-B1 is lon 116.31-116.32, lat 39.90-39.91; its new version keeps the southern half.
NEW_T1_B1 = box(116.31, 39.90, 116.32, 39.905)
IN_BOTH = (116.315, 39.902)
NORTH_HALF = (116.315, 39.908)  # inside the old boundary, ~330 m north of the new one
WEEK = {"start": "2026-11-23", "end": "2026-11-29"}


def _replace_t1_b1(client, login) -> str:  # noqa: ANN001
    doc = {"type": "FeatureCollection", "features": [grid_feature("T1-B1", "T1", NEW_T1_B1)]}
    response = client.post("/api/v1/grids/import", json=doc,
                           query_string={"replace_existing": "true"}, headers=login("admin"))
    assert response.status_code == 201, response.get_json()
    [grid] = response.get_json()["grids"]
    return grid["id"]


def test_replacing_a_grid_moves_its_posting_and_the_next_checkin_uses_the_new_boundary(
    client, world, login, post
):
    posting = post(["T1-B1"])  # d1.staff stationed in T1-B1
    before = check_in(client, login("d1.staff"), *NORTH_HALF).get_json()
    assert (before["grid"]["code"], before["inside"]) == ("T1-B1", True)

    new_id = _replace_t1_b1(client, login)
    moved = client.get(f"/api/v1/postings/{posting['id']}", headers=login("d1.dispatcher"))
    assert [g["id"] for g in moved.get_json()["grids"]] == [new_id]

    after = check_in(client, login("d1.staff"), *NORTH_HALF).get_json()
    assert after["grid"]["id"] == new_id
    assert after["posting_id"] == posting["id"]
    assert after["inside"] is False
    assert after["flags"] == ["outside_grid"]
    assert 300 < after["distance_m"] < 340
    inside = check_in(client, login("d1.staff"), *IN_BOTH).get_json()
    assert (inside["grid"]["id"], inside["inside"]) == (new_id, True)


def test_a_phone_naming_the_retired_version_is_judged_against_the_active_one(
    client, world, login, post
):
    post(["T1-B1"])
    old_id = world.grid_id("T1-B1")
    new_id = _replace_t1_b1(client, login)
    body = check_in(client, login("d1.staff"), *NORTH_HALF, grid_id=old_id).get_json()
    assert body["grid"]["id"] == new_id
    assert body["flags"] == ["outside_grid"]  # no no_posting: the posting moved with it


def test_an_ended_posting_keeps_the_version_it_was_honoured_on(client, world, login, post):
    ended = post(["T1-B1"], valid_from="2026-11-01", valid_to="2026-11-20")
    _replace_t1_b1(client, login)
    body = client.get(f"/api/v1/postings/{ended['id']}", headers=login("d1.dispatcher")).get_json()
    assert [g["id"] for g in body["grids"]] == [world.grid_id("T1-B1")]


def test_checkins_before_the_replacement_still_count_for_the_moved_posting(
    client, world, login, post
):
    posting = post(["T1-B1"])
    assert check_in(client, login("d1.staff"), *IN_BOTH).get_json()["inside"] is True
    _replace_t1_b1(client, login)
    report = client.get("/api/v1/compliance", query_string=WEEK,
                        headers=login("d1.dispatcher")).get_json()
    [row] = report["stationed"]
    assert row["posting_id"] == posting["id"]
    assert row["present_days"] == 1  # the check-in named the old version of T1-B1
