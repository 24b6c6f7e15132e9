"""A batch pushed twice at the same moment (a reinstalled app resending its queue while the
first request still runs), on PostGIS with real connections: applied once, answered twice."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.api.sync.push_schemas import parse_args
from server.auth.services import authenticate, login
from server.cases.models import Case
from server.extensions import db
from sync.ledger import OpStatus, SyncOperation
from sync.operations import Limits
from sync.push import IncomingOp, PushSettings, push
from tests.fixtures.world import NOW, PASSWORD, build_world


def _wait_for_a_lock_wait(engine: sa.Engine, timeout_s: float = 10.0) -> None:
    """Until another connection waits on a row lock: the second push is blocked on the
    first push's claim. Polls the server, because the waiting thread cannot say so itself."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the second push never waited for the first")


@pytest.mark.concurrency
def test_the_same_batch_pushed_twice_at_once_is_applied_once(committing_postgis_app):
    app = committing_postgis_app
    passwords = app.extensions["gridops.passwords"]
    with app.app_context():
        build_world(db.session, passwords)
        tokens = [login(db.session, passwords, "t1.worker", PASSWORD, now=NOW,
                        lifetime=timedelta(days=1), device_id=uuid.uuid4()).token
                  for _ in range(2)]
        db.session.commit()
        engine = db.engine
    settings = PushSettings(Limits(app.extensions["gridops.grid_index"], 50.0, 200.0),
                            max_skew_s=300.0, max_operations=500)
    batch = [IncomingOp(uuid.uuid4(), 1, "report_incident",
                        {"appeal_type": "report", "title": "井盖缺失", "description": "路口"},
                        None, NOW),
             IncomingOp(uuid.uuid4(), 2, "add_note",
                        {"case_id": str(uuid.uuid4()), "note": "没有这个案件"}, None, NOW)]
    first_claimed = threading.Event()
    answers: dict[str, list[tuple[OpStatus, OpStatus | None]]] = {}
    errors: list[BaseException] = []

    def phone(name: str, token: str, hold: bool) -> None:
        try:
            with app.app_context():
                actor = authenticate(db.session, token, now=NOW)
                result = push(db.session, actor, batch, sent_at=NOW, parse_args=parse_args,
                              settings=settings, now=NOW)
                if hold:  # keep the claims uncommitted until the other push waits on them
                    first_claimed.set()
                    _wait_for_a_lock_wait(engine)
                db.session.commit()
                answers[name] = [(r.status, r.original_status) for r in result.results]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            first_claimed.set()
        finally:
            with app.app_context():
                db.session.remove()

    first = threading.Thread(target=phone, args=("first", tokens[0], True))
    first.start()
    assert first_claimed.wait(10)
    second = threading.Thread(target=phone, args=("second", tokens[1], False))
    second.start()
    for thread in (first, second):
        thread.join(30)
    assert not errors, errors
    assert answers["first"] == [(OpStatus.APPLIED, None), (OpStatus.REJECTED, None)]
    assert answers["second"] == [(OpStatus.DUPLICATE, OpStatus.APPLIED),
                                 (OpStatus.DUPLICATE, OpStatus.REJECTED)]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.client_request_id == str(batch[0].id))) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SyncOperation)) == 2
