"""Faults on PostGIS under gunicorn with several workers: every worker SIGKILLed in the
middle of a push and in the middle of an intake burst, then everything sent again.

The push is committed in chunks (``GRID_SYNC_PUSH_CHUNK``); the test-only pause after each
chunk's commit (``GRID_SYNC_PUSH_CHUNK_PAUSE_S``) makes the kill land after a known number
of chunks, deterministically. Afterwards: the cut push kept whole chunks only, its retry
applied the rest and answered the operations applied before the cut as ``applied`` (not
``duplicate``), a second retry answers every one ``duplicate``; every intake request sent
again found the case it had made, or made it; every operation and every case exists once,
and every case's timeline counts 1, 2, 3... with no gap and no number twice.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.auth.services import login
from server.cases.models import Case, CaseEvent
from server.extensions import db
from sync.ledger import OpStatus, SyncOperation
from tests.fixtures.cases import CATALOGUE, IN_T1_A1
from tests.fixtures.world import PASSWORD, build_world

pytestmark = pytest.mark.concurrency

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
CHUNK = 20
CASES = 10
OPS_PER_CASE = 20  # an acceptance and 19 facts: one chunk per case (a push groups by case)
PAUSE_S = 0.3
CUT_STATUSES = (ConnectionError, http.client.HTTPException, urllib.error.URLError,
                TimeoutError, OSError)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers_of(master: int) -> list[int]:
    """The pids whose parent is ``master`` (gunicorn's workers), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def _kill_workers(master: int) -> int:
    """SIGKILL every worker of the master (the one serving the request among them)."""
    killed = 0
    for pid in _workers_of(master):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


def _wait_healthy(base: str, master: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):  # noqa: S310 - loopback
                return
        except Exception:  # noqa: BLE001 - not up yet
            assert master.poll() is None, "gunicorn's master died"
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)


def _post(base: str, path: str, token: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def served(committing_postgis_app, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:  # noqa: ANN001
    """The world on a schema of its own, served by gunicorn with several workers."""
    app = committing_postgis_app
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        url = db.engine.url
        schema = db.session.execute(sa.text("SELECT current_schema()")).scalar()
        db.session.remove()
    database_url = url.update_query_dict({"options": f"-csearch_path={schema},public"})
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "DATABASE_URL": database_url.render_as_string(hide_password=False),
           "GRID_DATA_DIR": str(tmp_path), "GRID_SYNC_PUSH_CHUNK": str(CHUNK),
           "GRID_SYNC_PUSH_CHUNK_PAUSE_S": str(PAUSE_S)}
    log = (tmp_path / "gunicorn.log").open("wb")
    master = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "--log-level", "warning", "server.app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, master)
        yield base, master
    finally:
        master.terminate()
        master.wait(30)
        log.close()


def _token(app, username: str, *, device: bool) -> str:  # noqa: ANN001
    with app.app_context():
        issued = login(db.session, app.extensions["gridops.passwords"], username, PASSWORD,
                       now=datetime.now(UTC), lifetime=timedelta(hours=2),
                       device_id=uuid.uuid4() if device else None)
        db.session.commit()
        db.session.remove()
    return issued.token


def _intake_body(n: int) -> dict:
    return {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
            "title": f"门口占道摆摊 {n}", "description": "小区门口每天晚上有人占道经营。",
            "lon": IN_T1_A1[0], "lat": IN_T1_A1[1], "client_request_id": str(uuid.uuid4())}


def _count(app, query: sa.Select) -> int:  # noqa: ANN001
    with app.app_context():
        value = db.session.scalar(query)
        db.session.remove()
    return value


def _timelines_are_whole(app, case_ids: list[uuid.UUID]) -> None:  # noqa: ANN001
    with app.app_context():
        seqs: dict[uuid.UUID, list[int]] = {}
        for case_id, seq in db.session.execute(
                sa.select(CaseEvent.case_id, CaseEvent.seq)
                .where(CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.seq)):
            seqs.setdefault(case_id, []).append(seq)
        counts = dict(db.session.execute(
            sa.select(Case.id, Case.event_count).where(Case.id.in_(case_ids))).all())
        db.session.remove()
    for case_id in case_ids:
        assert seqs[case_id] == list(range(1, counts[case_id] + 1)), (case_id, seqs[case_id])


def _ops(cases: list[str]) -> list[dict]:
    now = datetime.now(UTC)
    ops, seq = [], 0
    for case_id in cases:
        names = ["accept_case"] + ["add_note", "record_contact", "arrive_on_site"] * 7
        for name in names[:OPS_PER_CASE]:
            seq += 1
            args = {"case_id": case_id}
            if name in ("add_note", "record_contact"):
                args["note"] = f"巡查记录 {seq}"
            elif name == "arrive_on_site":
                args |= {"lon": IN_T1_A1[0], "lat": IN_T1_A1[1] + 0.0005, "accuracy_m": 8}
            ops.append({"id": str(uuid.uuid4()), "seq": seq, "name": name, "args": args,
                        "base_version": None,
                        "device_time": (now - timedelta(seconds=600 - seq)).isoformat()})
    return ops


def test_a_worker_killed_mid_push_and_mid_intake_loses_nothing_and_doubles_nothing(
        committing_postgis_app, served):
    app = committing_postgis_app
    base, master = served
    admin = _token(app, "admin", device=False)
    dispatcher = _token(app, "t1.dispatcher", device=False)
    phone = _token(app, "t1.worker", device=True)
    status, answer = _post(base, "/api/v1/catalogue/import", admin, {"items": CATALOGUE})
    assert status in (200, 201), answer

    # --- an intake burst, every worker killed in the middle of it -----------------------
    bodies = [_intake_body(n) for n in range(60)]
    answered: dict[str, list[int]] = {}
    cut = Counter()

    def intake(part: list[dict]) -> None:
        for body in part:
            while True:  # a phone's retry loop: the same body until it gets an answer
                try:
                    status, answer = _post(base, "/api/v1/cases", dispatcher, body, timeout=30)
                except CUT_STATUSES:
                    cut[body["client_request_id"]] += 1
                    time.sleep(0.2)
                    continue
                answered.setdefault(body["client_request_id"], []).append(status)
                assert status in (200, 201), answer
                break

    threads = [threading.Thread(target=intake, args=(bodies[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while _count(app, sa.select(sa.func.count()).select_from(Case)) < 15:
        assert time.monotonic() < deadline, "the intake burst did not get going"
        time.sleep(0.05)
    assert _kill_workers(master.pid) == WORKERS
    for thread in threads:
        thread.join(60)
    assert cut, "the kill cut no intake request: it did not land in the burst"
    keys = [b["client_request_id"] for b in bodies]
    assert set(answered) == set(keys)
    with app.app_context():
        made = Counter(db.session.scalars(sa.select(Case.client_request_id)))
        numbers = list(db.session.scalars(sa.select(Case.number)))
        case_ids = list(db.session.scalars(sa.select(Case.id)))
        db.session.remove()
    assert made == Counter(keys)  # each request made exactly one case, whatever was cut
    assert len(set(numbers)) == len(numbers) == len(bodies)
    _timelines_are_whole(app, case_ids)

    # --- a push in chunks, every worker killed between two chunks ----------------------
    _wait_healthy(base, master)
    with app.app_context():
        chosen = [str(i) for i in db.session.scalars(
            sa.select(Case.id).where(Case.status == "dispatched").order_by(Case.number)
            .limit(CASES))]
        db.session.remove()
    ops = _ops(chosen)
    body = {"sent_at": datetime.now(UTC).isoformat(), "operations": ops}
    failure: list[BaseException] = []

    def first_push() -> None:
        try:
            _post(base, "/api/v1/sync/push", phone, body)
        except CUT_STATUSES as exc:
            failure.append(exc)

    pushing = threading.Thread(target=first_push)
    pushing.start()
    applied = sa.select(sa.func.count()).select_from(SyncOperation).where(
        SyncOperation.status == OpStatus.APPLIED)
    deadline = time.monotonic() + 30
    while _count(app, applied) < 2 * CHUNK:
        assert time.monotonic() < deadline, "the push never committed two chunks"
        time.sleep(0.02)
    assert _kill_workers(master.pid) == WORKERS
    pushing.join(30)
    assert failure, "the push was answered: the kill did not land in its middle"
    kept = _count(app, applied)
    pending = _count(app, sa.select(sa.func.count()).select_from(SyncOperation).where(
        SyncOperation.status == OpStatus.PENDING))
    # Whole chunks only: the chunk in flight when the worker died was rolled back.
    assert kept % CHUNK == 0, kept
    assert 2 * CHUNK <= kept < len(ops), kept
    assert kept + pending == len(ops)

    print(f"intake: {len(bodies)} requests, {sum(cut.values())} cut and sent again; push: "
          f"{len(ops)} operations, {kept} applied in {kept // CHUNK} chunks before the kill")
    _wait_healthy(base, master)
    status, retried = _post(base, "/api/v1/sync/push", phone, body)
    assert status == 200, retried
    assert [r["id"] for r in retried["results"]] == [op["id"] for op in ops]
    # Applied before the cut (never answered) or now: all answered applied, none twice.
    assert Counter(r["status"] for r in retried["results"]) == {"applied": len(ops)}
    status, again = _post(base, "/api/v1/sync/push", phone, body)
    assert status == 200, again
    assert {(r["status"], r["original_status"]) for r in again["results"]} == {
        ("duplicate", "applied")}

    with app.app_context():
        stored = Counter(db.session.scalars(sa.select(SyncOperation.id)))
        actions = Counter(db.session.execute(
            sa.select(CaseEvent.case_id, CaseEvent.action)
            .where(CaseEvent.case_id.in_([uuid.UUID(c) for c in chosen]))).all())
        db.session.remove()
    assert stored == Counter(uuid.UUID(op["id"]) for op in ops)
    expected = Counter((uuid.UUID(op["args"]["case_id"]),
                        {"accept_case": "accept", "add_note": "note", "record_contact": "contact",
                         "arrive_on_site": "arrive"}[op["name"]]) for op in ops)
    assert {k: v for k, v in actions.items() if k[1] in ("accept", "note", "contact",
                                                         "arrive")} == expected
    _timelines_are_whole(app, case_ids)
