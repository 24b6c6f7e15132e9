"""The objects of the authorisation matrix and the fuzz run, built once per module.

Inside (``in``): objects in township T1 of district D1, where every role of the matrix sits;
outside (``out``): objects in district D2 (township T3), or in township T2 where D2 has none
to offer. The need-to-know table (server/org/rules.py ``NEED_TO_KNOW``, docs/scope.md) says
which role sees which; tests/api/test_authorisation_matrix.py declares the answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.org.rules import Role, UnitKind
from server.org.services import create_unit, create_user
from sync.photos import link_photo
from tests.conftest import _BoundSession
from tests.fixtures.cases import CATALOGUE, IN_T1_A1
from tests.fixtures.tus import create, sha, upload, url_of
from tests.fixtures.world import NOW, PASSWORD, World, build_world

# One user per role, all in district D1 (the matrix's "every role").
USERS: dict[Role, str] = {
    Role.ADMIN: "admin", Role.AUDITOR: "auditor", Role.DISTRICT_DISPATCHER: "d1.dispatcher",
    Role.TOWNSHIP_DISPATCHER: "t1.dispatcher", Role.GRID_LEADER: "t1.leader",
    Role.GRID_WORKER: "t1.worker", Role.DEPARTMENT_HANDLER: "d1.handler",  # market supervision
    Role.DEPARTMENT_STAFF: "d1.staff",  # city management
}
IN_T3 = (116.505, 39.905)
IN_T2 = (116.405, 39.905)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(range(256)) * 8
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x17" * 3000


@dataclass
class Objects:
    """Ids by kind: ``inside[kind]`` and ``outside[kind]`` (path parameter values)."""

    world: World
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # username -> headers
    inside: dict[str, str] = field(default_factory=dict)
    outside: dict[str, str] = field(default_factory=dict)
    own_tokens: dict[str, str] = field(default_factory=dict)  # username -> a token id
    phones: dict[str, dict[str, str]] = field(default_factory=dict)  # a device's token
    versions: dict[str, int] = field(default_factory=dict)  # object id -> its version


@contextmanager
def module_session(app: Flask) -> Iterator[tuple[sa.orm.Session, sa.Connection]]:
    """Like the ``db_session`` fixture, for a whole module: one outer transaction, and its
    connection (for the savepoints of single attempts)."""
    from server.extensions import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": _BoundSession})
        try:
            yield db.session, connection
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
            app.extensions["gridops.grid_index"].clear()


def objects_fixture(photo_dir_name: str):  # noqa: ANN201
    """A module-scoped fixture yielding (connection, Objects): the objects built once in a
    module transaction that is rolled back, photos in a temporary directory of that name.
    The matrix and the fuzz test each bind one: ``objects = objects_fixture("matrix-photos")``.
    """

    @pytest.fixture(scope="module")
    def _objects(app, tmp_path_factory) -> Iterator[tuple[sa.Connection, Objects]]:  # noqa: ANN001
        photo_dir: Path = tmp_path_factory.mktemp(photo_dir_name)
        saved = app.config["PHOTO_DIR"]
        with module_session(app) as (session, connection):
            try:
                yield connection, build_objects(app, session, photo_dir)
            finally:
                app.config["PHOTO_DIR"] = saved

    return _objects


def _ok(response, *statuses: int) -> dict:  # noqa: ANN001
    assert response.status_code in (statuses or (200, 201)), response.get_json()
    return response.get_json() if response.is_json else {}


def build_objects(app: Flask, session: sa.orm.Session, photo_dir: Path) -> Objects:
    """The world, plus a case, a posting, a whistle call, a photo, an upload, a tracked
    problem, an Open311 key and a device inside and (where the kind has one) outside."""
    passwords = app.extensions["gridops.passwords"]
    world = build_world(session, passwords)
    # An outside department with a staff member, so that a posting can be outside.
    world.units["D2-CGZF"] = create_unit(session, code="D2-CGZF", name="Unit D2-CGZF",
                                         kind=UnitKind.DEPARTMENT, parent_code="D2", now=NOW,
                                         department_kind="city_management")
    world.users["d2.staff"] = create_user(
        session, passwords, username="d2.staff", password=PASSWORD, display_name="d2.staff",
        unit_id=world.units["D2-CGZF"].id, roles=[Role.DEPARTMENT_STAFF], now=NOW)
    session.flush()
    app.config["PHOTO_DIR"] = photo_dir
    client = app.test_client()
    o = Objects(world)

    def login(username: str, **extra: str) -> dict[str, str]:
        body = {"username": username, "password": PASSWORD, **extra}
        token = _ok(client.post("/api/v1/auth/login", json=body), 201)["token"]
        return {"Authorization": f"Bearer {token}"}

    for username in [*USERS.values(), "t2.dispatcher", "t2.worker", "d2.dispatcher"]:
        o.tokens[username] = login(username)
    for username in [*USERS.values(), "t2.worker"]:
        o.phones[username] = login(username, device_id=str(uuid.uuid4()), device_name="phone")
    o.outside["token_id"] = _ok(client.get("/api/v1/auth/tokens",
                                           headers=o.tokens["t2.dispatcher"]))[0]["id"]
    for username in USERS.values():
        o.own_tokens[username] = _ok(client.get("/api/v1/auth/tokens",
                                                headers=o.tokens[username]))[0]["id"]
    # A failed sign-in of a name nobody has: a sign-in record an admin may lift.
    wrong = client.post("/api/v1/auth/login", json={"username": "nobody.probe",
                                                    "password": "not-the-password"})
    assert wrong.status_code == 401, wrong.get_json()
    o.inside["username"] = "nobody.probe"
    h = o.tokens
    _ok(client.post("/api/v1/catalogue/import", json={"items": CATALOGUE}, headers=h["admin"]))

    def file_case(username: str, at: tuple[float, float], category: str) -> dict:
        body = {"channel": "internet", "appeal_type": "complaint", "category_code": category,
                "title": "门口占道摆摊", "description": "小区门口每天晚上有人占道经营。",
                "resident_name": "张三", "resident_phone": "13812341234",
                "lon": at[0], "lat": at[1]}
        return _ok(client.post("/api/v1/cases", json=body, headers=h[username]), 201)

    # Led by market supervision (d1.handler), in t1.worker's grid T1-A1.
    case_in = file_case("t1.dispatcher", IN_T1_A1, "02.01")
    case_out = file_case("d2.dispatcher", IN_T3, "01.01")
    o.inside["case_id"], o.outside["case_id"] = case_in["id"], case_out["id"]
    o.versions.update({case_in["id"]: case_in["version"], case_out["id"]: case_out["version"]})

    def post(by: str, staff: str, grid: str) -> dict:
        body = {"staff_user_id": str(world.users[staff].id), "grid_ids": [world.grid_id(grid)],
                "mode": "patrolling", "valid_from": "2026-11-01",
                "visits": {"required": 1, "per": "week"}}
        return _ok(client.post("/api/v1/postings", json=body, headers=h[by]), 201)

    o.inside["posting_id"] = post("d1.dispatcher", "d1.staff", "T1-A1")["id"]  # city management
    o.outside["posting_id"] = post("admin", "d2.staff", "T3-A1")["id"]

    now = datetime.now(UTC)

    def raise_call(username: str, at: tuple[float, float], department: str) -> dict:
        body = {"kind": "enforcement", "description": "违章搭建,需联合执法。", "lon": at[0],
                "lat": at[1], "department_ids": [str(world.units[department].id)]}
        return _ok(client.post("/api/v1/whistle-calls", json=body, headers=h[username]), 201)

    call_in = raise_call("t1.dispatcher", (116.315, 39.915), "D1-SCJG")
    call_in = _ok(client.post(f"/api/v1/whistle-calls/{call_in['id']}/accept",
                              headers=h["t1.dispatcher"],
                    json={"version": call_in["version"],
                          "lead_department_id": str(world.units["D1-SCJG"].id),
                          "arrival_due_at": (now + timedelta(hours=2)).isoformat(),
                          "completion_due_at": (now + timedelta(hours=8)).isoformat()}))
    # T2's call: inside the district (its dispatcher sees it), outside everyone else here.
    o.inside["call_id"] = call_in["id"]
    call_out = raise_call("t2.dispatcher", IN_T2, "D1-CGZF")
    o.outside["call_id"] = call_out["id"]
    o.versions.update({call_in["id"]: call_in["version"], call_out["id"]: call_out["version"]})

    # Photos by hash: one linked to the inside case, one to the outside case.
    assert upload(client, h["t1.worker"], PNG).status_code == 204
    link_photo(session, sha256=sha(PNG), subject_type="case",
               subject_id=uuid.UUID(case_in["id"]), user_id=world.users["t1.worker"].id, now=NOW)
    assert upload(client, h["t2.worker"], JPEG, content_type="image/jpeg").status_code == 204
    link_photo(session, sha256=sha(JPEG), subject_type="case",
               subject_id=uuid.UUID(case_out["id"]), user_id=world.users["t2.worker"].id,
               now=NOW)
    o.inside["sha256"], o.outside["sha256"] = sha(PNG), sha(JPEG)
    # Uploads in progress are their uploader's only.
    half = b"\xff\xd8\xff\xe0" + b"\x42" * 4000
    o.inside["upload_id"] = url_of(create(client, h["t1.worker"], half,
                                          content_type="image/jpeg")).rsplit("/", 1)[-1]
    o.outside["upload_id"] = url_of(create(client, h["t2.worker"], half + b"x",
                                           content_type="image/jpeg")).rsplit("/", 1)[-1]

    o.inside["user_id"] = str(world.users["t1.worker"].id)
    o.outside["user_id"] = str(world.users["d2.dispatcher"].id)
    o.inside["unit_id"], o.outside["unit_id"] = str(world.units["T1"].id), str(
        world.units["T3"].id)
    o.inside["grid_id"], o.outside["grid_id"] = world.grid_id("T1-A1"), world.grid_id("T3-A1")
    o.inside["township"], o.outside["township"] = "T1", "T3"
    o.inside["district_id"] = str(world.units["D1"].id)  # for query strings, not paths
    o.inside["catalogue_code"] = "01.01"
    # t1.worker's phone: a device of the inside user.
    device = str(uuid.uuid4())
    login("t1.worker", device_id=device, device_name="phone")
    o.inside["device_id"], o.outside["device_id"] = device, str(uuid.uuid4())

    def problem(username: str, area: str) -> str:
        body = {"title": "占道经营", "description": "每月一题", "category_codes": ["01.01"],
                "area_unit_id": str(world.units[area].id), "starts_on": "2026-11-05"}
        return _ok(client.post("/api/v1/tracked-problems", json=body, headers=h[username]),
                   201)["id"]

    o.inside["problem_id"] = problem("d1.dispatcher", "T1")
    o.outside["problem_id"] = problem("d2.dispatcher", "T3")
    key = _ok(client.post("/api/v1/open311-keys", json={"name": "app", "unit_code": "T1-CC"},
                          headers=h["admin"]), 201)
    o.inside["key_id"] = key["id"]
    notes = _ok(client.get("/api/v1/notifications", headers=h["d1.handler"]))
    if notes["items"]:
        o.inside["notification_id"] = notes["items"][0]["id"]
    o.inside["service_request_id"] = case_in["number"]
    o.outside["service_request_id"] = case_out["number"]
    # Release the session's own savepoint (the outer transaction stays): an attempt's
    # savepoint must not sit inside one that the next request's commit releases.
    session.commit()
    return o
