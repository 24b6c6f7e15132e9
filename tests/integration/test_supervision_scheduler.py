"""The APScheduler wiring of ``server.jobs`` and the ``gridops scheduler`` command, without
starting a scheduler or sleeping: the registered job is inspected and its function called."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from server.core.clock import now_utc
from server.jobs import (
    REMINDER_JOB_ID,
    RESIDENT_DATA_JOB_ID,
    SIGN_IN_HOUSEKEEPING_JOB_ID,
    SYNC_HOUSEKEEPING_JOB_ID,
    TRACK_MAINTENANCE_JOB_ID,
    build_scheduler,
    fire_reminders_job,
)
from server.org.rules import UnitKind
from server.org.services import create_unit
from server.supervision.models import Notification, Reminder
from server.supervision.rules import DeadlineKind, ReminderState
from server.supervision.services import open_deadline


def test_the_scheduler_runs_one_reminder_job_at_a_time_every_interval(app, db_session):
    scheduler = build_scheduler(app, BackgroundScheduler)
    job = scheduler.get_job(REMINDER_JOB_ID)
    assert job.func is fire_reminders_job
    assert job.args == (app,)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(seconds=app.config["REMINDER_INTERVAL_S"]) \
        == timedelta(seconds=30)
    assert job.max_instances == 1
    assert job.coalesce is True
    assert job.misfire_grace_time is None
    assert scheduler.timezone == UTC
    # The first run is at start-up, to catch up on what fell due while nothing ran.
    assert job.next_run_time <= now_utc()
    assert isinstance(build_scheduler(app), BlockingScheduler)


def test_the_registered_job_sends_what_is_due_and_commits(app, db_session):
    now = now_utc()
    town = create_unit(db_session, code="SVJ-D", name="d", kind=UnitKind.DISTRICT,
                       parent_code=None, now=now)
    deadline = open_deadline(
        db_session, subject_type="test", subject_id=uuid.uuid4(), kind=DeadlineKind.ARRIVAL,
        label="report on site", starts_at=now - timedelta(hours=4),
        due_at=now - timedelta(hours=2), unit_id=town.id, supervisor_unit_id=None,
        now=now - timedelta(hours=4))
    job = build_scheduler(app, BackgroundScheduler).get_job(REMINDER_JOB_ID)
    assert job.func(*job.args) == 5
    assert job.func(*job.args) == 0
    states = db_session.scalars(
        sa.select(Reminder.state).where(Reminder.deadline_id == deadline.id))
    assert set(states) == {ReminderState.SENT}
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.subject_id == deadline.subject_id)) == 5


def test_gridops_scheduler_starts_the_blocking_scheduler(app, db_session, monkeypatch):
    started = []

    def fake_start(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        started.append([job.id for job in self.get_jobs()])
        raise KeyboardInterrupt

    monkeypatch.setattr(BlockingScheduler, "start", fake_start)
    result = app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code == 0, result.output
    assert started == [[REMINDER_JOB_ID, SYNC_HOUSEKEEPING_JOB_ID, RESIDENT_DATA_JOB_ID,
                        TRACK_MAINTENANCE_JOB_ID, SIGN_IN_HOUSEKEEPING_JOB_ID]]
    assert "failed sign-ins forgotten every 3600 s" in result.output
    assert "every 30 s" in result.output
    assert "scheduler stopped" in result.output
    assert "erased 180 days after close" in result.output


def test_the_resident_data_erasure_runs_hourly_unless_retention_is_zero(app, monkeypatch):
    from server.jobs import resident_data_job

    job = build_scheduler(app, BackgroundScheduler).get_job(RESIDENT_DATA_JOB_ID)
    assert (job.func, job.args) == (resident_data_job, (app,))
    assert job.trigger.interval == timedelta(hours=1)  # GRID_RESIDENT_DATA_ERASURE_INTERVAL_S
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, None)
    assert job.next_run_time <= now_utc()
    monkeypatch.setitem(app.config, "RESIDENT_DATA_RETENTION_DAYS", 0.0)
    assert build_scheduler(app, BackgroundScheduler).get_job(RESIDENT_DATA_JOB_ID) is None
