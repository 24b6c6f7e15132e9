"""Behind a reverse proxy (GRID_PROXY_HOPS): with 0 hops a forged X-Forwarded-For is ignored
and the per-address sign-in limit counts the socket's address; with 1 hop the address the
proxy added is the client's, so clients behind one proxy are counted apart."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from server.auth.sign_in_locks import SignInFailure
from server.extensions import db, limiter

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def app_with_hops(app):  # noqa: ANN001, ANN201
    """app_with_hops(n) -> a new app on the suite's database, PROXY_HOPS=n, 3 failed
    sign-ins per address a minute (the limiter's storage is put back afterwards)."""
    saved = (limiter._storage, limiter._limiter)  # noqa: SLF001
    made = []

    def _make(hops: int):  # noqa: ANN202
        from config import TestConfig
        from server.app import create_app

        base = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI",
                                            "SQLALCHEMY_ENGINE_OPTIONS")}
        config = type("ProxyConfig", (TestConfig,), {
            **base, "PROXY_HOPS": hops, "RATELIMIT_STORAGE_URI": "memory://",
            "SIGN_IN_RATE_LIMIT": "3/minute"})
        made.append(create_app(config))
        return made[-1].test_client()

    yield _make
    limiter._storage, limiter._limiter = saved  # noqa: SLF001
    for application in made:
        with application.app_context():
            db.session.execute(sa.delete(SignInFailure).where(
                SignInFailure.username.like("proxy-guess-%")))
            db.session.commit()
            db.engine.dispose()


def fail(client, socket: str, forwarded: str) -> int:  # noqa: ANN001
    return client.post(LOGIN, json={"username": f"proxy-guess-{uuid.uuid4().hex[:8]}",
                                    "password": "wrong"},
                       headers={"X-Forwarded-For": forwarded},
                       environ_base={"REMOTE_ADDR": socket}).status_code


def test_with_no_hops_a_forged_forwarded_for_is_ignored(app_with_hops):
    client = app_with_hops(0)
    assert [fail(client, "10.9.0.1", f"198.51.100.{n}") for n in range(4)] == [
        401, 401, 401, 429]  # one socket address, whatever the header says
    assert fail(client, "10.9.0.2", "198.51.100.0") == 401


def test_with_one_hop_the_proxys_forwarded_for_is_the_client(app_with_hops):
    client = app_with_hops(1)
    proxy = "10.9.0.3"
    # Clients behind one proxy are counted apart; a client's own forged entry (before the
    # proxy's) is not trusted: only the last entry is.
    assert [fail(client, proxy, f"203.0.113.9, 198.51.100.{n}") for n in range(4)] == [
        401, 401, 401, 401]
    assert [fail(client, proxy, "198.51.100.77") for _ in range(4)] == [401, 401, 401, 429]
    assert fail(client, proxy, "203.0.113.9, 198.51.100.78") == 401


def test_a_negative_hop_count_is_refused_at_start_up(app):  # noqa: ANN001
    from config import TestConfig
    from server.app import create_app

    with pytest.raises(RuntimeError, match="GRID_PROXY_HOPS"):
        create_app(type("Bad", (TestConfig,), {"PROXY_HOPS": -1}))
