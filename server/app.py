"""The application factory: config, extensions, error handlers, blueprints, CLI, in that order."""

from __future__ import annotations

import contextlib
import gc
import logging
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Request, Response, g
from flask.sessions import NullSession, SessionInterface
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from server.api import register_blueprints
from server.api.assign.fast_lane import AssignFastLane
from server.api.throttle import check_limits_only_where_declared, limited_blueprint
from server.auth.passwords import Passwords
from server.auth.revocations import RevocationListener, install_revocation_notice, libpq_dsn
from server.auth.services import TOKENS_REVOKED, TokenCache, authenticate
from server.auth.sign_in_locks import KEEP_ON_ERROR
from server.console import init_console
from server.core import i18n
from server.core.clock import now_utc
from server.core.errors import Unauthenticated
from server.errors import keep_our_retry_after, register_error_handlers
from server.extensions import Api, db, limiter, migrate
from server.grids.assignment import GridIndexCache
from server.grids.services import GRIDS_CHANGED
from sync.feed import install_change_capture

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
logger = logging.getLogger(__name__)


def create_app(config: type[Config] = Config) -> Flask:
    config.check()
    app = Flask(__name__)
    app.config.from_object(config)
    app.session_interface = NoCookieSession()
    _trust_proxies(app)
    i18n.configure(app.config["LOCALE"])
    _prepare_sqlite(app)

    db.init_app(app)
    _attach_sqlite_pragmas(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    api = Api(app)
    keep_our_retry_after(app)  # before the limiter's hooks: see its docstring
    limiter.init_app(app)
    check_limits_only_where_declared(app)
    register_error_handlers(app)
    register_blueprints(api)
    app.extensions["gridops.passwords"] = Passwords(
        time_cost=app.config["PASSWORD_HASH_TIME_COST"],
        memory_kib=app.config["PASSWORD_HASH_MEMORY_KIB"],
    )
    # Per-process caches; see their docstrings for how they stay correct across processes.
    app.extensions["gridops.grid_index"] = GridIndexCache(app.config["GRID_INDEX_MAX_STALE_S"])
    app.extensions["gridops.tokens"] = _token_cache(app)
    install_change_capture()  # every ORM session records changes of synced rows
    _install_transaction_boundary(app)
    app.add_url_rule("/health", "health", _health)
    init_console(app)  # the command centre's pages at /console (after the API's docs page)
    # The lane answers beneath Flask-Limiter: it stands aside if a limit could apply there.
    if app.config["ASSIGN_FAST_LANE"] and not limited_blueprint(app, "assign"):
        app.wsgi_app = AssignFastLane(app, app.wsgi_app)

    from server.cli import register_commands

    register_commands(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind PROXY_HOPS reverse proxies, take the client's address and scheme from the
    X-Forwarded-For / -Proto entries those proxies added (werkzeug's ProxyFix), so that the
    per-address limits count clients, not the proxy. With 0 nothing is trusted: a client
    that talks to the app directly could write any X-Forwarded-For."""
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _token_cache(app: Flask) -> TokenCache:
    """The per-process token cache; on PostgreSQL it hears every revocation at once
    (``server.auth.revocations``), so another process's sign-out holds here too."""
    install_revocation_notice()
    cache = TokenCache(app.config["AUTH_CACHE_S"])
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if cache.ttl_s > 0 and url.get_backend_name() == "postgresql":
        RevocationListener.for_dsn(libpq_dsn(url)).attach(cache)
    return cache


def warm_up_before_fork(app: Flask) -> None:
    """In a pre-forking server's master, before the workers fork: build the grid index
    once, close every database connection, and freeze the objects made so far.

    Each worker then starts with the index built (no ~1 s first request) and shares its
    memory with the master and the other workers copy-on-write. ``gc.freeze()`` moves the
    objects made so far out of the collector's reach: a collection in a worker would
    otherwise write into every object's header and copy the pages it touches. A worker
    still rebuilds its own index when the grid generation moves (GridIndexCache), so an
    import reaches every worker as before. The connections are closed because a socket
    shared by two processes corrupts both their conversations. If the database cannot be
    reached, the workers build the index on their first request, as without preloading.
    """
    with app.app_context():
        try:
            index = app.extensions["gridops.grid_index"].get(db.session)
            logger.info("grid index built before fork: %d grids", len(index))
            _first_requests(app)
        except Exception:  # noqa: BLE001 - serving without a warm index beats not serving
            logger.exception("grid index not built before fork; workers will build it")
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    gc.collect()
    gc.freeze()


def _first_requests(app: Flask) -> None:
    """What a worker's first requests build to stay, built once in the master and then
    shared by every worker instead of copied into each: the health check, an
    unauthenticated request's error machinery and JSON, and a token lookup (its statement
    compiled, the ORM's mappers configured).

    The lookup bypasses the token cache on purpose: the cache's first use starts the
    revocation listener's thread, and no thread may run in the master when it forks (one
    holding a lock at that moment would leave the lock held in every worker).
    """
    client = app.test_client()
    client.get("/health")
    client.post("/api/v1/assign", json={"lon": 116.4, "lat": 39.9})  # 401: no token
    with contextlib.suppress(Unauthenticated):
        authenticate(db.session, "warm-up-before-fork", now=now_utc())  # no such token
    db.session.rollback()


def after_fork(app: Flask) -> None:
    """In each worker, just after the fork: forget any pooled connection inherited from the
    master without closing it (the master's to close), so the worker opens its own."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


class _NoSession(NullSession):
    def _fail(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("gridops keeps no cookie session: the API authenticates each "
                           "request by its bearer token (server/app.py NoCookieSession)")

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class NoCookieSession(SessionInterface):
    """Flask's cookie session, never opened: nothing here uses ``flask.session``.

    The API authenticates every request by its bearer token, and the console keeps the
    token of the API's own sign-in in the browser's sessionStorage (console.js). Opening the
    signed cookie session anyway (a serializer, a cookie read, a save check) was paid on
    every request; writing to ``flask.session`` now fails loudly instead of setting a cookie
    nobody reads.
    """

    null_session_class = _NoSession

    def open_session(self, app: Flask, request: Request) -> _NoSession:
        return _NoSession()

    def save_session(self, app: Flask, session: object, response: Response) -> None:
        return None


def _health() -> tuple[dict[str, str], int]:
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}, 200


def _install_transaction_boundary(app: Flask) -> None:
    """One transaction per request: commit if the answer is a success, else roll back.

    Views and services never commit; flushes inside them are undone by a rollback, except
    what a service marks to keep although it fails (a failed sign-in's count: its only
    write, made before the refusal).
    """

    @app.after_request
    def _finish(response: Response) -> Response:
        session = db.session()
        if response.status_code >= 400:
            if session.info.pop(KEEP_ON_ERROR, False):
                session.commit()
            elif not _untouched(session):
                session.rollback()
            return response
        if not _untouched(session):
            session.commit()
        # Side effects that must wait for the commit: refresh this process's caches.
        info = session.info
        if info.pop(GRIDS_CHANGED, False):
            app.extensions["gridops.grid_index"].mark_stale()
        if info.pop(TOKENS_REVOKED, False):
            app.extensions["gridops.tokens"].clear()
        return response

    @app.teardown_request
    def _abandon(exc: BaseException | None) -> None:
        if exc is not None:
            db.session.rollback()
        db.session.info.pop(GRIDS_CHANGED, None)
        db.session.info.pop(TOKENS_REVOKED, None)
        db.session.info.pop(KEEP_ON_ERROR, None)
        g.pop("actor", None)
        # The request's clock (api.context.request_now): tests run many requests in one app
        # context, whose g would otherwise hand the first request's time to all the others.
        g.pop("now", None)


def _untouched(session: Session) -> bool:
    """Nothing to commit or roll back: no transaction began and nothing is pending.

    Most requests of a warm process never reach the database (the token and the grid index
    are cached); committing anyway would begin and end an empty session transaction. Any
    statement, flush or write (a sign-in's count kept on error, a token's last use) begins
    one, so those still commit.
    """
    return not (session.in_transaction() or session.new or session.dirty or session.deleted)


def _prepare_sqlite(app: Flask) -> None:
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
    options.setdefault("connect_args", {}).setdefault("timeout", 30)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options



def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself
    # (the recipe in SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers work while one gunicorn worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # IMMEDIATE: take SQLite's one write lock at the start, waiting for it up to the busy
    # timeout (connect_args "timeout"). A deferred BEGIN reads first, and when it then writes
    # (a new token, the token's last use, …) after another connection committed, SQLite
    # answers "database is locked" at once (SQLITE_BUSY_SNAPSHOT): no wait can help a stale
    # snapshot. So requests on SQLite run one at a time; readers outside a transaction
    # (none in the app) would still read alongside, WAL being on.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _attach_sqlite_pragmas(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
            sa.event.listen(db.engine, "begin", _sqlite_begin)
