"""Sign-in is throttled per account (backoff, then a lock an admin lifts) and per address;
pushes and photo uploads per device; a refused try computes no password hash; the address
counters live in Redis across hosts (docs/security.md)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from server.auth.passwords import Passwords
from server.auth.sign_in_locks import SignInFailure
from server.extensions import limiter
from tests.api.test_auth import assert_error
from tests.api.test_sync_push import now, push
from tests.fixtures.tus import TUS, UPLOADS
from tests.fixtures.world import PASSWORD

_addresses = itertools.count(1)
LOGIN = "/api/v1/auth/login"


def fresh_address() -> dict[str, str]:
    """A client address of its own, so that no other test shares its counters."""
    n = next(_addresses)
    return {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{n // 250}.{n % 250 + 1}"}


class CountingPasswords(Passwords):
    verified = 0

    def verify(self, password_hash: str, password: str) -> bool:
        type(self).verified += 1
        return super().verify(password_hash, password)


@pytest.fixture
def clock(monkeypatch):  # noqa: ANN001, ANN201
    """The requests' clock, moved by hand: clock.move(seconds=…)."""

    class Clock:
        at = datetime(2026, 11, 5, 1, 30, tzinfo=UTC)

        def move(self, **delta: float) -> None:
            self.at += timedelta(**delta)

    c = Clock()
    monkeypatch.setattr("server.api.context.now_utc", lambda: c.at)
    return c


@pytest.fixture
def counted(app, monkeypatch):  # noqa: ANN001, ANN201
    """Count the password hashes computed (argon2 verifications)."""
    CountingPasswords.verified = 0
    original = app.extensions["gridops.passwords"]
    monkeypatch.setitem(app.extensions, "gridops.passwords",
                        CountingPasswords(original.time_cost, original.memory_kib))
    return CountingPasswords


@pytest.fixture
def strict(app, monkeypatch):  # noqa: ANN001, ANN201
    for name, value in {"SIGN_IN_FREE_FAILURES": 2, "SIGN_IN_LOCK_AFTER": 5,
                        "SIGN_IN_LOCK_MINUTES": 30.0, "SIGN_IN_BACKOFF_MAX_S": 60.0}.items():
        monkeypatch.setitem(app.config, name, value)


def sign_in(client, username: str, password: str, address: dict | None = None):  # noqa: ANN001, ANN201
    return client.post(LOGIN, json={"username": username, "password": password},
                       environ_base=address or fresh_address())


def test_wrong_passwords_back_off_then_lock_and_the_right_one_does_not_get_in(
        client, world, clock, counted, strict):
    for _ in range(2):  # free tries
        assert_error(sign_in(client, "t1.worker", "wrong"), 401, "invalid_credentials")
    throttled = sign_in(client, "t1.worker", PASSWORD)
    assert_error(throttled, 429, "sign_in_throttled")
    assert throttled.headers["Retry-After"] == "1"
    hashes = counted.verified
    clock.move(seconds=1)
    assert_error(sign_in(client, "t1.worker", "wrong"), 401, "invalid_credentials")  # 3rd
    assert sign_in(client, "t1.worker", "wrong").headers["Retry-After"] == "2"
    clock.move(seconds=2)
    assert_error(sign_in(client, "t1.worker", "wrong"), 401, "invalid_credentials")  # 4th
    clock.move(seconds=4)
    assert_error(sign_in(client, "t1.worker", "wrong"), 401, "invalid_credentials")  # 5th
    locked = sign_in(client, "t1.worker", PASSWORD)
    assert_error(locked, 429, "sign_in_locked")
    assert locked.headers["Retry-After"] == str(30 * 60)
    clock.move(minutes=10)
    assert_error(sign_in(client, "t1.worker", PASSWORD), 429, "sign_in_locked")
    assert counted.verified == hashes + 3  # the refused tries computed no hash
    clock.move(minutes=21)  # the lock ends by itself
    assert sign_in(client, "t1.worker", PASSWORD).status_code == 201
    # ...and a success starts the count again: two free failures.
    for _ in range(2):
        assert_error(sign_in(client, "t1.worker", "wrong"), 401, "invalid_credentials")


def test_old_failures_are_forgotten(client, world, clock, strict):
    for _ in range(2):
        sign_in(client, "t1.worker", "wrong")
    clock.move(minutes=61)
    assert sign_in(client, "t1.worker", PASSWORD).status_code == 201


def test_unknown_usernames_back_off_the_same_so_names_are_not_revealed(
        client, world, clock, strict):
    for username in ("t1.worker", "nobody.here"):
        answers = [sign_in(client, username, "wrong").status_code for _ in range(3)]
        assert answers == [401, 401, 429]


def test_an_admin_lists_and_lifts_a_lock_and_the_trail_records_it(
        client, world, login, clock, strict, db_session):
    admin = login("admin")
    for seconds in (0, 0, 1, 2, 4):
        clock.move(seconds=seconds)
        sign_in(client, "t1.worker", "wrong")
    [lock] = client.get("/api/v1/auth/sign-in-locks", headers=admin).get_json()
    assert lock["username"] == "t1.worker"
    assert lock["user"]["id"] == str(world.users["t1.worker"].id)
    assert lock["failures"] == 5
    assert datetime.fromisoformat(lock["locked_until"]) == clock.at + timedelta(minutes=30)
    assert_error(client.get("/api/v1/auth/sign-in-locks", headers=login("t1.dispatcher")),
                 403, "permission_denied")
    assert_error(client.delete("/api/v1/auth/sign-in-locks/t1.worker",
                               headers=login("t1.dispatcher")), 403, "permission_denied")
    assert client.delete("/api/v1/auth/sign-in-locks/t1.worker",
                         headers=admin).status_code == 204
    assert client.get("/api/v1/auth/sign-in-locks", headers=admin).get_json() == []
    assert sign_in(client, "t1.worker", PASSWORD).status_code == 201
    [change] = client.get("/api/v1/admin-changes?action=user.sign_in_unlocked",
                          headers=admin).get_json()["items"]
    assert (change["object_code"], change["actor_username"]) == ("t1.worker", "admin")
    assert change["before"]["failures"] == 5
    assert_error(client.delete("/api/v1/auth/sign-in-locks/t1.worker", headers=admin),
                 404, "sign_in_lock_not_found")


def test_failures_are_kept_in_the_database_although_the_answer_is_a_401(
        client, world, clock, strict, db_session):
    # The request's transaction is kept on this 401 (KEEP_ON_ERROR): every host reads it.
    for _ in range(2):
        sign_in(client, "t1.worker", "wrong")
    row = db_session.get(SignInFailure, "t1.worker")
    assert (row.failures, row.first_failed_at, row.last_failed_at) == (2, clock.at, clock.at)
    assert row.locked_until is None


def test_failed_sign_ins_per_address_are_limited_without_hashing(
        client, world, app, counted, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_RATE_LIMIT", "3/minute")
    office = fresh_address()
    assert sign_in(client, "t1.worker", PASSWORD, office).status_code == 201  # not counted
    for n in range(3):  # three accounts, one address: no account backs off
        assert_error(sign_in(client, f"guess{n}", "wrong", office), 401, "invalid_credentials")
    hashes = counted.verified
    refused = sign_in(client, "t1.worker", PASSWORD, office)
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    assert counted.verified == hashes
    assert sign_in(client, "t1.worker", PASSWORD).status_code == 201  # another address


def test_pushes_are_limited_per_device(client, world, app, login, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_PUSH_RATE_LIMIT", "2/minute")
    phone = login("t1.worker", device_id=str(uuid.uuid4()))
    other = login("t2.worker", device_id=str(uuid.uuid4()))
    push(client, phone)
    push(client, phone)
    refused = client.post("/api/v1/sync/push", headers=phone,
                          json={"sent_at": now().isoformat(), "operations": []})
    assert_error(refused, 429, "rate_limited")
    assert "Retry-After" in refused.headers
    push(client, other)


def test_photo_uploads_are_limited_per_device(client, world, app, login, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_RATE_LIMIT", "2/minute")
    phone = login("t1.worker", device_id=str(uuid.uuid4()))
    url = f"{UPLOADS}/{uuid.uuid4()}"
    assert [client.head(url, headers={**phone, **TUS}).status_code for _ in range(3)] == [
        404, 404, 429]


# --- Redis: the counters are shared by every host ---------------------------------------------

@pytest.fixture
def host(app):  # noqa: ANN001, ANN201
    """host(storage) -> a new app ("another host") on the suite's database and that storage.

    The extension is process-wide and each app's init_app points it at its storage; the
    suite's own storage is put back afterwards.
    """
    saved = (limiter._storage, limiter._limiter)  # noqa: SLF001
    made = []

    def _host(storage_uri: str):  # noqa: ANN202
        from server.app import create_app

        base = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI",
                                            "SQLALCHEMY_ENGINE_OPTIONS")}
        from config import TestConfig

        config = type("HostConfig", (TestConfig,), {
            **base, "RATELIMIT_STORAGE_URI": storage_uri, "SIGN_IN_RATE_LIMIT": "3/minute"})
        made.append(create_app(config))
        return made[-1]

    yield _host
    limiter._storage, limiter._limiter = saved  # noqa: SLF001
    from server.extensions import db

    for application in made:
        with application.app_context():
            db.session.execute(sa.delete(SignInFailure).where(
                SignInFailure.username.like("redis-guess-%")))
            db.session.commit()
            db.engine.dispose()


@pytest.mark.parametrize(("storage", "shared"), [("redis://127.0.0.1:6379", True),
                                                 ("memory://", False)])
def test_address_counters_in_redis_are_seen_by_another_host(host, storage, shared):
    address = fresh_address()
    first = host(storage).test_client()
    for _ in range(3):
        response = first.post(LOGIN, json={"username": f"redis-guess-{uuid.uuid4().hex[:8]}",
                                           "password": "wrong"}, environ_base=address)
        assert response.status_code == 401, response.get_json()
    assert first.post(LOGIN, json={"username": "redis-guess-x", "password": "wrong"},
                      environ_base=address).status_code == 429
    # A second host: a new app with its own connection to the storage.
    second = host(storage).test_client()
    answer = second.post(LOGIN, json={"username": "redis-guess-y", "password": "wrong"},
                         environ_base=address)
    assert answer.status_code == (429 if shared else 401)
