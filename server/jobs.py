"""The scheduler process (``gridops scheduler``): fires due deadline reminders on an interval.

It runs in a process of its own, never inside ``create_app``. Run it on one host or on
several: each reminder is claimed in the database (``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
so two schedulers never send the same one, and nothing is kept in memory, so a restart
loses nothing: what fell due while no scheduler ran goes out on the first run.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from server.cli import session_scope
from server.core.clock import now_utc
from server.supervision.services import fire_due_reminders

REMINDER_JOB_ID = "fire_due_reminders"
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


def build_scheduler(
    app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    """A scheduler (UTC) with the reminder job: every REMINDER_INTERVAL_S seconds, first run
    at once (to catch up after a restart), never two runs at a time in this process, and
    missed runs folded into one."""
    scheduler = scheduler_class(timezone=UTC)
    scheduler.add_job(
        fire_reminders_job,
        IntervalTrigger(seconds=app.config["REMINDER_INTERVAL_S"], timezone=UTC),
        args=(app,),
        id=REMINDER_JOB_ID,
        name="send due deadline reminders",
        max_instances=1,
        coalesce=True,
        # A late run still sends what is due (late, and recorded as such); never skip one.
        misfire_grace_time=None,
        next_run_time=now_utc(),
    )
    return scheduler
