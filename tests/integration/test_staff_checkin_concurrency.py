"""The same check-in sent twice at the same moment (a retry while the first request still
runs), on PostGIS with real connections: recorded once, both answered with that record."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.auth.services import authenticate, login
from server.extensions import db
from server.staff.checkins import CheckRequest, record_check
from server.staff.models import FieldCheck
from server.staff.rules import CheckKind, CheckVia, FieldLimits
from tests.fixtures.world import NOW, PASSWORD, build_world


def _wait_for_a_lock_wait(engine: sa.Engine, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second check-in never waited for the first")


@pytest.mark.concurrency
def test_the_same_checkin_twice_at_once_is_recorded_once(committing_postgis_app):
    app = committing_postgis_app
    passwords = app.extensions["gridops.passwords"]
    with app.app_context():
        build_world(db.session, passwords)
        tokens = [
            login(
                db.session,
                passwords,
                "t1.worker",
                PASSWORD,
                now=NOW,
                lifetime=timedelta(days=1),
                device_id=uuid.uuid4(),
            ).token
            for _ in range(2)
        ]
        db.session.commit()
        engine = db.engine
    request = CheckRequest(
        id=uuid.uuid4(), kind=CheckKind.CHECK_IN, lon=116.305, lat=39.905, accuracy_m=10.0
    )
    first_inserted = threading.Event()
    answers: dict[str, tuple[str, bool]] = {}
    errors: list[BaseException] = []

    def phone(name: str, token: str, hold: bool) -> None:
        try:
            with app.app_context():
                actor = authenticate(db.session, token, now=NOW)
                check, created = record_check(
                    db.session, actor, request, limits=FieldLimits(), via=CheckVia.API, now=NOW
                )
                if hold:  # keep the row uncommitted until the other insert waits on it
                    first_inserted.set()
                    _wait_for_a_lock_wait(engine)
                answers[name] = (str(check.id), created)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            first_inserted.set()
        finally:
            with app.app_context():
                db.session.remove()

    first = threading.Thread(target=phone, args=("first", tokens[0], True))
    first.start()
    assert first_inserted.wait(10)
    second = threading.Thread(target=phone, args=("second", tokens[1], False))
    second.start()
    first.join(20)
    second.join(20)
    assert not errors, errors
    assert answers == {"first": (str(request.id), True), "second": (str(request.id), False)}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FieldCheck)) == 1
