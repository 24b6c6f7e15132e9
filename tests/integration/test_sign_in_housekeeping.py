"""Failed sign-ins of usernames no account has are forgotten by the scheduler
(``server.jobs.sign_in_housekeeping_job``): old and unlocked ones only, real accounts' rows
stay, and a second scheduler holding the lock makes a run skip."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from server.auth.sign_in_locks import SignInFailure
from server.core.clock import now_utc
from server.extensions import db
from server.jobs import (
    SIGN_IN_HOUSEKEEPING_JOB_ID,
    SIGN_IN_LOCK_KEY,
    build_scheduler,
    sign_in_housekeeping_job,
)


def _failure(username: str, *, days_ago: float, locked_for_h: float | None = None):  # noqa: ANN202
    now = now_utc()
    last = now - timedelta(days=days_ago)
    return SignInFailure(username=username, failures=12, first_failed_at=last,
                         last_failed_at=last,
                         locked_until=None if locked_for_h is None
                         else now + timedelta(hours=locked_for_h))


def test_old_unknown_usernames_are_forgotten_real_recent_and_locked_ones_stay(
        app, world, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_FORGET_UNKNOWN_DAYS", 7.0)
    db_session.add_all([
        _failure("guess-old", days_ago=8),
        _failure("guess-recent", days_ago=6),
        _failure("guess-locked", days_ago=8, locked_for_h=1),  # an admin set a long lock
        _failure("admin", days_ago=30),  # a real account
    ])
    db_session.flush()
    assert sign_in_housekeeping_job(app) == 1
    assert set(db_session.scalars(sa.select(SignInFailure.username))) == {
        "guess-recent", "guess-locked", "admin"}


def test_the_age_is_never_shorter_than_the_failure_window(app, world, db_session, monkeypatch):
    """A row inside the window still counts towards the backoff: it is never pruned."""
    monkeypatch.setitem(app.config, "SIGN_IN_FORGET_UNKNOWN_DAYS", 0.0)
    monkeypatch.setitem(app.config, "SIGN_IN_FAILURE_WINDOW_MINUTES", 120.0)
    db_session.add_all([_failure("guess-hour", days_ago=1 / 24),
                        _failure("guess-day", days_ago=1)])
    db_session.flush()
    assert sign_in_housekeeping_job(app) == 1
    assert set(db_session.scalars(sa.select(SignInFailure.username))) == {"guess-hour"}


def test_the_scheduler_runs_it_on_the_configured_interval(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_IN_HOUSEKEEPING_INTERVAL_S", 90.0)
    job = build_scheduler(app, BackgroundScheduler).get_job(SIGN_IN_HOUSEKEEPING_JOB_ID)
    assert job.func is sign_in_housekeeping_job
    assert job.trigger.interval == timedelta(seconds=90)
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)


def test_a_second_scheduler_skips_while_one_runs(committing_postgis_app):
    app = committing_postgis_app
    with app.app_context():
        db.session.add(_failure("guess-committed", days_ago=30))
        db.session.commit()
        engine = db.engine
    try:
        with engine.connect() as other:
            assert other.scalar(sa.select(sa.func.pg_try_advisory_lock(SIGN_IN_LOCK_KEY)))
            try:
                assert sign_in_housekeeping_job(app) is None
            finally:
                other.scalar(sa.select(sa.func.pg_advisory_unlock(SIGN_IN_LOCK_KEY)))
        assert sign_in_housekeeping_job(app) == 1
    finally:
        with app.app_context():
            db.session.execute(sa.delete(SignInFailure).where(
                SignInFailure.username == "guess-committed"))
            db.session.commit()
            db.session.remove()
