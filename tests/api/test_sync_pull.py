"""Pull through the API: a phone's first sync, incremental pulls, scope exit and entry,
tombstones, start over, masking, paging and lost answers (SQLite and PostGIS)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.cases.models import Case, PersonalDataAccess
from server.catalogue.models import CatalogueItem
from server.core.clock import now_utc
from server.grids.models import GridMember
from server.grids.services import add_grid_member
from server.supervision.models import Notification
from sync import feed
from tests.api.test_auth import assert_error
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, act

TABLES = {"units", "grids", "catalogue_items", "cases", "case_events", "notifications",
          "rejected_operations", "whistle_calls", "postings"}


class Phone:
    """A phone's local database: applies each answer the way a sync client does."""

    def __init__(self, client, login, username: str) -> None:  # noqa: ANN001
        self.client = client
        self.device_id = str(uuid.uuid4())
        self.headers = login(username, device_id=self.device_id)
        self.cursor: int | None = None
        self.db: dict[str, dict[str, dict]] = {t: {} for t in TABLES}

    def pull(self, cursor: object = "mine", limit: int = 500) -> dict:
        sent = self.cursor if cursor == "mine" else cursor
        response = self.client.post("/api/v1/sync/pull", json={"cursor": sent, "limit": limit},
                                    headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def apply(self, answer: dict) -> None:
        assert set(answer["changes"]) == TABLES
        for table, change in answer["changes"].items():
            assert set(change) == {"created", "updated", "deleted"}
            for record in change["created"] + change["updated"]:
                assert isinstance(record["id"], str)
                self.db[table][record["id"]] = record
            for gone in change["deleted"]:
                self.db[table].pop(gone, None)
        self.cursor = answer["cursor"]

    def sync(self, limit: int = 500) -> dict[str, dict[str, set[str]]]:
        """Pull until has_more is false; what arrived, per table and kind (each once)."""
        seen: dict[str, dict[str, set[str]]] = {t: {"created": set(), "updated": set(),
                                                     "deleted": set()} for t in TABLES}
        while True:
            answer = self.pull(limit=limit)
            assert not answer["start_over"], answer
            assert isinstance(answer["cursor"], int)
            assert 0 <= answer["cursor"] < 2**53
            for table, change in answer["changes"].items():
                for kind, items in change.items():
                    ids = [i if kind == "deleted" else i["id"] for i in items]
                    assert not set(ids) & seen[table][kind], f"{table} {kind} sent twice"
                    seen[table][kind] |= set(ids)
            self.apply(answer)
            if not answer["has_more"]:
                return seen


def changed(seen: dict[str, dict[str, set[str]]]) -> dict[str, dict[str, set[str]]]:
    return {t: {k: v for k, v in kinds.items() if v} for t, kinds in seen.items()
            if any(kinds.values())}


def test_first_sync_holds_a_grid_workers_scope(client, world, login, file_case):
    mine = file_case(at=IN_T1_A1)  # T1-A1: the worker's grid
    file_case(at=IN_T1_B2)  # T1-B2: a colleague's grid
    file_case("t2.dispatcher", at=(116.405, 39.905))  # another township
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    assert set(phone.db["cases"]) == {mine["id"]}
    assert {g["code"] for g in phone.db["grids"].values()} == {"T1-A1", "T1-A2", "T1-S1"}
    assert {u["code"] for u in phone.db["units"].values()} == {"T1", "T1-CC", "T1-C1", "T1-SCH"}
    assert len(phone.db["catalogue_items"]) == 6
    events = phone.db["case_events"].values()
    assert {e["case_id"] for e in events} == {mine["id"]}
    assert sorted(e["action"] for e in events) == ["dispatch", "received"]
    case = phone.db["cases"][mine["id"]]
    assert case["status"] == "dispatched"
    assert case["version"] == mine["version"]
    assert case["received_at"].endswith("+00:00")
    assert case["basic_grid_code"] == "T1-A1"
    grid = phone.db["grids"][world.grid_id("T1-A1")]
    assert grid["boundary"]["type"] == "MultiPolygon"
    assert grid["township_id"] == str(world.units["T1"].id)


def test_a_pull_after_a_change_carries_only_that_change(client, world, login, file_case):
    case = file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    nothing = phone.pull()
    assert nothing["cursor"] == phone.cursor
    assert not nothing["has_more"]
    assert not any(v for c in nothing["changes"].values() for v in c.values())
    accepted = act(client, login("t1.dispatcher"), case, "accept")
    seen = changed(phone.sync())
    assert seen.keys() == {"cases", "case_events"}
    assert seen["cases"] == {"updated": {case["id"]}}
    assert len(seen["case_events"]["created"]) == 1
    assert seen["case_events"].keys() == {"created"}
    assert phone.db["cases"][case["id"]]["status"] == "accepted"
    assert phone.db["cases"][case["id"]]["version"] == accepted["version"]


def test_a_case_redispatched_away_leaves_the_phone_with_its_events(client, world, login, file_case):
    case = file_case(category_code="02.01")  # led by market supervision (D1-SCJG)
    phone = Phone(client, login, "d1.handler")
    phone.sync()
    assert set(phone.db["cases"]) == {case["id"]}
    assert len(phone.db["case_events"]) == 2
    act(client, login("t1.dispatcher"), case, "dispatch",
        lead_unit_id=str(world.units["D1-CGZF"].id))
    seen = changed(phone.sync())
    assert seen["cases"] == {"deleted": {case["id"]}}
    assert seen["case_events"].keys() == {"deleted"}
    assert len(seen["case_events"]["deleted"]) == 2
    assert phone.db["cases"] == {}
    assert phone.db["case_events"] == {}


def test_a_case_dispatched_in_comes_whole_with_its_older_events(client, world, login, file_case):
    case = file_case(category_code="03.01")  # led by city management, not the handler's unit
    act(client, login("t1.dispatcher"), case, "dispatch", note="先派城管",
        lead_unit_id=str(world.units["D1-CGZF"].id))
    phone = Phone(client, login, "d1.handler")
    phone.sync()
    assert phone.db["cases"] == {}
    current = client.get(f"/api/v1/cases/{case['id']}", headers=login("t1.dispatcher")).get_json()
    act(client, login("t1.dispatcher"), current, "dispatch",
        lead_unit_id=str(world.units["D1-SCJG"].id))
    seen = changed(phone.sync())
    assert seen["cases"] == {"created": {case["id"]}}
    # Three events, two of them older than the phone's cursor: all come with the case.
    assert seen["case_events"].keys() == {"created"}
    assert len(seen["case_events"]["created"]) == 4


def test_a_case_moved_into_or_out_of_a_workers_grid_follows(client, world, login, file_case,
                                                            db_session):
    inside, outside = file_case(at=IN_T1_A1), file_case(at=IN_T1_B2)
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    # A location correction moves each case to the other's grid (straight in the database:
    # the pull only cares that the rows changed).
    for case_id, code in ((inside["id"], "T1-B2"), (outside["id"], "T1-A1")):
        db_session.get(Case, uuid.UUID(case_id)).basic_grid_code = code
    db_session.flush()
    seen = changed(phone.sync())
    assert seen["cases"] == {"created": {outside["id"]}, "deleted": {inside["id"]}}
    assert {e["case_id"] for e in phone.db["case_events"].values()} == {outside["id"]}
    assert len(seen["case_events"]["created"]) == len(seen["case_events"]["deleted"]) == 2


def test_a_worker_leaving_a_grid_loses_it_and_its_cases(client, world, login, file_case,
                                                        db_session):
    case = file_case(at=IN_T1_A1)
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    worker = world.users["t1.worker"]
    db_session.delete(db_session.get(GridMember, (world.grids["T1-A1"].id, worker.id)))
    db_session.flush()
    seen = changed(phone.sync())
    assert seen["grids"] == {"deleted": {world.grid_id("T1-A1")}}
    assert seen["cases"] == {"deleted": {case["id"]}}
    assert phone.db["case_events"] == {}


def test_a_worker_joining_a_grid_gets_it_with_its_older_cases(client, world, login, file_case,
                                                              db_session):
    older = file_case(at=IN_T1_B2)
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    assert phone.db["cases"] == {}
    add_grid_member(db_session, world.grids["T1-B2"], world.users["t1.worker"], now=now_utc())
    db_session.flush()
    seen = changed(phone.sync())
    assert seen["grids"] == {"created": {world.grid_id("T1-B2")}}
    assert seen["cases"] == {"created": {older["id"]}}
    assert len(seen["case_events"]["created"]) == 2


def test_deleted_and_deactivated_rows_are_sent_as_tombstones(client, world, login, file_case,
                                                             db_session):
    file_case()
    worker = world.users["t1.worker"]
    note = Notification(user_id=worker.id, kind="note", title="请巡查", body="…",
                        created_at=now_utc())
    db_session.add(note)
    db_session.flush()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    assert set(phone.db["notifications"]) == {str(note.id)}
    item = db_session.scalar(sa.select(CatalogueItem).where(CatalogueItem.code == "03.01"))
    item.active = False
    db_session.delete(note)
    db_session.flush()
    seen = changed(phone.sync())
    assert seen == {"notifications": {"deleted": {str(note.id)}},
                    "catalogue_items": {"deleted": {str(item.id)}}}


def test_an_acknowledgement_by_bulk_update_reaches_the_phone(client, world, login, db_session):
    worker = world.users["t1.worker"]
    note = Notification(user_id=worker.id, kind="note", title="t", body="b", created_at=now_utc())
    db_session.add(note)
    db_session.flush()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    ack = client.post(f"/api/v1/notifications/{note.id}/ack", headers=phone.headers)
    assert ack.status_code == 200, ack.get_json()
    seen = changed(phone.sync())
    assert seen == {"notifications": {"updated": {str(note.id)}}}
    assert phone.db["notifications"][str(note.id)]["acknowledged_at"] is not None


def test_a_cursor_from_the_future_or_too_old_starts_over(client, world, login, file_case,
                                                         db_session):
    case = file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    act(client, login("t1.dispatcher"), case, "accept")  # the phone has not seen this yet
    future = phone.pull(cursor=phone.cursor + 1000)
    assert future["start_over"]
    assert future["cursor"] is None
    assert future["start_over_reason"] == "cursor_from_the_future"
    assert not any(v for c in future["changes"].values() for v in c.values())
    # The feed is pruned past the change the phone has not seen: it can no longer catch up.
    held = {t: set(rows) for t, rows in phone.db.items()}
    held["case_events"] = {str(i) for i in held["case_events"]} | set(
        Phone(client, login, "t1.worker").sync()["case_events"]["created"])
    assert feed.prune(db_session, now=now_utc() + timedelta(days=31), keep_days=30) > 0
    old = phone.pull()
    assert old["start_over"]
    assert old["start_over_reason"] == "cursor_too_old"
    # The phone drops the server's records (keeping its own unsent work) and starts again.
    phone.db = {t: {} for t in TABLES}
    phone.cursor = None
    phone.sync()
    assert {t: set(rows) for t, rows in phone.db.items()} == held
    unknown = Phone(client, login, "t1.leader").pull(cursor=5)
    assert unknown["start_over"]
    assert unknown["start_over_reason"] == "unknown_cursor"


def test_a_worker_sees_residents_masked_and_no_view_is_logged(client, world, login, file_case,
                                                              db_session):
    case = file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    record = phone.db["cases"][case["id"]]
    assert (record["resident_view"], record["resident_name"], record["resident_phone"]) == \
        ("masked", "张*", "138****1234")
    logged = sa.select(PersonalDataAccess.user_id, PersonalDataAccess.purpose).where(
        PersonalDataAccess.case_id == uuid.UUID(case["id"]))
    assert world.users["t1.worker"].id not in {u for u, _ in db_session.execute(logged)}
    dispatcher = Phone(client, login, "t1.dispatcher")
    dispatcher.sync()
    shown = dispatcher.db["cases"][case["id"]]
    assert (shown["resident_view"], shown["resident_name"]) == ("shown", "张三")
    assert (world.users["t1.dispatcher"].id, "sync") in set(db_session.execute(logged))


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_pages_cover_the_scope_exactly_once_most_urgent_first(client, world, login, file_case,
                                                              limit):
    for _ in range(3):
        file_case()
    whole = Phone(client, login, "t1.worker")
    everything = whole.sync(limit=5000)
    phone = Phone(client, login, "t1.worker")
    pages: list[set[int]] = []
    while True:
        answer = phone.pull(limit=limit)
        records = [(t, r) for t, c in answer["changes"].items() for r in c["created"]]
        assert 1 <= len(records) <= limit
        pages.append({0 if t in {"units", "grids", "catalogue_items"} else 1 for t, _ in records})
        phone.apply(answer)
        if not answer["has_more"]:
            break
    # Reference data first, then the open cases (a page's tables are not ordered on the wire).
    assert all(max(before) <= min(after) for before, after in zip(pages, pages[1:], strict=False))
    assert {t: set(r) for t, r in phone.db.items()} == \
        {t: kinds["created"] for t, kinds in everything.items()}


def test_a_lost_answer_is_sent_again_when_the_old_cursor_comes_back(client, world, login,
                                                                    file_case):
    file_case()
    phone = Phone(client, login, "t1.worker")
    first = phone.pull(limit=4)
    phone.apply(first)
    lost = phone.pull(limit=4)  # never reaches the phone
    again = phone.pull(limit=4)
    assert again["changes"] == lost["changes"]
    assert again["has_more"] == lost["has_more"]
    assert again["cursor"] > lost["cursor"]  # the lost cursor is not valid any more
    assert phone.pull(cursor=lost["cursor"])["start_over"]
    phone.db = {t: {} for t in TABLES}
    phone.cursor = None
    phone.sync(limit=4)
    whole = Phone(client, login, "t1.worker")
    whole.sync()
    assert {t: set(r) for t, r in phone.db.items()} == {t: set(r) for t, r in whole.db.items()}


def test_status_shows_the_devices_cursor_and_holdings(client, world, login, file_case):
    file_case()
    phone = Phone(client, login, "t1.worker")
    phone.sync()
    phone.apply(phone.pull())  # confirms the last answer's cursor
    status = client.get("/api/v1/sync/status", headers=phone.headers).get_json()
    assert status["device_id"] == phone.device_id
    assert status["cursor"] == phone.cursor
    assert status["held"]["cases"] == 1
    assert status["held"]["grids"] == 3
    assert not status["has_more"]
    assert status["last_pull_at"]


def test_sync_needs_a_device_token_and_a_field_role(client, world, login):
    web = client.post("/api/v1/sync/pull", json={"cursor": None}, headers=login("t1.worker"))
    assert_error(web, 403, "device_token_required")
    assert_error(client.get("/api/v1/sync/status", headers=login("t1.dispatcher")), 403,
                 "device_token_required")
    admin = login("admin", device_id=str(uuid.uuid4()))
    assert_error(client.post("/api/v1/sync/pull", json={}, headers=admin), 403,
                 "sync_not_for_role")
    assert_error(client.post("/api/v1/sync/pull", json={"cursor": None}), 401, "unauthenticated")


@pytest.mark.parametrize("body", [{"limit": 0}, {"limit": 5001}, {"cursor": "12"},
                                  {"cursor": -1}, {"since": 3}])
def test_a_malformed_pull_is_refused(client, world, login, body):
    headers = login("t1.worker", device_id=str(uuid.uuid4()))
    assert_error(client.post("/api/v1/sync/pull", json=body, headers=headers), 422,
                 "validation_failed")
