"""A token revoked through one process is refused by another at once (PostgreSQL NOTIFY).

Two apps on one database stand for two gunicorn workers (or two hosts): each has its own
token cache with a TTL far longer than the test, so only the revocation notice can explain
the other app's refusal.
"""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from config import TestConfig
from tests.conftest import _require_postgis

PASSWORD = "revocation-pass-1"


@pytest.fixture
def two_processes():
    url = _require_postgis()
    schema = f"rev_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    from flask_migrate import upgrade

    from server.app import create_app

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"options": f"-csearch_path={schema},public"}}
        AUTH_CACHE_S = 3600.0

    apps = [create_app(Config), create_app(Config)]
    with apps[0].app_context():
        upgrade()
        _make_user()
    try:
        yield apps
    finally:
        from server.extensions import db

        for application in apps:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _make_user() -> None:
    from server.auth.passwords import Passwords
    from server.core.clock import now_utc
    from server.extensions import db
    from server.org.rules import Role, UnitKind
    from server.org.services import create_unit, create_user

    now = now_utc()
    create_unit(db.session, code="110199", name="区", kind=UnitKind.DISTRICT, parent_code=None,
                now=now)
    unit = create_unit(db.session, code="110199001", name="街道", kind=UnitKind.TOWNSHIP,
                       parent_code="110199", now=now)
    create_user(db.session, Passwords(time_cost=1, memory_kib=64), username="t.dispatcher",
                password=PASSWORD, display_name="t", unit_id=unit.id,
                roles=[Role.TOWNSHIP_DISPATCHER], now=now)
    db.session.commit()


def _until(condition, seconds: float = 2.0) -> float:  # noqa: ANN001
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "not within the time allowed"
        time.sleep(0.002)
    return time.monotonic() - started


def test_a_token_signed_out_in_one_process_is_refused_by_another_that_had_it_cached(
        two_processes):
    first, second = (application.test_client() for application in two_processes)
    token = first.post("/api/v1/auth/login", json={"username": "t.dispatcher",
                                                   "password": PASSWORD}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    cache = two_processes[1].extensions["gridops.tokens"]
    listener = cache.signal
    assert listener is not None
    # The second process verifies the token and keeps it (once its listener is connected).
    assert second.get("/api/v1/auth/me", headers=auth).status_code == 200
    _until(lambda: listener.live)
    assert second.get("/api/v1/auth/me", headers=auth).status_code == 200
    assert len(cache._entries) == 1  # served from the cache from now on, for an hour
    notices = listener.notices

    assert first.post("/api/v1/auth/logout", headers=auth).status_code == 204
    # The notice is delivered at the commit; it reaches the listener thread within ms.
    waited = _until(lambda: listener.notices > notices)
    assert waited < 1.0
    answer = second.get("/api/v1/auth/me", headers=auth)
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "invalid_token"


def test_a_rolled_back_revocation_sends_no_notice(two_processes):
    from server.auth.services import TOKENS_REVOKED
    from server.extensions import db

    listener = two_processes[1].extensions["gridops.tokens"].signal
    listener.ensure_running()
    _until(lambda: listener.live)
    notices = listener.notices
    with two_processes[0].app_context():
        db.session.execute(sa.text("SELECT 1"))
        db.session.info[TOKENS_REVOKED] = True
        db.session.rollback()
        db.session.info.pop(TOKENS_REVOKED, None)
        db.session.info[TOKENS_REVOKED] = True
        db.session.commit()  # a committed one does
        db.session.info.pop(TOKENS_REVOKED, None)
    _until(lambda: listener.notices > notices)
    assert listener.notices == notices + 1
