"""Role x endpoint x foreign object: outside one's territory an object answers 404, like a
missing one, so a token cannot learn what exists in another township or district."""

from __future__ import annotations

import pytest

from tests.fixtures.world import unknown_id

# role (username) -> grid codes visible among the world's grids
VISIBLE_GRIDS = {
    "admin": {"T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1", "T3-A1"},
    "auditor": {"T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1", "T3-A1"},
    "d1.dispatcher": {"T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1"},
    "d1.staff": {"T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1"},
    "d1.handler": {"T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1"},
    "t1.dispatcher": {"T1-A1", "T1-A2", "T1-B1", "T1-S1"},
    "t1.leader": {"T1-A1", "T1-A2", "T1-B1", "T1-S1"},
    # A grid worker: own grids plus the special grids laid over their township.
    "t1.worker": {"T1-A1", "T1-A2", "T1-S1"},
    "t2.worker": {"T2-A1"},
    "d2.dispatcher": {"T3-A1"},
}
PROBED_GRIDS = ("T1-A1", "T1-A2", "T1-B1", "T1-S1", "T2-A1", "T3-A1")

# role -> usernames visible among the probed users (need to know, docs/scope.md: a grid
# worker sees only themselves, a department only its own staff)
EVERYONE = {"t1.worker", "t1.leader", "t2.worker", "d2.dispatcher", "d1.staff"}
VISIBLE_USERS = {
    "admin": EVERYONE,
    "auditor": EVERYONE,
    "d1.dispatcher": {"t1.worker", "t1.leader", "t2.worker", "d1.staff"},
    "t1.dispatcher": {"t1.worker", "t1.leader"},
    "t1.leader": {"t1.worker", "t1.leader"},
    "t1.worker": {"t1.worker"},
    "t2.worker": {"t2.worker"},
    "d2.dispatcher": {"d2.dispatcher"},
    "d1.staff": {"d1.staff"},
    "d1.handler": set(),  # market supervision: city management's officer is not theirs
}
PROBED_USERS = tuple(sorted(EVERYONE))

VISIBLE_TOWNSHIPS = {
    "admin": {"T1", "T2", "T3"},
    "d1.dispatcher": {"T1", "T2"},
    "t1.dispatcher": {"T1"},
    "t1.worker": {"T1"},
    "t2.worker": {"T2"},
    "d2.dispatcher": {"T3"},
}

# role -> the district's departments it sees (docs/scope.md, units: a township command centre
# sees the departments serving it, since it names them when it calls them; a grid worker not)
D1_DEPARTMENTS = {"D1-CGZF", "D1-SCJG"}
VISIBLE_DEPARTMENTS = {
    "admin": D1_DEPARTMENTS,
    "d1.dispatcher": D1_DEPARTMENTS,
    "d1.staff": D1_DEPARTMENTS,
    "t1.dispatcher": D1_DEPARTMENTS,
    "t1.leader": D1_DEPARTMENTS,
    "t2.dispatcher": D1_DEPARTMENTS,
    "t1.worker": set(),
    "d2.dispatcher": set(),  # another district's departments do not serve it
}


@pytest.mark.parametrize("username", sorted(VISIBLE_DEPARTMENTS))
def test_a_township_command_centre_sees_the_departments_serving_it(client, world, login,
                                                                   username):
    headers = login(username)
    listed = client.get("/api/v1/units?kind=department", headers=headers).get_json()
    assert {u["code"] for u in listed} == VISIBLE_DEPARTMENTS[username]
    for code in sorted(D1_DEPARTMENTS):
        response = client.get(f"/api/v1/units/{world.units[code].id}", headers=headers)
        expected = 200 if code in VISIBLE_DEPARTMENTS[username] else 404
        assert response.status_code == expected, (username, code)
    everything = {u["code"] for u in client.get("/api/v1/units", headers=headers).get_json()}
    if username.startswith("t1."):
        # The departments, not the district's other units: no other township, no centre.
        assert not everything & {"T2", "T2-CC", "D1-CC", "T3"}


def test_seeing_a_department_shows_none_of_its_people(client, world, login):
    headers = login("t1.dispatcher")
    listed = client.get(f"/api/v1/users?unit_id={world.units['D1-CGZF'].id}",
                        headers=headers).get_json()
    assert listed == []
    staff = client.get(f"/api/v1/users/{world.users['d1.staff'].id}", headers=headers)
    assert staff.status_code == 404


@pytest.mark.parametrize("username", sorted(VISIBLE_GRIDS))
def test_grid_reads_are_scoped(client, world, login, username):
    headers = login(username)
    for code in PROBED_GRIDS:
        response = client.get(f"/api/v1/grids/{world.grid_id(code)}", headers=headers)
        expected = 200 if code in VISIBLE_GRIDS[username] else 404
        assert response.status_code == expected, (username, code, response.get_json())
        if expected == 404:
            missing = client.get(f"/api/v1/grids/{unknown_id()}", headers=headers)
            assert response.get_json()["code"] == missing.get_json()["code"] == "grid_not_found"
            assert response.get_json()["message"] == missing.get_json()["message"]
    listed = client.get("/api/v1/grids?limit=1000", headers=headers).get_json()["items"]
    assert {g["code"] for g in listed} & set(PROBED_GRIDS) == VISIBLE_GRIDS[username]
    exported = client.get("/api/v1/grids/export", headers=headers).get_json()["features"]
    assert {f["properties"]["code"] for f in exported} == {g["code"] for g in listed}


@pytest.mark.parametrize("username", sorted(VISIBLE_USERS))
def test_user_reads_are_scoped(client, world, login, username):
    headers = login(username)
    for probe in PROBED_USERS:
        response = client.get(f"/api/v1/users/{world.users[probe].id}", headers=headers)
        expected = 200 if probe in VISIBLE_USERS[username] else 404
        assert response.status_code == expected, (username, probe)
    listed = {u["username"] for u in client.get("/api/v1/users", headers=headers).get_json()}
    assert listed & set(PROBED_USERS) == VISIBLE_USERS[username]


@pytest.mark.parametrize("username", sorted(VISIBLE_TOWNSHIPS))
def test_township_views_are_scoped(client, world, login, username):
    headers = login(username)
    for township in ("T1", "T2", "T3"):
        visible = township in VISIBLE_TOWNSHIPS[username]
        unit = client.get(f"/api/v1/units/{world.units[township].id}", headers=headers)
        assert unit.status_code == (200 if visible else 404), (username, township)
        export = client.get(f"/api/v1/grids/export?township={township}", headers=headers)
        assert export.status_code == (200 if visible else 404), (username, township)
        audit = client.get(f"/api/v1/townships/{township}/topology-audit", headers=headers)
        if username == "t1.worker" or username == "t2.worker":
            assert audit.status_code == 403  # role-level: grid workers do not run audits
        else:
            assert audit.status_code == (200 if visible else 404), (username, township)


@pytest.mark.parametrize("username", ["auditor", "t1.dispatcher", "t1.worker", "d1.staff"])
def test_only_managers_change_reference_data(client, world, login, username):
    headers = login(username)
    body = {"type": "FeatureCollection", "features": []}
    assert client.post("/api/v1/grids/import", json=body, headers=headers).status_code == 403
    assert client.post(f"/api/v1/grids/{world.grid_id('T1-A1')}/retire",
                       headers=headers).status_code == 403
    new_user = {"username": "someone", "password": "long-enough-1", "display_name": "x",
                "unit_id": str(world.units["T1"].id), "roles": ["grid_worker"]}
    assert client.post("/api/v1/users", json=new_user, headers=headers).status_code == 403


def test_a_district_dispatcher_cannot_import_into_another_district(client, world, login):
    from shapely.geometry import box

    from tests.fixtures.world import grid_feature

    body = {"type": "FeatureCollection",
            "features": [grid_feature("T3-NEW", "T3", box(116.51, 39.90, 116.52, 39.91))]}
    response = client.post("/api/v1/grids/import", json=body, headers=login("d1.dispatcher"))
    assert response.status_code == 422
    assert response.get_json()["details"][0]["code"] == "unknown_township"
