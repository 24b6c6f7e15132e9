"""The scheduler process (``gridops scheduler``): fires due deadline reminders on an interval,
and keeps the sync tables tidy.

It runs in a process of its own, never inside ``create_app``. Run it on one host or on
several: each reminder is claimed in the database (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
so two schedulers never send the same one, and nothing is kept in memory, so a restart
loses nothing: what fell due while no scheduler ran goes out on the first run. The sync
housekeeping (old change-feed rows, abandoned photo uploads) runs under a PostgreSQL advisory
lock: when several schedulers start it at once, one does the work and the others skip; so
does the track maintenance (monthly partitions of track fixes made ahead, old ones dropped).
The erasure of residents' contact data from cases closed longer than the retention period
(``server.retention``) runs the same way, a batch per transaction, each under its own
advisory lock; so does the forgetting of failed sign-ins of usernames no account has.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.orm import Session

from server.auth.rules import SignInPolicy
from server.auth.sign_in_locks import prune_unknown
from server.cli import session_scope
from server.core.clock import now_utc
from server.core.db import is_postgres
from server.retention import BATCH as ERASURE_BATCH
from server.retention import Erasure, erase_resident_data
from server.staff.track_partitions import Maintenance, maintain
from server.supervision.services import fire_due_reminders
from sync.feed import prune as prune_changes
from sync.photos import prune_uploads
from sync.storage import LocalDiskStore

REMINDER_JOB_ID = "fire_due_reminders"
SYNC_HOUSEKEEPING_JOB_ID = "sync_housekeeping"
RESIDENT_DATA_JOB_ID = "erase_resident_data"
TRACK_MAINTENANCE_JOB_ID = "track_maintenance"
SIGN_IN_HOUSEKEEPING_JOB_ID = "sign_in_housekeeping"
# pg_try_advisory_xact_lock keys of the housekeeping runs (any constant bigints of our own).
HOUSEKEEPING_LOCK_KEY = 0x6772_6964_7379_6E63  # "gridsync"
TRACK_MAINTENANCE_LOCK_KEY = 0x6772_6964_7472_6B73  # "gridtrks"
SIGN_IN_LOCK_KEY = 0x6772_6964_7369_676E  # "gridsign"
logger = logging.getLogger(__name__)


def fire_reminders_job(app: Flask) -> int:
    """One run: send everything due, a batch per transaction, until a batch comes back short.

    Each batch commits on its own so a large backlog (after an outage) neither holds locks
    for long nor is lost whole if one batch fails. Returns how many reminders fired.
    """
    batch = app.config["REMINDER_BATCH"]
    total = 0
    with app.app_context():
        while True:
            with session_scope() as session:
                fired = fire_due_reminders(session, now=now_utc(), limit=batch)
            total += fired
            if fired < batch:
                break
    if total:
        logger.info("sent %d deadline reminders", total)
    return total


@dataclass(frozen=True)
class Housekeeping:
    changes: int  # change-feed rows dropped
    uploads: int  # resumable uploads forgotten, with their partial bytes
    skipped: bool = False  # another scheduler was running it


def _claim_housekeeping(session: Session, key: int = HOUSEKEEPING_LOCK_KEY) -> bool:
    """True if this run may go ahead: on PostgreSQL, nobody else holds the advisory lock (it
    is released when the transaction ends); SQLite has one writer at a time anyway."""
    if not is_postgres(session):
        return True
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(key))))


def sync_housekeeping_job(app: Flask) -> Housekeeping:
    """One run, one transaction: drop change-feed rows older than SYNC_TOMBSTONE_DAYS (a
    device that still needed them starts over, see sync.feed.prune) and forget resumable
    photo uploads untouched for PHOTO_UPLOAD_KEEP_HOURS, with their partial bytes."""
    with app.app_context():
        now = now_utc()
        with session_scope() as session:
            if not _claim_housekeeping(session):
                logger.info("sync housekeeping: another scheduler is running it")
                return Housekeeping(0, 0, skipped=True)
            changes = prune_changes(session, now=now,
                                    keep_days=app.config["SYNC_TOMBSTONE_DAYS"])
            uploads = prune_uploads(
                session, LocalDiskStore(app.config["PHOTO_DIR"]),
                idle_before=now - timedelta(hours=app.config["PHOTO_UPLOAD_KEEP_HOURS"]))
    if changes or uploads:
        logger.info("sync housekeeping: %d feed changes and %d idle uploads pruned",
                    changes, uploads)
    return Housekeeping(changes, uploads)


def resident_data_job(app: Flask, *, note: str = "scheduler", batch: int = ERASURE_BATCH,
                      retention_days: float | None = None) -> Erasure:
    """One run: erase the contact data of cases closed more than RESIDENT_DATA_RETENTION_DAYS
    ago, a batch per transaction, until a batch comes back short or another process holds
    the lock (it is doing the same work). Returns the totals; nothing when retention is 0.
    ``retention_days`` overrides the setting (``gridops erase-resident-data --days``)."""
    days = (app.config["RESIDENT_DATA_RETENTION_DAYS"] if retention_days is None
            else retention_days)
    cases = requests = 0
    closed_before = None
    skipped = False
    with app.app_context():
        now = now_utc()
        while days > 0:
            with session_scope() as session:
                run = erase_resident_data(session, None, now=now, retention_days=days,
                                          limit=batch, note=note)
            closed_before = run.closed_before
            cases += run.cases
            requests += run.open311_requests
            if run.skipped:
                skipped = True
                logger.info("resident data erasure: another process is running it")
            if run.skipped or run.cases < batch:
                break
    if cases:
        logger.info("resident data erased from %d closed cases (%d Open311 requests)",
                    cases, requests)
    return Erasure(closed_before or now, cases, requests, skipped=skipped)


def track_maintenance_job(app: Flask) -> Maintenance | None:
    """One run, one transaction, under an advisory lock (None: another scheduler holds it):
    the monthly partitions of track fixes for this month and the next ones, and those past
    TRACK_RETENTION_MONTHS dropped (server/staff/track_partitions.py)."""
    with app.app_context(), session_scope() as session:
        if not _claim_housekeeping(session, TRACK_MAINTENANCE_LOCK_KEY):
            logger.info("track maintenance: another scheduler is running it")
            return None
        done = maintain(session, now=now_utc(),
                        retention_months=app.config["TRACK_RETENTION_MONTHS"])
    if done.created or done.dropped or done.deleted:
        logger.info("track maintenance: partitions made %s, dropped %s; %d old fixes deleted",
                    done.created, done.dropped, done.deleted)
    return done


def sign_in_housekeeping_job(app: Flask) -> int | None:
    """One run, one transaction, under an advisory lock (None: another scheduler holds it):
    forget the failed sign-ins of usernames no account has, last tried more than
    SIGN_IN_FORGET_UNKNOWN_DAYS ago and not locked (server/auth/sign_in_locks.py)."""
    policy = SignInPolicy(window_minutes=app.config["SIGN_IN_FAILURE_WINDOW_MINUTES"])
    with app.app_context(), session_scope() as session:
        if not _claim_housekeeping(session, SIGN_IN_LOCK_KEY):
            logger.info("sign-in housekeeping: another scheduler is running it")
            return None
        forgotten = prune_unknown(
            session, policy, now=now_utc(),
            older_than=timedelta(days=app.config["SIGN_IN_FORGET_UNKNOWN_DAYS"]))
    if forgotten:
        logger.info("sign-in housekeeping: %d unknown usernames forgotten", forgotten)
    return forgotten


def build_scheduler(
    app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    """A scheduler (UTC) with the reminder job, every REMINDER_INTERVAL_S seconds, the sync
    housekeeping, every SYNC_HOUSEKEEPING_INTERVAL_S, the erasure of residents' contact
    data, every RESIDENT_DATA_ERASURE_INTERVAL_S (unless retention is 0), and the track
    maintenance, every TRACK_MAINTENANCE_INTERVAL_S, and the sign-in housekeeping, every
    SIGN_IN_HOUSEKEEPING_INTERVAL_S: each first run at
    once (to catch up after a restart), never two runs of a job at a time in this process,
    and missed runs folded into one."""
    scheduler = scheduler_class(timezone=UTC)

    def every(setting: str, job, job_id: str, name: str) -> None:  # noqa: ANN001
        scheduler.add_job(
            job,
            IntervalTrigger(seconds=app.config[setting], timezone=UTC),
            args=(app,),
            id=job_id,
            name=name,
            max_instances=1,
            coalesce=True,
            # A late run still does what is due (a reminder late, and recorded as such);
            # never skip one.
            misfire_grace_time=None,
            next_run_time=now_utc(),
        )

    every("REMINDER_INTERVAL_S", fire_reminders_job, REMINDER_JOB_ID,
          "send due deadline reminders")
    every("SYNC_HOUSEKEEPING_INTERVAL_S", sync_housekeeping_job, SYNC_HOUSEKEEPING_JOB_ID,
          "prune the sync change feed and idle photo uploads")
    if app.config["RESIDENT_DATA_RETENTION_DAYS"] > 0:
        every("RESIDENT_DATA_ERASURE_INTERVAL_S", resident_data_job, RESIDENT_DATA_JOB_ID,
              "erase residents' contact data of cases closed past the retention period")
    every("TRACK_MAINTENANCE_INTERVAL_S", track_maintenance_job, TRACK_MAINTENANCE_JOB_ID,
          "make next months' track partitions, drop those past retention")
    every("SIGN_IN_HOUSEKEEPING_INTERVAL_S", sign_in_housekeeping_job,
          SIGN_IN_HOUSEKEEPING_JOB_ID, "forget failed sign-ins of unknown usernames")
    return scheduler
