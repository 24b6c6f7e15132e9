"""Writers of a case take its row lock first, on PostGIS with real connections, so a phone's
push and a dispatcher's web action wait for each other instead of deadlocking (both were
found by tests/integration/test_sync_chaos.py as ``deadlock detected`` 500s)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from server.cases.models import Case
from server.extensions import db
from server.supervision.models import Deadline, Reminder
from tests.fixtures.cases import CATALOGUE, IN_T1_A1
from tests.fixtures.world import PASSWORD, build_world


def _client_for(app, username: str, **extra):  # noqa: ANN001, ANN003, ANN202
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": username, "password": PASSWORD, **extra}).get_json()["token"]
    return client, {"Authorization": f"Bearer {token}"}


def _setup(app):  # noqa: ANN001, ANN202
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        engine = db.engine
    admin, headers = _client_for(app, "admin")
    assert admin.post("/api/v1/catalogue/import", json={"items": CATALOGUE},
                      headers=headers).status_code in (200, 201)
    return engine


def _file(app) -> dict:  # noqa: ANN001
    client, headers = _client_for(app, "t1.dispatcher")
    answer = client.post("/api/v1/cases", headers=headers, json={
        "channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
        "title": "t", "description": "d", "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _wait_until_blocked_by(engine: sa.Engine, pid: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            blocked = conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": pid})
            conn.rollback()
            if blocked:
                return
            time.sleep(0.02)
    raise AssertionError("the request never waited for the held case")


def _locked_elsewhere(engine: sa.Engine, statement: sa.Select) -> bool:
    """Whether another transaction holds a row lock on what ``statement`` selects."""
    with engine.connect() as conn:
        try:
            conn.execute(statement.with_for_update(nowait=True)).all()
        except sa.exc.OperationalError:
            return True
        finally:
            conn.rollback()
    return False


def _in_thread(target) -> tuple[threading.Thread, list]:  # noqa: ANN001
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.concurrency
def test_a_push_locks_a_case_named_by_its_report_in_order_with_the_others(
        committing_postgis_app):
    app = committing_postgis_app
    engine = _setup(app)
    phone, headers = _client_for(app, "t1.worker", device_id=str(uuid.uuid4()))
    now = datetime.now(UTC).isoformat()
    report = str(uuid.uuid4())
    answer = phone.post("/api/v1/sync/push", headers=headers, json={"sent_at": now, "operations": [
        {"id": report, "seq": 1, "name": "report_incident", "device_time": now,
         "args": {"appeal_type": "report", "category_code": "01.01", "title": "巡查",
                  "description": "占道", "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}}]}).get_json()
    reported = uuid.UUID(answer["results"][0]["result"]["case_id"])
    # Another case that sorts after it: a push locks its cases in id order.
    later = next(uuid.UUID(c["id"]) for c in iter(lambda: _file(app), None)
                 if uuid.UUID(c["id"]) > reported)
    batch = [{"id": str(uuid.uuid4()), "seq": 2, "name": "accept_case", "device_time": now,
              "args": {"case_id": report}},  # the case it reported, by the report's id
             {"id": str(uuid.uuid4()), "seq": 3, "name": "accept_case", "device_time": now,
              "args": {"case_id": str(later)}}]
    with engine.connect() as other:  # a push (or a dispatcher) working on the reported case
        other.execute(sa.text("SELECT id FROM cases WHERE id = :id FOR UPDATE"),
                      {"id": reported})
        pid = other.scalar(sa.text("SELECT pg_backend_pid()"))
        thread, outcome = _in_thread(lambda: phone.post(
            "/api/v1/sync/push", headers=headers,
            json={"sent_at": now, "operations": batch}).get_json())
        _wait_until_blocked_by(engine, pid)
        # Waiting in order, it holds nothing after the case it waits for.
        assert not _locked_elsewhere(engine, sa.select(Case.id).where(Case.id == later))
        other.rollback()
    thread.join(30)
    assert [r["status"] for r in outcome[0]["results"]] == ["applied", "applied"], outcome


@pytest.mark.concurrency
def test_a_web_action_locks_the_case_before_its_deadlines(committing_postgis_app):
    app = committing_postgis_app
    engine = _setup(app)
    case = _file(app)  # dispatched to T1, with its response and completion deadlines
    case_id = uuid.UUID(case["id"])
    with app.app_context():
        units = dict(db.session.execute(sa.text("SELECT code, id FROM units")).all())
        db.session.remove()
    reminders = sa.select(Reminder.id).join(Deadline, Deadline.id == Reminder.deadline_id) \
        .where(Deadline.subject_id == case_id)
    dispatcher, headers = _client_for(app, "t1.dispatcher")
    with engine.connect() as other:  # a phone's push holding the case
        other.execute(sa.text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
        pid = other.scalar(sa.text("SELECT pg_backend_pid()"))
        thread, outcome = _in_thread(lambda: dispatcher.post(
            f"/api/v1/cases/{case_id}/dispatch", headers=headers,
            json={"version": case["version"], "lead_unit_id": str(units["T1-SCH"])}))
        _wait_until_blocked_by(engine, pid)
        # The re-dispatch cancels the case's deadlines, but only once it holds the case.
        assert not _locked_elsewhere(engine, reminders)
        other.rollback()
    thread.join(30)
    assert outcome[0].status_code == 200, outcome[0].get_json()
