"""The trail of administrative changes over HTTP: one test per kind of change, filters, paging."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box

from tests.api.test_auth import assert_error
from tests.fixtures.world import PASSWORD, grid_feature

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Each request's ``now``, moved by the test."""
    clock = Clock()
    monkeypatch.setattr("server.api.context.now_utc", lambda: clock.now)
    return clock


def trail(client, headers, expect: int = 200, **query) -> dict:  # noqa: ANN001, ANN003
    response = client.get("/api/v1/admin-changes", query_string=query, headers=headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def changes(client, login, **query) -> list[dict]:  # noqa: ANN001, ANN003
    """What the auditor reads, filtered; the world's own set-up (by the system) left out."""
    return [c for c in trail(client, login("auditor"), limit=500, **query)["items"]
            if c["actor_username"] != "system"]


def test_the_trail_lists_a_role_change_with_before_and_after(client, world, login, clock):  # noqa: ANN001
    worker = world.users["t1.worker"]
    response = client.put(f"/api/v1/users/{worker.id}/roles", headers=login("admin"),
                          json={"roles": ["grid_worker", "grid_leader"], "note": "网格长调任"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["roles"] == ["grid_leader", "grid_worker"]

    [change] = changes(client, login, object_type="user", object_id=str(worker.id))
    admin = world.users["admin"]
    assert change["action"] == "user.roles_changed"
    assert change["before"] == {"roles": ["grid_worker"]}
    assert change["after"] == {"roles": ["grid_leader", "grid_worker"]}
    assert (change["object_code"], change["note"]) == ("t1.worker", "网格长调任")
    assert (change["actor_user_id"], change["actor_username"], change["actor_roles"],
            change["actor_unit_id"]) == (str(admin.id), "admin", ["admin"], str(admin.unit_id))
    assert change["at"] == T0.isoformat()


def test_new_roles_are_in_force_at_once(client, world, login):  # noqa: ANN001
    dispatcher = login("d1.dispatcher")
    assert_error(client.get("/api/v1/admin-changes", headers=dispatcher), 403,
                 "permission_denied")  # and this process now caches the token's roles
    assert client.put(f"/api/v1/users/{world.users['d1.dispatcher'].id}/roles",
                      headers=login("admin"),
                      json={"roles": ["district_dispatcher", "auditor"]}).status_code == 200
    assert client.get("/api/v1/admin-changes", headers=dispatcher).status_code == 200


def test_role_changes_are_for_admins_and_keep_an_admin_in(client, world, login):  # noqa: ANN001
    worker, admin = world.users["t1.worker"], world.users["admin"]
    for username in ("d1.dispatcher", "auditor"):
        assert_error(client.put(f"/api/v1/users/{worker.id}/roles", headers=login(username),
                                json={"roles": ["grid_leader"]}), 403, "permission_denied")
    assert_error(client.put(f"/api/v1/users/{admin.id}/roles", headers=login("admin"),
                            json={"roles": ["auditor"]}), 409, "own_admin_role")
    assert_error(client.put(f"/api/v1/users/{worker.id}/roles", headers=login("admin"),
                            json={"roles": []}), 422, "roles_required")
    assert_error(client.put(f"/api/v1/users/{worker.id}/roles", headers=login("admin"),
                            json={"roles": ["mayor"]}), 422, "validation_failed")
    # Giving the roles a user already has changes nothing and records nothing.
    assert client.put(f"/api/v1/users/{worker.id}/roles", headers=login("admin"),
                      json={"roles": ["grid_worker"]}).status_code == 200
    assert changes(client, login, object_type="user") == []


def test_only_auditors_and_admins_read_the_trail(client, world, login):  # noqa: ANN001
    for username in ("d1.dispatcher", "t1.dispatcher", "d1.handler", "t1.worker"):
        assert_error(client.get("/api/v1/admin-changes", headers=login(username)), 403,
                     "permission_denied")
    assert trail(client, login("admin"))["items"]
    assert_error(client.get("/api/v1/admin-changes", headers=login("auditor"),
                            query_string={"object_type": "case"}), 422, "validation_failed")
    assert_error(client.get("/api/v1/admin-changes", headers=login("auditor"),
                            query_string={"who": "admin"}), 422, "validation_failed")
    assert_error(client.get("/api/v1/admin-changes", headers=login("auditor"),
                            query_string={"cursor": "bm90LW91cnM="}), 422, "invalid_cursor")


def test_grid_import_replacement_and_retirement_are_recorded(client, world, login, clock):  # noqa: ANN001
    admin = login("admin")
    # T2's northern half is inside its boundary and free of grids (tests/fixtures/world.py).
    new = grid_feature("T2-A2", "T2", box(116.40, 39.91, 116.41, 39.92))
    response = client.post("/api/v1/grids/import", headers=admin,
                           json={"type": "FeatureCollection", "features": [new]})
    assert response.status_code == 201, response.get_json()
    [imported] = changes(client, login, object_code="T2-A2")
    assert (imported["action"], imported["before"]) == ("grid.imported", None)
    assert imported["after"]["kind"] == "basic"
    assert imported["after"]["township_id"] == str(world.units["T2"].id)
    assert imported["after"]["boundary"]["bounds"] == [116.4, 39.91, 116.41, 39.92]

    clock.tick()
    old_id = world.grid_id("T1-A1")
    moved = grid_feature("T1-A1", "T1", box(116.30, 39.90, 116.3095, 39.91), name="改后")
    response = client.post("/api/v1/grids/import?replace_existing=true", headers=admin,
                           json={"type": "FeatureCollection", "features": [moved]})
    assert response.status_code == 201, response.get_json()
    new_id = response.get_json()["grids"][0]["id"]
    [replaced] = changes(client, login, action="grid.replaced")
    assert (replaced["object_id"], replaced["object_code"]) == (new_id, "T1-A1")
    assert replaced["before"]["id"] == old_id
    assert (replaced["after"]["replaces_id"], replaced["after"]["name"]) == (old_id, "改后")
    assert replaced["before"]["boundary"]["wkb_sha256"] != \
        replaced["after"]["boundary"]["wkb_sha256"]

    clock.tick()
    assert client.post(f"/api/v1/grids/{new_id}/retire", headers=admin).status_code == 200
    [retired] = changes(client, login, object_id=new_id, action="grid.retired")
    assert retired["before"] == {"retired_at": None}
    assert retired["after"] == {"retired_at": clock.now.isoformat()}


def test_a_refused_import_leaves_no_trail(client, world, login):  # noqa: ANN001
    bad = grid_feature("T1-Z9", "NOPE", box(116.33, 39.90, 116.34, 39.91))
    good = grid_feature("T1-D1", "T1", box(116.33, 39.91, 116.34, 39.92))
    response = client.post("/api/v1/grids/import", headers=login("admin"),
                           json={"type": "FeatureCollection", "features": [good, bad]})
    assert response.status_code == 422
    assert changes(client, login, object_type="grid") == []


def test_catalogue_items_created_updated_and_deactivated_are_recorded(client, world, login, clock):  # noqa: ANN001
    admin = login("admin")

    def load(items: list[dict], **query) -> None:  # noqa: ANN003
        response = client.post("/api/v1/catalogue/import", json={"items": items},
                               query_string=query, headers=admin)
        assert response.status_code == 200, response.get_json()

    load([{"code": "01", "name": "市容环境"}, {"code": "02", "name": "街面秩序"}])
    created = changes(client, login, action="catalogue_item.created")
    assert {c["object_code"] for c in created} == {"01", "02"}
    assert all(c["before"] is None and c["after"]["active"] for c in created)
    clock.tick()
    load([{"code": "01", "name": "市容环境卫生"}], replace="true", dry_run="true")
    assert changes(client, login, object_type="catalogue_item", at_from=clock.now.isoformat()) \
        == []  # a dry run writes nothing, so it records nothing
    load([{"code": "01", "name": "市容环境卫生"}], replace="true")
    later = changes(client, login, object_type="catalogue_item", at_from=clock.now.isoformat())
    by_code = {c["object_code"]: c for c in later}
    assert by_code["01"]["action"] == "catalogue_item.updated"
    assert (by_code["01"]["before"]["name"], by_code["01"]["after"]["name"]) == \
        ("市容环境", "市容环境卫生")
    assert by_code["02"]["action"] == "catalogue_item.deactivated"
    assert (by_code["02"]["before"]["active"], by_code["02"]["after"]["active"]) == (True, False)


def test_unit_and_user_creation_are_recorded(client, world, login):  # noqa: ANN001
    admin = login("admin")
    response = client.post("/api/v1/units", headers=admin, json={
        "code": "T1-C9", "name": "新社区", "kind": "community", "parent_code": "T1",
        "population": 4200})
    assert response.status_code == 201, response.get_json()
    unit_id = response.get_json()["id"]
    response = client.post("/api/v1/users", headers=admin, json={
        "username": "t1.new", "password": PASSWORD, "display_name": "新网格员",
        "unit_id": unit_id, "roles": ["grid_worker"]})
    assert response.status_code == 201, response.get_json()
    [unit] = changes(client, login, object_type="unit")
    assert (unit["action"], unit["object_id"], unit["object_code"]) == \
        ("unit.created", unit_id, "T1-C9")
    assert unit["after"]["parent_id"] == str(world.units["T1"].id)
    assert (unit["after"]["population"], unit["after"]["boundary"]) == (4200, None)
    [user] = changes(client, login, object_type="user")
    assert (user["action"], user["object_code"]) == ("user.created", "t1.new")
    assert user["after"]["roles"] == ["grid_worker"]
    assert user["after"]["unit_id"] == unit_id
    assert "password" not in str(user["after"])  # no secret, not even its hash


def test_posting_creation_and_end_are_recorded(client, world, login, post):  # noqa: ANN001
    posting = post(["T1-A1", "T1-B1"])
    response = client.post(f"/api/v1/postings/{posting['id']}/end", headers=login("d1.dispatcher"),
                           json={"last_day": "2026-11-30", "reason": "轮岗"})
    assert response.status_code == 200, response.get_json()
    # Both at the frozen NOW: at one time the order is by id, so look them up by action.
    by_action = {c["action"]: c for c in changes(client, login, object_type="posting",
                                                 object_id=posting["id"])}
    created, ended = by_action["posting.created"], by_action["posting.ended"]
    assert (created["action"], created["object_code"]) == ("posting.created", "d1.staff")
    assert sorted(created["after"]["grid_ids"]) == sorted(
        [world.grid_id("T1-A1"), world.grid_id("T1-B1")])
    assert (created["after"]["mode"], created["after"]["day_start"]) == ("stationed", "08:30:00")
    assert created["actor_username"] == "d1.dispatcher"
    assert ended["action"] == "posting.ended"
    assert (ended["before"]["valid_to"], ended["after"]["valid_to"]) == (None, "2026-11-30")
    assert (ended["after"]["end_reason"], ended["note"]) == ("轮岗", "轮岗")


def test_token_and_device_revocations_are_recorded_but_not_signing_out(client, world, login):  # noqa: ANN001
    phone = str(uuid.uuid4())
    client.post("/api/v1/auth/login", json={
        "username": "t1.worker", "password": PASSWORD, "device_id": phone})
    web = login("t1.worker")
    listed = client.get("/api/v1/auth/tokens", headers=web).get_json()
    phone_token = next(t for t in listed if t["device_id"] == phone)
    assert client.delete(f"/api/v1/auth/tokens/{phone_token['id']}", headers=web).status_code == 204
    assert client.post("/api/v1/auth/logout", headers=web).status_code == 204

    [token] = changes(client, login, object_type="token")
    assert (token["action"], token["object_id"], token["actor_username"]) == \
        ("token.revoked", phone_token["id"], "t1.worker")
    assert token["after"]["device_id"] == phone

    other_phone = str(uuid.uuid4())
    client.post("/api/v1/auth/login", json={
        "username": "t2.worker", "password": PASSWORD, "device_id": other_phone})
    user_id = str(world.users["t2.worker"].id)
    assert client.delete(f"/api/v1/users/{user_id}/devices/{other_phone}",
                         headers=login("admin")).status_code == 204
    [device] = changes(client, login, object_type="device")
    assert (device["action"], device["object_id"], device["actor_username"]) == \
        ("device.revoked", other_phone, "admin")
    assert device["after"] == {"user_id": user_id, "tokens_revoked": 1}


def test_evaluation_settings_changes_are_recorded(client, world, login, clock):  # noqa: ANN001
    d1 = str(world.units["D1"].id)
    body = {"response_weight": 20, "resolution_weight": 40, "satisfaction_weight": 40,
            "basic_weight": 1, "bottom_townships": 1, "bottom_departments": 2, "note": "新办法"}
    response = client.put("/api/v1/evaluation/settings", query_string={"district_id": d1},
                          json=body, headers=login("d1.dispatcher"))
    assert response.status_code == 200, response.get_json()
    [change] = changes(client, login, object_type="evaluation_settings", object_id=d1)
    assert change["action"] == "evaluation_settings.changed"
    assert change["before"]["response_weight"] == "10"  # the built-in default was in force
    assert change["after"]["response_weight"] == "20"
    assert change["after"]["effective_from"] == "2026-12-01"  # Beijing's day at T0
    assert change["note"] == "新办法"


def test_the_trail_filters_by_actor_and_time_and_pages_by_keyset(client, world, login, clock):  # noqa: ANN001
    admin = login("admin")
    worker = world.users["t1.worker"]
    times = []
    for roles in (["grid_leader"], ["grid_worker"], ["grid_leader", "grid_worker"]):
        times.append(clock.tick())
        assert client.put(f"/api/v1/users/{worker.id}/roles", headers=admin,
                          json={"roles": roles}).status_code == 200
    admin_id = str(world.users["admin"].id)
    mine = trail(client, login("auditor"), actor_user_id=admin_id)["items"]
    assert [c["at"] for c in mine] == [t.isoformat() for t in reversed(times)]  # newest first
    window = trail(client, login("auditor"), at_from=times[1].isoformat(),
                   at_to=times[2].isoformat())["items"]
    assert [c["after"]["roles"] for c in window] == [["grid_worker"]]

    everything = trail(client, login("auditor"), limit=500)["items"]
    assert len(everything) > 5  # the world's set-up by the system, and the three above
    seen, cursor = [], None
    while True:
        page = trail(client, login("auditor"), limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in everything]
