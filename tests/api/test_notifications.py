"""Inboxes: one's own and one's unit's notifications, newest first, acknowledged once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.supervision.rules import DeadlineKind
from server.supervision.services import fire_due_reminders, notify, open_deadline
from tests.api.test_auth import assert_error
from tests.fixtures.world import NOW, unknown_id

MINUTE = timedelta(minutes=1)


@pytest.fixture
def inbox_world(world, db_session):  # noqa: ANN001, ANN201
    """One notification per kind of addressee, a minute apart (newest last)."""
    u = world.units
    made = {}
    addressees = [
        ("t1", {"unit_id": u["T1"].id}),  # the township: read in its command centre
        ("t1_cc", {"unit_id": u["T1-CC"].id}),
        ("c1", {"unit_id": u["T1-C1"].id}),  # the community of t1.worker and t1.leader
        ("worker", {"user_id": world.users["t1.worker"].id}),  # personal
        ("t2", {"unit_id": u["T2"].id}),
        ("d1", {"unit_id": u["D1"].id}),
    ]
    for i, (name, to) in enumerate(addressees):
        made[name] = notify(db_session, kind="case_dispatched", subject_type="test",
                            subject_id=uuid.uuid4(), title=f"note {name}", body="b",
                            now=NOW + i * MINUTE, **to)
    return made


def ids(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("t1.dispatcher", ["t1_cc", "t1"]),
        ("t1.worker", ["worker", "c1"]),
        ("t1.leader", ["c1"]),
        ("t2.dispatcher", ["t2"]),
        ("d1.staff", []),
        ("admin", ["d1"]),
    ],
)
def test_the_inbox_lists_only_ones_own_and_ones_units_notifications_newest_first(
        client, login, inbox_world, username, expected):
    response = client.get("/api/v1/notifications", headers=login(username))
    assert ids(response) == [str(inbox_world[name].id) for name in expected]
    body = response.get_json()
    assert body["unread_count"] == len(expected)
    assert body["next_cursor"] is None


def test_a_notification_shows_what_it_is_about(client, login, inbox_world):
    [item] = client.get("/api/v1/notifications", headers=login("t2.dispatcher")).get_json()["items"]
    note = inbox_world["t2"]
    assert item == {
        "id": str(note.id), "kind": "case_dispatched", "unit_id": str(note.unit_id),
        "user_id": None, "subject_type": "test", "subject_id": str(note.subject_id),
        "title": "note t2", "body": "b", "created_at": "2026-11-23T08:04:00+00:00",
        "acknowledged_at": None, "acknowledged_by_user_id": None, "reminder": None,
    }


def test_deadline_reminders_reach_the_unit_and_the_overdue_one_its_supervisor(
        client, login, world, db_session):
    deadline = open_deadline(
        db_session, subject_type="test", subject_id=uuid.uuid4(), kind=DeadlineKind.RESPONSE,
        label="T-0002 blocked lane", starts_at=NOW, due_at=NOW + timedelta(hours=24),
        unit_id=world.units["D1-CGZF"].id, supervisor_unit_id=world.units["D1-CC"].id, now=NOW)
    fire_due_reminders(db_session, now=NOW + timedelta(hours=12))
    fire_due_reminders(db_session, now=NOW + timedelta(hours=25))
    staff = client.get("/api/v1/notifications", headers=login("d1.staff")).get_json()["items"]
    # Newest first: the run at 25 h (four nodes, one time, then by id), then the 50% at 12 h.
    assert sorted(i["reminder"]["node"] for i in staff[:4]) == ["100%", "75%", "90%", "overdue"]
    assert staff[4]["reminder"]["node"] == "50%"
    half = next(i for i in staff if i["reminder"]["node"] == "50%")
    assert half["kind"] == "deadline_reminder"
    assert half["reminder"] == {"node": "50%", "fire_at": "2026-11-23T20:00:00+00:00",
                                "sent_at": "2026-11-23T20:00:00+00:00",
                                "deadline_kind": "response",
                                "due_at": "2026-11-24T08:00:00+00:00"}
    # The 75%-100% nodes and the escalation went out late, in one run: visible as such.
    late = next(i for i in staff if i["reminder"]["node"] == "75%")["reminder"]
    assert late["fire_at"] == "2026-11-24T02:00:00+00:00"
    assert late["sent_at"] == "2026-11-24T09:00:00+00:00"
    [escalation] = client.get("/api/v1/notifications",
                              headers=login("d1.dispatcher")).get_json()["items"]
    assert escalation["kind"] == "deadline_overdue"
    assert escalation["subject_id"] == str(deadline.subject_id)
    assert escalation["title"] == "已超时：T-0002 blocked lane"


def test_ack_marks_it_read_for_the_unit_once(client, login, world, inbox_world):
    note = inbox_world["c1"]
    response = client.post(f"/api/v1/notifications/{note.id}/ack", headers=login("t1.leader"))
    assert response.status_code == 200, response.get_json()
    first = response.get_json()
    assert first["acknowledged_by_user_id"] == str(world.users["t1.leader"].id)
    assert first["acknowledged_at"]
    # Again, and by a colleague of the same unit: nothing changes.
    again = client.post(f"/api/v1/notifications/{note.id}/ack", headers=login("t1.worker"))
    assert again.status_code == 200
    assert again.get_json() == first
    unread = client.get("/api/v1/notifications", query_string={"unread": "true"},
                        headers=login("t1.worker"))
    assert ids(unread) == [str(inbox_world["worker"].id)]
    assert unread.get_json()["unread_count"] == 1
    everything = client.get("/api/v1/notifications", headers=login("t1.worker"))
    assert ids(everything) == [str(inbox_world["worker"].id), str(note.id)]


@pytest.mark.parametrize(("username", "note"), [
    ("t2.dispatcher", "t1"),  # another township's
    ("t1.leader", "worker"),  # a colleague's personal one
    ("t1.worker", "t1_cc"),  # the command centre's, not the community's
])
def test_someone_elses_notification_is_not_found(client, login, inbox_world, username, note):
    response = client.post(f"/api/v1/notifications/{inbox_world[note].id}/ack",
                           headers=login(username))
    assert_error(response, 404, "notification_not_found")
    assert inbox_world[note].acknowledged_at is None


def test_ack_errors(client, login, inbox_world):
    assert_error(client.post(f"/api/v1/notifications/{unknown_id()}/ack",
                             headers=login("t1.worker")), 404, "notification_not_found")
    assert_error(client.post(f"/api/v1/notifications/{inbox_world['d1'].id}/ack"), 401,
                 "unauthenticated")
    assert_error(client.post(f"/api/v1/notifications/{inbox_world['d1'].id}/ack",
                             headers=login("auditor")), 403, "permission_denied")
    assert_error(client.get("/api/v1/notifications"), 401, "unauthenticated")


@contextmanager
def count_queries(session) -> Iterator[list[str]]:  # noqa: ANN001
    statements: list[str] = []
    connection = session.connection()

    def record(_conn, _cursor, statement, *_args):  # noqa: ANN001, ANN002, ANN202
        statements.append(statement)

    sa.event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(connection, "before_cursor_execute", record)


def test_pages_follow_the_cursor_without_gaps_or_repeats_in_constant_queries(
        client, login, world, db_session):
    unit_id = world.units["T2-CC"].id
    made = [notify(db_session, unit_id=unit_id, kind="k", subject_type=None, subject_id=None,
                   title=f"n{i}", body="", now=NOW + (i // 3) * MINUTE)  # three share a time
            for i in range(11)]
    headers = login("t2.dispatcher")
    client.get("/api/v1/notifications", headers=headers)  # warms the token cache
    seen: list[str] = []
    cursor = None
    query_counts = []
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        with count_queries(db_session) as statements:
            page = client.get("/api/v1/notifications", query_string=query, headers=headers)
        query_counts.append(len(statements))
        seen += ids(page)
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            break
    newest_first = sorted(made, key=lambda n: (n.created_at, n.id), reverse=True)
    assert seen == [str(n.id) for n in newest_first]
    assert len(set(query_counts)) == 1, query_counts  # the same few queries on every page


def test_a_cursor_we_did_not_give_is_refused(client, login, world):
    response = client.get("/api/v1/notifications", query_string={"cursor": "bm9wZQ=="},
                          headers=login("t1.worker"))
    error = assert_error(response, 422, "invalid_cursor")
    assert "cursor" in error["errors"]["query"]
