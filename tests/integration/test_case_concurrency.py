"""Two dispatchers act on the same case at the same moment, on PostGIS with real connections:
one wins, the other gets 409, and nothing of the loser's request is left behind."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from server.cases.models import Case, CaseEvent
from server.cases.transitions import dispatch
from server.core.errors import StaleVersion
from server.extensions import db
from tests.fixtures.world import NOW, PASSWORD, build_world


@pytest.mark.concurrency
def test_two_dispatchers_at_once_one_wins_and_nothing_is_half_applied(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        world = build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        client = app.test_client()
        token = client.post("/api/v1/auth/login", json={
            "username": "t1.dispatcher", "password": PASSWORD}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/v1/cases", headers=headers, json={
            "channel": "internet", "appeal_type": "complaint", "title": "t", "description": "d",
            "lon": 116.306, "lat": 39.904}).get_json()
        case_id, version = uuid.UUID(created["id"]), created["version"]
        leads = {"first": world.units["D1-CGZF"].id, "second": world.units["D1-SCJG"].id}
        from server.auth.services import authenticate

        outcomes: dict[str, str] = {}
        both_read = threading.Barrier(2, timeout=10)

    def dispatcher(name: str) -> None:
        with app.app_context():
            session = db.session
            try:
                actor = authenticate(session, token, now=NOW.replace(year=2026))
                case = session.get(Case, case_id)
                both_read.wait()  # both hold version `version` before either writes
                dispatch(session, actor, case, version=version, lead_unit_id=leads[name],
                         now=NOW)
                session.commit()
                outcomes[name] = "won"
            except StaleVersion:
                session.rollback()
                outcomes[name] = "stale"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=dispatcher, args=(n,)) for n in leads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes.values()) == ["stale", "won"], outcomes
    winner = next(n for n, o in outcomes.items() if o == "won")
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.lead_unit_id == leads[winner]
        assert case.version > version
        dispatches = db.session.scalars(sa.select(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "dispatch")).all()
        assert [e.data["lead_unit_id"] for e in dispatches] == [str(leads[winner])]
        # Through the API the loser's answer is a 409 with the stable code.
        stale = client.post(f"/api/v1/cases/{case_id}/dispatch", headers=headers, json={
            "version": version, "lead_unit_id": str(leads[winner])})
        assert stale.status_code == 409
        assert stale.get_json()["code"] == "stale_version"
        db.session.remove()
