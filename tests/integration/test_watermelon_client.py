"""The real WatermelonDB client: its own ``synchronize()`` in Node.js (LokiJS, in memory)
against a running server on PostGIS whose requests really commit.

The scenario is ``clients/watermelon/sync_test.js`` (first sync, offline operations, a push
whose answer is lost and is sent again, a case re-dispatched out of the user's scope, an
incremental pull, a start over keeping unsent work); this test seeds the world, serves the
app over HTTP on a free port, runs the script, and checks the server's side: every
operation stored once and applied once.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from server.cases.models import CaseEvent
from server.extensions import db
from sync.ledger import OpStatus, SyncOperation
from tests.conftest import under_ci
from tests.fixtures.cases import CATALOGUE, IN_T1_A1
from tests.fixtures.world import PASSWORD, build_world

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "watermelon"


def _node() -> str:
    """The node binary, with the pinned packages installed (``npm ci`` in clients/watermelon)."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (CLIENT / "node_modules" / "@nozbe" / "watermelondb").is_dir() or \
            not (CLIENT / "node_modules" / "lokijs").is_dir():
        problem = f"the npm packages are not installed: run `npm ci` in {CLIENT}"
    if problem:
        if under_ci():
            pytest.fail(problem + " (CI is set: the WatermelonDB client test must run)",
                        pytrace=False)
        pytest.skip(problem)
    return node


def _seed(app) -> dict[str, str]:  # noqa: ANN001
    """The world, the catalogue, and two cases led by market supervision (d1.handler's)."""
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        db.session.remove()
    web = app.test_client()

    def token(username: str) -> dict[str, str]:
        answer = web.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 201, answer.get_json()
        return {"Authorization": f"Bearer {answer.get_json()['token']}"}

    imported = web.post("/api/v1/catalogue/import", json={"items": CATALOGUE},
                        headers=token("admin"))
    assert imported.status_code in (200, 201), imported.get_json()
    cases = {}
    for title in ("A 早市占道", "B 夜市占道"):
        filed = web.post("/api/v1/cases", headers=token("t1.dispatcher"), json={
            "channel": "internet", "appeal_type": "complaint", "category_code": "02.01",
            "title": title, "description": "食品摊贩占道经营", "lon": IN_T1_A1[0],
            "lat": IN_T1_A1[1], "resident_name": "张三", "resident_phone": "13812341234"})
        assert filed.status_code == 201, filed.get_json()
        cases[title[0]] = filed.get_json()["id"]
    return cases


@pytest.fixture
def served(committing_postgis_app):  # noqa: ANN001, ANN201
    """The app over real HTTP on a free port (a threaded werkzeug server)."""
    server = make_server("127.0.0.1", 0, committing_postgis_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_watermelondb_synchronize_against_the_running_server(committing_postgis_app, served):
    node = _node()
    app = committing_postgis_app
    cases = _seed(app)
    run = subprocess.run(
        [node, "sync_test.js"], cwd=CLIENT, capture_output=True, text=True, timeout=180,
        env={"PATH": str(Path(node).parent), "GRIDOPS_URL": served,
             "GRIDOPS_PASSWORD": PASSWORD, "GRIDOPS_USER": "d1.handler",
             "GRIDOPS_DISPATCHER": "t1.dispatcher", "GRIDOPS_OTHER_UNIT": "D1-CGZF"})
    assert run.returncode == 0, f"node exited {run.returncode}\n{run.stderr[-6000:]}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(run.stderr, "\n", report["timings"], report["extra_syncs"])  # shown with -s
    assert report["ok"] is True
    assert (report["case_a"], report["case_b"]) == (cases["A"], cases["B"])

    with app.app_context():
        device_id = uuid.UUID(report["device_id"])
        stored = {str(row.id): row for row in db.session.scalars(
            sa.select(SyncOperation).where(SyncOperation.device_id == device_id))}
        assert set(stored) == set(report["operations"])  # each once, nothing else
        assert {i: stored[i].status for i in report["applied"]} == \
            dict.fromkeys(report["applied"], OpStatus.APPLIED)
        assert [stored[i].status for i in report["rejected"]] == [OpStatus.REJECTED]
        assert [stored[i].device_seq for i in report["operations"]] == [1, 2, 3, 4, 5, 6]

        def actions(case_id: str) -> Counter:
            return Counter(db.session.scalars(sa.select(CaseEvent.action).where(
                CaseEvent.case_id == uuid.UUID(case_id))))

        # The lost push, its retry and the start over applied each operation once.
        assert actions(cases["A"]) == Counter(
            {"received": 1, "dispatch": 1, "accept": 1, "note": 2, "contact": 1})
        assert actions(cases["B"]) == Counter(
            {"received": 1, "dispatch": 2, "accept": 1})
        db.session.remove()
