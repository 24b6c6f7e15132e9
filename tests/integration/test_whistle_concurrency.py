"""Departments report on site at the same moment, on PostGIS with real commits: arrivals of
two departments and a retry of one of them race; every arrival is recorded once, none fails
on the call's version, and the timeline stays gapless."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.core.clock import now_utc
from server.extensions import db
from server.org.rules import Role
from server.org.services import create_user
from server.whistle.models import WhistleArrival, WhistleDepartment, WhistleEvent
from tests.fixtures.whistle import PLACE
from tests.fixtures.world import NOW, PASSWORD, build_world

ROUNDS = 6


@pytest.mark.concurrency
def test_simultaneous_arrivals_and_retries_are_each_recorded_once(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        world = build_world(db.session, app.extensions["gridops.passwords"])
        create_user(db.session, app.extensions["gridops.passwords"], username="d1.staff2",
                    password=PASSWORD, display_name="d1.staff2",
                    unit_id=world.units["D1-CGZF"].id, roles=[Role.DEPARTMENT_STAFF], now=NOW)
        db.session.commit()
        cgzf, scjg = (str(world.units[c].id) for c in ("D1-CGZF", "D1-SCJG"))
        db.session.remove()
    client = app.test_client()

    def headers(username: str) -> dict[str, str]:
        token = client.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD}).get_json()["token"]
        return {"Authorization": f"Bearer {token}"}

    township, staff, handler = headers("t1.dispatcher"), headers("d1.staff"), headers("d1.handler")
    colleague = headers("d1.staff2")  # city management too: two of one department at once
    call = client.post("/api/v1/whistle-calls", headers=township, json={
        "kind": "enforcement", "description": "d", "lon": PLACE[0], "lat": PLACE[1]}).get_json()
    now = now_utc()
    call = client.post(f"/api/v1/whistle-calls/{call['id']}/accept", headers=township, json={
        "version": call["version"], "lead_department_id": cgzf,
        "cooperating_department_ids": [scjg],
        "arrival_due_at": (now + timedelta(hours=2)).isoformat(),
        "completion_due_at": (now + timedelta(hours=8)).isoformat()}).get_json()
    assert call["status"] == "accepted", call

    statuses: list[int] = []
    lock = threading.Lock()
    sent: set[str] = set()
    for _ in range(ROUNDS):
        ids = {"staff": str(uuid.uuid4()), "handler": str(uuid.uuid4()),
               "colleague": str(uuid.uuid4())}
        sent |= set(ids.values())
        jobs = [(staff, ids["staff"]), (handler, ids["handler"]), (staff, ids["staff"]),
                (colleague, ids["colleague"])]
        start = threading.Barrier(len(jobs), timeout=10)

        def post(who: dict[str, str], arrival_id: str, start=start) -> None:  # noqa: ANN001
            start.wait()
            response = app.test_client().post(
                f"/api/v1/whistle-calls/{call['id']}/arrivals", headers=who,
                json={"id": arrival_id, "lon": PLACE[0], "lat": PLACE[1], "accuracy_m": 5})
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=post, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)

    assert set(statuses) <= {200, 201}, statuses
    assert statuses.count(201) == 3 * ROUNDS  # each id created once; its twin answered 200
    with app.app_context():
        recorded = set(db.session.scalars(sa.select(WhistleArrival.id).where(
            WhistleArrival.call_id == uuid.UUID(call["id"]))))
        assert {str(i) for i in recorded} == sent
        seqs = list(db.session.scalars(sa.select(WhistleEvent.seq).where(
            WhistleEvent.call_id == uuid.UUID(call["id"])).order_by(WhistleEvent.seq)))
        assert seqs == list(range(1, 2 + 3 * ROUNDS + 1))  # raise, accept, one per arrival
        # The department's first arrival is the earliest of its arrivals, once.
        first = db.session.scalar(sa.select(sa.func.min(WhistleArrival.at)).where(
            WhistleArrival.call_id == uuid.UUID(call["id"]),
            WhistleArrival.unit_id == uuid.UUID(cgzf)))
        firsts = db.session.scalars(sa.select(WhistleEvent.data).where(
            WhistleEvent.call_id == uuid.UUID(call["id"]), WhistleEvent.action == "arrive"))
        assert [d["department_id"] for d in firsts if d["first"]].count(cgzf) == 1
        row = db.session.scalar(sa.select(WhistleDepartment).where(
            WhistleDepartment.call_id == uuid.UUID(call["id"]),
            WhistleDepartment.unit_id == uuid.UUID(cgzf)))
        assert row.first_arrival_at == first
        db.session.remove()
    view = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=township).get_json()
    assert {d["arrival_state"] for d in view["departments"]} == {"on_time"}
