"""Revocations reach every process at once: PostgreSQL NOTIFY on commit, one listener each.

``TokenCache`` lets a process answer a request without looking its token up. On its own,
that meant a token revoked by one process kept working in the others for up to
``AUTH_CACHE_S`` seconds. Now:

- every commit of a session that revoked tokens or changed what a token stands for (the
  ``TOKENS_REVOKED`` flag: sign-out, a lost phone, a new sign-in on the same device, roles
  changed) also sends ``NOTIFY gridops_tokens`` inside that transaction, so PostgreSQL
  delivers it when, and only if, the revocation commits (``install_revocation_notice``);
- each serving process has one listener thread (``RevocationListener``, one connection per
  process and database, started by the first request after a fork) that clears every token
  cache of the process on each notice;
- a cache with a listener trusts its entries only while the listener is connected: before
  its ``LISTEN`` runs, after an error, and while it reconnects, the cache answers nothing
  and stores nothing, so every request looks its token up (slower, never wrong);
- a lookup that began before a clear cannot store what it read (``TokenCache.generation``):
  otherwise a request that read the token just before the revocation committed could put
  it back after the notice had emptied the cache.

What is left: the notice travels from the commit to the listener asynchronously (well under
a millisecond on one host, a network hop across hosts), so a request that reaches another
process within that time is still answered. The revoking process clears its own cache right
after its commit, as before. On SQLite (one process, development) there is no listener and
the TTL alone bounds what another process would see.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.auth.services import TOKENS_REVOKED, TokenCache

CHANNEL = "gridops_tokens"
logger = logging.getLogger(__name__)


def install_revocation_notice() -> None:
    """Every ORM session that flagged a revocation notifies at its commit (idempotent)."""
    if not event.contains(Session, "before_commit", _notify_if_revoked):
        event.listen(Session, "before_commit", _notify_if_revoked)


def _notify_if_revoked(session: Session) -> None:
    if not session.info.get(TOKENS_REVOKED):
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))


def libpq_dsn(url: sa.engine.URL) -> str:
    """The SQLAlchemy URL as a plain libpq connection string for psycopg."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class RevocationListener:
    """One thread per process and database: ``LISTEN gridops_tokens``, clear the caches.

    ``live`` is true only while the thread's connection is up and listening; the caches
    that depend on it serve nothing otherwise. ``heartbeat_s``: how often an idle
    connection is checked (a dead one is noticed within it, with TCP keepalives below).
    """

    _by_dsn: dict[str, RevocationListener] = {}
    _registry_lock = threading.Lock()

    @classmethod
    def for_dsn(cls, dsn: str) -> RevocationListener:
        with cls._registry_lock:
            listener = cls._by_dsn.get(dsn)
            if listener is None:
                listener = cls._by_dsn[dsn] = cls(dsn)
            return listener

    def __init__(self, dsn: str, *, heartbeat_s: float = 10.0, retry_s: float = 1.0) -> None:
        self.dsn = dsn
        self.heartbeat_s = heartbeat_s
        self.retry_s = retry_s
        self.live = False
        self.notices = 0
        self._caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def attach(self, cache: TokenCache) -> None:
        self._caches.add(cache)
        cache.signal = self

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running (threads do not survive a
        fork: a worker's first request starts its own)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self.live = False  # whatever the parent's thread knew is not this process's
            self._clear_all()
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="gridops-token-revocations",
                             daemon=True).start()

    def _clear_all(self) -> None:
        for cache in list(self._caches):
            cache.clear()

    def _run(self) -> None:
        while True:
            try:
                with psycopg.connect(self.dsn, autocommit=True, keepalives=1,
                                     keepalives_idle=10, keepalives_interval=5,
                                     keepalives_count=3, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._clear_all()
                    self.live = True
                    while True:
                        for _notice in conn.notifies(timeout=self.heartbeat_s):
                            self.notices += 1
                            self._clear_all()
                        conn.execute("SELECT 1")  # an idle connection is still there
            except Exception:  # noqa: BLE001 - reconnect; the caches are off meanwhile
                logger.warning("token revocation listener lost its connection; "
                               "tokens are looked up on every request until it is back",
                               exc_info=True)
            finally:
                self.live = False
                self._clear_all()
            time.sleep(self.retry_s)
