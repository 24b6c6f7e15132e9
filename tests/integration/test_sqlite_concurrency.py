"""The embedded default (SQLite, one file) under requests at the same moment, with real commits:
several people sign in, raise a whistle call and sign out at once. Every request must wait
its turn for SQLite's one writer, none may answer 500 "database is locked" (a transaction
that read first, then wrote after another connection committed, fails at once otherwise)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from server.extensions import db
from server.whistle.models import WhistleCall
from tests.conftest import _make_app
from tests.fixtures.whistle import PLACE
from tests.fixtures.world import PASSWORD, build_world

THREADS = 6
ROUNDS = 4


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    application = _make_app(f"sqlite:///{tmp_path / 'concurrent.sqlite3'}", {})
    with application.app_context():
        upgrade()
        build_world(db.session, application.extensions["gridops.passwords"])
        db.session.commit()
        db.session.remove()
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_sign_in_and_writes_at_once_all_wait_their_turn(sqlite_app: Flask) -> None:
    app = sqlite_app
    answers: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    users = [("t1.dispatcher", "t1.leader")[i % 2] for i in range(THREADS)]

    def note(step: str, response) -> None:  # noqa: ANN001
        with lock:
            answers.append((step, response.status_code, response.get_data(as_text=True)[:200]))

    def person(username: str, start: threading.Barrier) -> None:
        client = app.test_client()
        for _ in range(ROUNDS):
            start.wait()
            login = client.post("/api/v1/auth/login",
                                json={"username": username, "password": PASSWORD})
            note("login", login)
            if login.status_code != 201:
                continue
            headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
            note("raise", client.post("/api/v1/whistle-calls", headers=headers, json={
                "kind": "enforcement", "description": "at once", "lon": PLACE[0],
                "lat": PLACE[1]}))
            note("logout", client.post("/api/v1/auth/logout", headers=headers))

    start = threading.Barrier(THREADS, timeout=30)
    threads = [threading.Thread(target=person, args=(u, start)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)

    failed = [a for a in answers if a[1] >= 300]
    assert failed == [], failed
    assert len(answers) == THREADS * ROUNDS * 3
    with app.app_context():
        calls = db.session.scalar(sa.select(sa.func.count()).select_from(WhistleCall))
        db.session.remove()
    assert calls == THREADS * ROUNDS


def test_the_same_intake_sent_at_once_from_several_threads_makes_one_case(
        sqlite_app: Flask) -> None:
    """On SQLite the requests take turns (BEGIN IMMEDIATE), so a retry racing its original
    finds the case the first one committed: one 201, the rest 200 with the same case."""
    from server.cases.models import Case

    app = sqlite_app
    token = app.test_client().post("/api/v1/auth/login", json={
        "username": "t1.dispatcher", "password": PASSWORD}).get_json()["token"]
    body = {"client_request_id": "same-request-0001", "channel": "internet",
            "appeal_type": "complaint", "title": "t", "description": "d",
            "lon": PLACE[0], "lat": PLACE[1]}
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(THREADS, timeout=30)

    def send() -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/cases", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(status for status, _ in answers) == [200] * (THREADS - 1) + [201], answers
    assert len({answer["id"] for _, answer in answers}) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
        db.session.remove()
