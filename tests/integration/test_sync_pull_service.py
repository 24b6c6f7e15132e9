"""The pull service on both databases: change capture, history ageing, role scopes, new grid
versions, and what a pull with nothing new costs in queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from shapely.geometry import box

from geo.crs import CRS
from server.auth.services import authenticate
from server.cases.models import Case, CaseEvent
from server.cases.rules import CaseStatus
from server.core.clock import now_utc
from server.extensions import db
from server.grids.services import import_grids
from sync.feed import SyncChange
from sync.pull import PullSettings, pull
from tests.fixtures.cases import IN_T1_A1, act
from tests.fixtures.world import PASSWORD, grid_feature


def device_actor(client, session, username: str):  # noqa: ANN001, ANN201
    token = client.post("/api/v1/auth/login", json={
        "username": username, "password": PASSWORD, "device_id": str(uuid.uuid4()),
    }).get_json()["token"]
    return authenticate(session, token, now=now_utc())


def sync_all(session, actor, *, cursor=None, now=None):  # noqa: ANN001, ANN201
    """Pull until has_more is false: (cursor, {table: {kind: set of ids}})."""
    seen: dict[str, dict[str, set[str]]] = {}
    while True:
        actor = replace(actor, _scope=None)  # a new request: the actor's scope is read again
        answer = pull(session, actor, cursor=cursor, limit=500, now=now or now_utc(),
                      settings=PullSettings())
        assert not answer.start_over
        for table, change in answer.changes.items():
            for kind, items in change.items():
                ids = {i if kind == "deleted" else i["id"] for i in items}
                if ids:
                    seen.setdefault(table, {}).setdefault(kind, set()).update(ids)
        cursor = answer.cursor
        if not answer.has_more:
            return cursor, seen


def test_capture_records_orm_and_bulk_changes_of_registered_models_only(world, db_session):
    def feed_since(seq: int) -> list[tuple[str, bool]]:
        return [(c.table_name, c.deleted) for c in db_session.scalars(
            sa.select(SyncChange).where(SyncChange.seq > seq).order_by(SyncChange.seq))]

    start = db_session.scalar(sa.select(sa.func.max(SyncChange.seq))) or 0
    grid = world.grids["T1-A1"]
    grid.name = "改名"
    db_session.flush()
    assert feed_since(start) == [("grids", False)]
    start = db_session.scalar(sa.select(sa.func.max(SyncChange.seq)))
    grid.name = grid.name  # not a change: nothing is recorded
    db_session.execute(sa.update(type(grid)).where(type(grid).code == "T1-A2")
                       .values(name="批量"))
    rows = db_session.scalars(sa.select(SyncChange).where(SyncChange.seq > start)).all()
    assert [(r.table_name, r.row_id) for r in rows] == [("grids", world.grids["T1-A2"].id)]
    if db_session.get_bind().dialect.name == "postgresql":
        assert rows[0].txid is not None


def test_closed_cases_age_out_of_a_workers_phone_at_the_next_reconcile(client, world, login,
                                                                      file_case, db_session):
    case = file_case()
    closed_at = now_utc()
    row = db_session.get(Case, uuid.UUID(case["id"]))
    row.status, row.closed_at = CaseStatus.CLOSED, closed_at
    db_session.flush()
    worker = device_actor(client, db_session, "t1.worker")
    cursor, seen = sync_all(db_session, worker, now=closed_at)
    assert seen["cases"] == {"created": {case["id"]}}  # closed recently: history
    dispatcher = device_actor(client, db_session, "t1.dispatcher")
    _, theirs = sync_all(db_session, dispatcher, now=closed_at)
    assert "cases" not in theirs  # dispatchers hold open work only
    later = closed_at + timedelta(days=8)  # past history_days and the reconcile interval
    cursor, seen = sync_all(db_session, worker, cursor=cursor, now=later)
    assert seen["cases"] == {"deleted": {case["id"]}}
    assert len(seen["case_events"]["deleted"]) == 2


def test_department_staff_hold_their_units_open_cases_and_district_references(
        client, world, login, file_case, db_session):
    led = file_case(category_code="03.01")  # city management (D1-CGZF) leads
    file_case(category_code="02.01")  # market supervision leads
    staff = device_actor(client, db_session, "d1.staff")  # of D1-CGZF
    _, seen = sync_all(db_session, staff)
    assert seen["cases"] == {"created": {led["id"]}}
    codes = set(db_session.scalars(sa.select(sa.literal_column("code")).select_from(
        sa.table("units", sa.column("id"), sa.column("code"))).where(
        sa.column("id").in_([uuid.UUID(i) for i in seen["units"]["created"]]))))
    assert {"D1", "T1", "T2", "D1-CGZF"} <= codes
    assert "D2" not in codes
    assert len(seen["grids"]["created"]) == 9  # every active grid of D1's two townships


def test_a_new_grid_version_replaces_the_old_one_on_members_phones(client, world, login,
                                                                   db_session):
    worker = device_actor(client, db_session, "t1.worker")
    cursor, _ = sync_all(db_session, worker)
    old_id = str(world.grids["T1-A1"].id)
    feature = grid_feature("T1-A1", "T1", box(116.30, 39.90, 116.3099, 39.91))
    import_grids(db_session, {"type": "FeatureCollection", "features": [feature]},
                 crs=CRS.WGS84, repair=False, replace_existing=True, allowed_township_ids=None,
                 now=now_utc())
    db_session.flush()
    _, seen = sync_all(db_session, worker, cursor=cursor)
    assert seen["grids"]["deleted"] == {old_id}
    assert len(seen["grids"]["created"]) == 1
    assert old_id not in seen["grids"]["created"]


@contextmanager
def counted(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_a_pull_with_nothing_new_is_one_query(client, world, login, file_case):
    case = file_case(at=IN_T1_A1)
    headers = login("t1.worker", device_id=str(uuid.uuid4()))
    cursor = None
    for _ in range(3):  # first sync, then confirm it
        cursor = client.post("/api/v1/sync/pull", json={"cursor": cursor},
                             headers=headers).get_json()["cursor"]
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # warm the cache
    with counted(db.engine) as bare:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with counted(db.engine) as empty:
        answer = client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers)
    assert answer.get_json()["cursor"] == cursor
    assert len(empty) == 1, empty  # the device's state, the feed position and "anything new?"
    assert len(bare) >= 1
    # A change elsewhere in the city costs a look, not a delivery.
    act(client, login("t2.dispatcher"), file_case("t2.dispatcher", at=(116.405, 39.905)), "accept")
    elsewhere = client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers)
    assert elsewhere.get_json()["cursor"] == cursor
    assert not any(v for c in elsewhere.get_json()["changes"].values() for v in c.values())
    with counted(db.engine) as after:
        client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers)
    assert len(after) == 1, after
    # and a change of the worker's own case arrives
    act(client, login("t1.dispatcher"), case, "accept")
    mine = client.post("/api/v1/sync/pull", json={"cursor": cursor}, headers=headers).get_json()
    assert [c["id"] for c in mine["changes"]["cases"]["updated"]] == [case["id"]]
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == uuid.UUID(case["id"])))
    assert len(mine["changes"]["case_events"]["created"]) == 1
    assert events == 3
