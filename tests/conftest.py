"""Test databases: every app-level test runs on SQLite and on PostgreSQL + PostGIS.

PostGIS comes from TEST_DATABASE_URL (default: the local server, database gridops_test).
Each test session builds its own schema with ``alembic upgrade head`` and each test runs
inside a transaction that is rolled back. Without PostGIS the PostGIS half is skipped,
except under CI (CI set), where a missing PostGIS fails the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from config import TestConfig

pytest_plugins = ["tests.fixtures.world", "tests.fixtures.cases", "tests.fixtures.staff",
                  "tests.fixtures.whistle", "tests.fixtures.insights", "tests.fixtures.open311"]

DEFAULT_POSTGIS_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gridops_test"
BACKENDS = ("sqlite", "postgis")


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def postgis_url() -> str:
    from config import normalise_database_url

    return normalise_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGIS_URL))


def _postgis_problem(url: str) -> str | None:
    """Why PostGIS cannot be used for tests, or None."""
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.exec_driver_sql("SELECT postgis_version()")
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostGIS here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


def _make_app(database_url: str, engine_options: dict) -> Flask:
    from server.app import create_app

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        SQLALCHEMY_ENGINE_OPTIONS = engine_options

    return create_app(Config)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _require_postgis() -> str:
    url = postgis_url()
    problem = _postgis_problem(url)
    if problem:
        message = f"PostGIS is not available at {url}: {problem}"
        if under_ci():
            pytest.fail(message + " (CI is set: the PostGIS tests must run)", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture
def committing_postgis_app() -> Iterator[Flask]:
    """An app on a schema of its own whose requests really commit, for concurrency tests.

    Several threads can use it at once, each request on its own connection; the schema is
    dropped afterwards.
    """
    url = _require_postgis()
    schema = f"conc_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    application = _make_app(url, {"connect_args": {"options": f"-csearch_path={schema},public"}})
    with application.app_context():
        upgrade()
    try:
        yield application
    finally:
        from server.extensions import db

        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per backend with a schema built from zero by the migrations."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
        application = _make_app(f"sqlite:///{path}", {})
        with application.app_context():
            upgrade()
        yield application
        return

    url = _require_postgis()
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    application = _make_app(
        url, {"connect_args": {"options": f"-csearch_path={schema},public"}}
    )
    with application.app_context():
        upgrade()
    yield application
    from server.extensions import db

    with application.app_context():
        db.engine.dispose()
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


class _BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks the engine over an explicit ``bind``; the test
    session must stay on the connection that holds the outer transaction."""

    def get_bind(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return self.bind


@pytest.fixture
def db_session(app: Flask) -> Iterator[sa.orm.Session]:
    """A session inside an outer transaction that is rolled back after the test.

    Commits made by the app (one per request) become savepoints of that transaction.
    """
    from server.extensions import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": _BoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()
        # Each process keeps its grid index; a rolled-back test must not leave one behind.
        app.extensions["gridops.grid_index"].clear()


@pytest.fixture
def client(app: Flask, db_session):  # noqa: ANN001, ANN201
    return app.test_client()
