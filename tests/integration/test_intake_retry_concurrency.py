"""A phone on a weak network sends the same case (or whistle call) twice at once (its first
answer was slow, so it retried): on PostGIS with real connections, one request creates it,
the other answers what the first made (200), and nothing of the loser's half-made copy is left
behind. Before, the loser met the unique ``client_request_id`` at its flush and answered 500.

Both requests are held once each has checked that the key is new (just before the case is
numbered, or the call's place looked up), so that they really race to the unique index every
run; the rest is the public API.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

import server.cases.services as case_services
import server.whistle.raising as raising
from server.cases.models import Case, CaseEvent
from server.extensions import db
from server.supervision.models import Deadline
from server.whistle.models import WhistleCall, WhistleEvent
from tests.fixtures.cases import CATALOGUE, IN_T1_A1
from tests.fixtures.whistle import PLACE
from tests.fixtures.world import PASSWORD, build_world

BODY = {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
        "title": "t", "description": "d", "lon": IN_T1_A1[0], "lat": IN_T1_A1[1]}


def _post_twice_at_once(app, monkeypatch, tokens: dict[str, str], key: str, *,  # noqa: ANN001
                        path: str = "/api/v1/cases", body: dict = BODY,
                        hold: tuple = (case_services, "next_case_number")) -> dict[str, tuple]:
    both_checked = threading.Barrier(len(tokens), timeout=10)
    module, name = hold
    held = getattr(module, name)

    def after_both_checked(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        both_checked.wait()  # each has looked the key up and found nothing
        return held(*args, **kwargs)

    monkeypatch.setattr(module, name, after_both_checked)
    answers: dict[str, tuple] = {}

    def send(name: str) -> None:
        client = app.test_client()
        response = client.post(path, json={**body, "client_request_id": key},
                               headers={"Authorization": f"Bearer {tokens[name]}"})
        answers[name] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=send, args=(name,)) for name in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def _sign_in(app, username: str) -> str:  # noqa: ANN001
    return app.test_client().post("/api/v1/auth/login", json={
        "username": username, "password": PASSWORD}).get_json()["token"]


def _world_with_catalogue(app) -> None:  # noqa: ANN001
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        imported = app.test_client().post(
            "/api/v1/catalogue/import", json={"items": CATALOGUE},
            headers={"Authorization": f"Bearer {_sign_in(app, 'admin')}"})
        assert imported.status_code in (200, 201), imported.get_json()


@pytest.mark.concurrency
def test_the_same_intake_sent_twice_at_once_makes_one_case_and_both_answers_name_it(
        committing_postgis_app, monkeypatch):
    app = committing_postgis_app
    _world_with_catalogue(app)
    token = _sign_in(app, "t1.dispatcher")
    key = uuid.uuid4().hex

    answers = _post_twice_at_once(app, monkeypatch, {"phone": token, "retry": token}, key)

    statuses = sorted(status for status, _ in answers.values())
    assert statuses == [200, 201], answers
    [(_, first), (_, second)] = answers.values()
    assert (first["id"], first["number"]) == (second["id"], second["number"])
    assert first["status"] == second["status"] == "dispatched"
    with app.app_context():
        cases = db.session.scalars(sa.select(Case).where(Case.client_request_id == key)).all()
        assert [str(c.id) for c in cases] == [first["id"]]
        # The loser's rows went with its transaction: one "received" event, one set of
        # deadlines, all the winner's.
        received = db.session.scalars(sa.select(CaseEvent.case_id).where(
            CaseEvent.action == "received")).all()
        assert [str(c) for c in received] == [first["id"]]
        subjects = set(db.session.scalars(sa.select(Deadline.subject_id)).all())
        assert {str(s) for s in subjects} == {first["id"]}
        db.session.remove()


@pytest.mark.concurrency
def test_a_key_raced_by_someone_else_is_refused_not_shared(committing_postgis_app, monkeypatch):
    app = committing_postgis_app
    _world_with_catalogue(app)
    tokens = {"t1": _sign_in(app, "t1.dispatcher"), "d1": _sign_in(app, "d1.dispatcher")}
    key = uuid.uuid4().hex

    answers = _post_twice_at_once(app, monkeypatch, tokens, key)

    statuses = sorted(status for status, _ in answers.values())
    assert statuses == [201, 409], answers
    [refused] = [body for status, body in answers.values() if status == 409]
    assert refused["code"] == "idempotency_key_reused"
    assert list(refused["errors"]["json"]) == ["client_request_id"]
    with app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(Case).where(Case.client_request_id == key)) == 1
        db.session.remove()


@pytest.mark.concurrency
def test_the_same_whistle_call_raised_twice_at_once_is_one_call(committing_postgis_app,
                                                                monkeypatch):
    app = committing_postgis_app
    _world_with_catalogue(app)
    token = _sign_in(app, "t1.dispatcher")
    key = uuid.uuid4().hex

    answers = _post_twice_at_once(
        app, monkeypatch, {"phone": token, "retry": token}, key, path="/api/v1/whistle-calls",
        body={"kind": "enforcement", "description": "d", "lon": PLACE[0], "lat": PLACE[1]},
        hold=(raising, "assign_with_index"))

    assert sorted(status for status, _ in answers.values()) == [200, 201], answers
    [(_, first), (_, second)] = answers.values()
    assert first["id"] == second["id"]
    with app.app_context():
        calls = db.session.scalars(
            sa.select(WhistleCall.id).where(WhistleCall.client_request_id == key)).all()
        assert [str(c) for c in calls] == [first["id"]]
        events = db.session.scalars(sa.select(WhistleEvent.call_id)).all()
        assert [str(c) for c in events] == [first["id"]]
        db.session.remove()
