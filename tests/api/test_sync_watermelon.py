"""WatermelonDB's sync protocol over HTTP: pullChanges' and pushChanges' shapes, paging,
start over, operations applied once however often they are sent, and server-owned tables
read-only on the phone (changes ignored, then repaired by the next pull)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from sync.tables import registered
from tests.api.test_auth import assert_error
from tests.fixtures.cases import act

PULL = "/api/v1/sync/watermelon/pull"
PUSH = "/api/v1/sync/watermelon/push"


@pytest.fixture
def phone(login):  # noqa: ANN001, ANN201
    return login("t1.worker", device_id=str(uuid.uuid4()))


def pull(client, headers, last_pulled_at=None, **extra) -> dict:  # noqa: ANN001, ANN003
    response = client.post(PULL, headers=headers, json={
        "lastPulledAt": last_pulled_at, "schemaVersion": 1, "migration": None, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def push(client, headers, changes, last_pulled_at=None) -> dict:  # noqa: ANN001
    response = client.post(PUSH, headers=headers, json={
        "changes": changes, "lastPulledAt": last_pulled_at,
        "sentAt": datetime.now(UTC).isoformat()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def operation(seq: int, name: str, **args) -> dict:  # noqa: ANN003
    """An operations record as WatermelonDB pushes it (raw, with _status and _changed)."""
    return {"id": str(uuid.uuid4()), "_status": "created", "_changed": "", "name": name,
            "args": json.dumps(args, ensure_ascii=False), "base_version": 1, "device_seq": seq,
            "device_time": datetime.now(UTC).isoformat()}


def changes(**by_table) -> dict:  # noqa: ANN003
    """Every table of the phone, as pushChanges sends them (empty ones included)."""
    names = [t.name for t in registered()] + ["operations"]
    names += [name for name in by_table if name not in names]  # the app's local-only tables
    return {name: {"created": [], "updated": [], "deleted": [], **by_table.get(name, {})}
            for name in names}


def ids(answer: dict, table: str, kind: str) -> set[str]:
    items = answer["changes"][table][kind]
    return {i if kind == "deleted" else i["id"] for i in items}


def test_a_first_pull_is_shaped_as_watermelondb_wants_it(client, world, login, phone, file_case):
    case = file_case()
    answer = pull(client, phone)
    assert set(answer) == {"changes", "timestamp", "has_more", "start_over",
                           "start_over_reason", "experimentalStrategy", "server_time"}
    assert set(answer["changes"]) == {t.name for t in registered()}
    for kinds in answer["changes"].values():
        assert set(kinds) == {"created", "updated", "deleted"}
    stamp = answer["timestamp"]
    assert isinstance(stamp, int)
    assert 0 < stamp < 2**53
    assert (answer["has_more"], answer["start_over"], answer["experimentalStrategy"]) == \
        (False, False, None)
    [sent] = answer["changes"]["cases"]["created"]
    assert sent["id"] == case["id"]
    # Nested values are JSON text; created_at / updated_at are milliseconds (numbers). The
    # actions are the phone user's, as the web offers them to the same user.
    as_worker = client.get(f"/api/v1/cases/{case['id']}", headers=phone).get_json()
    assert json.loads(sent["allowed_actions"]) == as_worker["allowed_actions"]
    assert as_worker["allowed_actions"] != case["allowed_actions"]  # the dispatcher's
    assert sent["updated_at"] == int(datetime.fromisoformat(case["updated_at"]).timestamp() * 1000)
    assert isinstance(sent["received_at"], str)
    grid = answer["changes"]["grids"]["created"][0]
    assert json.loads(grid["boundary"])["type"] == "MultiPolygon"
    assert isinstance(grid["created_at"], int)
    assert {type(v) for r in answer["changes"]["case_events"]["created"] for v in r.values()} <= \
        {str, int, float, bool, type(None)}

    again = pull(client, phone, stamp)
    assert again["timestamp"] == stamp
    assert all(k == {"created": [], "updated": [], "deleted": []}
               for k in again["changes"].values())


def test_a_first_sync_comes_in_pages_one_synchronize_each(client, world, login, phone, file_case):
    for _ in range(3):
        file_case()
    whole = pull(client, login("t1.worker", device_id=str(uuid.uuid4())))
    expected = {t: ids(whole, t, "created") for t in whole["changes"]}
    got: dict[str, set[str]] = {t: set() for t in expected}
    answer, stamps = pull(client, phone, limit=4), []
    while True:
        stamps.append(answer["timestamp"])
        for table in got:
            got[table] |= ids(answer, table, "created")
        if not answer["has_more"]:
            break
        answer = pull(client, phone, answer["timestamp"], limit=4)
    assert got == expected
    assert len(stamps) > 2
    assert stamps == sorted(set(stamps))  # every page a new, larger timestamp


def test_the_get_form_takes_watermelondb_example_query(client, world, login, phone, file_case):
    file_case()
    response = client.get(f"{PULL}?last_pulled_at=null&schema_version=1&migration=null",
                          headers=phone)
    assert response.status_code == 200, response.get_json()
    first = response.get_json()
    assert len(first["changes"]["cases"]["created"]) == 1
    response = client.get(f"{PULL}?last_pulled_at={first['timestamp']}&schema_version=1",
                          headers=phone)
    assert response.get_json()["changes"]["cases"] == {"created": [], "updated": [], "deleted": []}
    migration = quote(json.dumps({"from": 1, "tables": [], "columns": []}))
    response = client.get(f"{PULL}?last_pulled_at={first['timestamp']}&migration={migration}",
                          headers=phone)
    assert response.get_json()["start_over_reason"] == "schema_migration"
    assert_error(client.get(f"{PULL}?last_pulled_at=soon", headers=phone), 422,
                 "validation_failed")
    assert_error(client.get(f"{PULL}?last_pulled_at=1&migration=%7Bnot", headers=phone), 422,
                 "validation_failed")


def test_a_start_over_is_a_fresh_sync_the_phone_applies_as_replacement(
        client, world, login, phone, file_case):
    case = file_case()
    first = pull(client, phone)
    answer = pull(client, phone, first["timestamp"] + 1000)  # server restored from a backup
    assert (answer["start_over"], answer["start_over_reason"], answer["experimentalStrategy"],
            answer["has_more"]) == (True, "cursor_from_the_future", "replacement", False)
    # Every record as "updated": the phone most likely holds it already.
    assert ids(answer, "cases", "updated") == {case["id"]}
    assert ids(answer, "units", "updated") == ids(first, "units", "created")
    assert all(not kinds["created"] for kinds in answer["changes"].values())
    assert "operations" not in answer["changes"]  # the phone's queue is never replaced
    assert answer["timestamp"] >= first["timestamp"]  # the feed did not move
    # The app's schema grew (a migration): everything again, as a replacement.
    migrated = pull(client, phone, answer["timestamp"],
                    migration={"from": 1, "tables": ["notifications"], "columns": []})
    assert (migrated["start_over_reason"], migrated["experimentalStrategy"]) == \
        ("schema_migration", "replacement")
    assert ids(migrated, "cases", "updated") == {case["id"]}


def test_operations_records_are_applied_once_however_often_they_are_pushed(
        client, world, login, phone, file_case):
    case = file_case()
    stamp = pull(client, phone)["timestamp"]
    ops = [operation(1, "accept_case", case_id=case["id"]),
           operation(2, "add_note", case_id=case["id"], note="已到现场"),
           operation(3, "complete_task", case_id=str(uuid.uuid4()), result="没有这个案件")]
    first = push(client, phone, changes(operations={"created": ops}), stamp)
    assert [(r["id"], r["status"]) for r in first["results"]] == [
        (ops[0]["id"], "applied"), (ops[1]["id"], "applied"), (ops[2]["id"], "rejected")]
    assert (first["experimentalRejectedIds"], first["problems"], first["ignored"]) == ({}, [], [])
    # The answer was lost: WatermelonDB sends the same records again (some now "updated").
    again = push(client, phone, changes(operations={"created": ops[1:], "updated": ops[:1]}),
                 stamp)
    assert [(r["status"], r["original_status"]) for r in again["results"]] == [
        ("duplicate", "applied"), ("duplicate", "applied"), ("duplicate", "rejected")]
    timeline = client.get(f"/api/v1/cases/{case['id']}/timeline",
                          headers=login("t1.dispatcher")).get_json()
    assert [e["action"] for e in timeline].count("note") == 1
    assert [e["action"] for e in timeline].count("accept") == 1
    # Outcomes come back through the pull: the case moved on, the rejection is listed.
    later = pull(client, phone, stamp)
    assert [c["status"] for c in later["changes"]["cases"]["updated"]] == ["accepted"]
    [rejected] = later["changes"]["rejected_operations"]["created"]
    assert (rejected["id"], rejected["code"], rejected["device_seq"]) == \
        (ops[2]["id"], "case_not_found", 3)
    assert json.loads(rejected["flags"]) == []


def test_operations_the_server_cannot_read_stay_dirty_and_do_not_block_the_rest(
        client, world, login, phone, file_case):
    case = file_case()
    good = operation(1, "accept_case", case_id=case["id"])
    bad = {**operation(2, "add_note", case_id=case["id"], note="x"), "id": "Xk3Jd8sP0qLm2Nb7"}
    undated = {**operation(3, "add_note", case_id=case["id"], note="y"), "device_time": None}
    answer = push(client, phone, changes(operations={"created": [bad, good, undated]}))
    assert [(r["id"], r["status"]) for r in answer["results"]] == [(good["id"], "applied")]
    assert answer["experimentalRejectedIds"] == {"operations": sorted([bad["id"], undated["id"]])}
    assert {p["id"] for p in answer["problems"]} == {bad["id"], undated["id"]}


def test_server_owned_tables_are_read_only_changes_are_ignored_then_repaired(
        client, world, login, phone, file_case):
    case = file_case()
    first = pull(client, phone)
    [sent] = first["changes"]["cases"]["created"]
    unit = first["changes"]["units"]["created"][0]
    made_up = str(uuid.uuid4())
    answer = push(client, phone, changes(
        cases={"updated": [{**sent, "title": "手机上改的", "_status": "updated",
                            "_changed": "title"}]},
        units={"deleted": [unit["id"]], "created": [{"id": made_up, "code": "X", "name": "X",
                                                     "kind": "community"}]},
        drafts={"created": [{"id": "local-draft"}]}), first["timestamp"])
    assert answer["results"] == []
    assert answer["experimentalRejectedIds"] == {}
    assert sorted((i["table"], i["id"], i["kind"], i["reason"], i["heal"])
                  for i in answer["ignored"]) == sorted([
        ("cases", case["id"], "updated", "read_only", "resend"),
        ("units", unit["id"], "deleted", "read_only", "resend"),
        ("units", made_up, "created", "read_only", "remove"),
        ("drafts", "local-draft", "created", "unknown_table", None)])
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=login("t1.dispatcher")).get_json()
    assert shown["title"] == case["title"]
    assert shown["version"] == case["version"]

    repaired = pull(client, phone, first["timestamp"])
    assert [c["title"] for c in repaired["changes"]["cases"]["updated"]] == [case["title"]]
    assert ids(repaired, "units", "updated") == {unit["id"]}
    assert ids(repaired, "units", "deleted") == {made_up}
    assert all(not kinds["created"] for kinds in repaired["changes"].values())
    settled = pull(client, phone, repaired["timestamp"])
    assert all(not any(k.values()) for k in settled["changes"].values())


def test_refusals(client, world, login, phone):
    web = login("t2.worker")  # signed in without a device_id: a web token
    assert_error(client.post(PULL, headers=web, json={"lastPulledAt": None}), 403,
                 "device_token_required")
    assert_error(client.post(PUSH, headers=web, json={"changes": changes()}), 403,
                 "device_token_required")
    assert_error(client.post(PULL, headers=login("admin", device_id=str(uuid.uuid4())),
                             json={}), 403, "sync_not_for_role")
    assert_error(client.post(PULL, headers=phone, json={"lastPulledAt": "123"}), 422,
                 "validation_failed")
    assert_error(client.post(PULL, headers=phone, json={"lastPulledAt": 2**53}), 422,
                 "validation_failed")
    assert_error(client.post(PUSH, headers=phone, json={"lastPulledAt": 1}), 422,
                 "validation_failed")
    assert_error(client.post(PUSH, headers=phone, json={"changes": {"cases": []}}), 422,
                 "validation_failed")
    assert_error(client.post(PUSH, headers=phone, json={"changes": {"cases": {"created": [
        {"title": "no id"}]}}}), 422, "validation_failed")


def test_an_edited_record_that_leaves_the_scope_is_still_deleted(client, world, login,
                                                                 file_case):
    case = file_case(category_code="02.01")  # led by market supervision: d1.handler's
    handler = login("d1.handler", device_id=str(uuid.uuid4()))
    first = pull(client, handler)
    [sent] = first["changes"]["cases"]["created"]
    answer = push(client, handler, changes(cases={"updated": [{**sent, "title": "改了"}]}))
    assert [i["heal"] for i in answer["ignored"]] == ["resend"]
    act(client, login("t1.dispatcher"), case, "dispatch",
        lead_unit_id=str(world.units["D1-CGZF"].id))
    after = pull(client, handler, first["timestamp"])
    assert ids(after, "cases", "deleted") == {case["id"]}
    assert len(after["changes"]["case_events"]["deleted"]) == 2


def test_a_push_past_the_operation_limit_applies_the_first_and_defers_the_rest(
        client, world, login, phone, file_case, app, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_MAX_PUSH_OPERATIONS", 3)
    case = file_case()
    ops = [operation(1, "accept_case", case_id=case["id"])] + [
        operation(seq, "add_note", case_id=case["id"], note=f"第{seq}条") for seq in range(2, 6)]
    # synchronize() sends every dirty record at once (here out of order): the first three by
    # device_seq are applied, the others come back as rejected ids, so they stay dirty.
    first = push(client, phone, changes(operations={"created": ops[::-1]}))
    assert [(r["id"], r["status"]) for r in first["results"]] == [
        (op["id"], "applied") for op in ops[:3]]
    assert first["deferred"] == [op["id"] for op in ops[3:]]
    assert first["experimentalRejectedIds"] == {"operations": sorted(o["id"] for o in ops[3:])}
    # The next synchronize() pushes the records still dirty.
    second = push(client, phone, changes(operations={"created": ops[3:]}))
    assert [(r["id"], r["status"]) for r in second["results"]] == [
        (op["id"], "applied") for op in ops[3:]]
    assert (second["deferred"], second["experimentalRejectedIds"]) == ([], {})
    timeline = client.get(f"/api/v1/cases/{case['id']}/timeline",
                          headers=login("t1.dispatcher")).get_json()
    assert [e["action"] for e in timeline].count("note") == 4
