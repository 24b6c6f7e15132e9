"""Two schedulers side by side: every due reminder gives exactly one set of notifications.

Each "host" is an app of its own (its own engine and connections) running the real job body
from ``server.jobs`` in a loop, at the same time as the other, committing for real. On
PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``; on SQLite (one writer at a time) it is a
conditional UPDATE, and two connections on one file show it holds there too. The data uses
unique codes and is removed afterwards.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from config import TestConfig
from server.core.clock import now_utc
from server.extensions import db
from server.jobs import fire_reminders_job
from server.org.models import Unit
from server.org.rules import UnitKind
from server.org.services import create_unit
from server.supervision.models import Deadline, Notification, Reminder
from server.supervision.rules import OVERDUE, DeadlineKind, DeadlineStatus, ReminderState
from server.supervision.services import open_deadline

DEADLINES = 40  # x 5 nodes = 200 reminders; the overdue node notifies two units
BATCH = 7  # small batches, so the two schedulers interleave many times


def another_host(app: Flask) -> Flask:
    """Another server process on the same database: same URL and engine options."""
    from server.app import create_app

    class HostConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        SQLALCHEMY_ENGINE_OPTIONS = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        REMINDER_BATCH = BATCH

    return create_app(HostConfig)


def _seed(app: Flask, suffix: str) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:
    """Units and deadlines whose every node fell due an hour ago, committed."""
    now = now_utc()
    with app.app_context():
        session = db.session
        district = create_unit(session, code=f"SVC-D-{suffix}", name="d", kind=UnitKind.DISTRICT,
                               parent_code=None, now=now)
        town = create_unit(session, code=f"SVC-T-{suffix}", name="t", kind=UnitKind.TOWNSHIP,
                           parent_code=district.code, now=now)
        deadline_ids = [
            open_deadline(session, subject_type=f"test-{suffix}", subject_id=uuid.uuid4(),
                          kind=DeadlineKind.COMPLETION, label=f"load {i}",
                          starts_at=now - timedelta(hours=25), due_at=now - timedelta(hours=1),
                          unit_id=town.id, supervisor_unit_id=district.id,
                          now=now - timedelta(hours=25)).id
            for i in range(DEADLINES)
        ]
        session.commit()
        return district.id, town.id, deadline_ids


def _cleanup(app: Flask, suffix: str, deadline_ids: list[uuid.UUID]) -> None:
    with app.app_context():
        session = db.session
        reminder_ids = sa.select(Reminder.id).where(Reminder.deadline_id.in_(deadline_ids))
        session.execute(sa.delete(Notification).where(Notification.reminder_id.in_(reminder_ids)))
        session.execute(sa.delete(Reminder).where(Reminder.deadline_id.in_(deadline_ids)))
        session.execute(sa.delete(Deadline).where(Deadline.id.in_(deadline_ids)))
        for code in (f"SVC-T-{suffix}", f"SVC-D-{suffix}"):
            session.execute(sa.delete(Unit).where(Unit.code == code))
        session.commit()


@pytest.mark.concurrency
def test_two_schedulers_side_by_side_send_each_reminder_exactly_once(app):
    hosts = [another_host(app), another_host(app)]
    suffix = uuid.uuid4().hex[:8]
    district_id, town_id, deadline_ids = _seed(hosts[0], suffix)
    fired = [0, 0]
    runs = [0, 0]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def scheduler(index: int) -> None:
        try:
            start.wait(timeout=10)
            while True:  # one scheduler process: run the job until nothing is left for it
                runs[index] += 1
                sent = fire_reminders_job(hosts[index])
                fired[index] += sent
                if sent == 0:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert sum(fired) == DEADLINES * 5
        with hosts[0].app_context():
            session = db.session
            states = Counter(session.scalars(
                sa.select(Reminder.state).where(Reminder.deadline_id.in_(deadline_ids))))
            assert states == {ReminderState.SENT: DEADLINES * 5}
            per_reminder = session.execute(
                sa.select(Reminder.node, sa.func.count(Notification.id))
                .join(Notification, Notification.reminder_id == Reminder.id, isouter=True)
                .where(Reminder.deadline_id.in_(deadline_ids))
                .group_by(Reminder.id, Reminder.node)
            ).all()
            assert len(per_reminder) == DEADLINES * 5
            # One notification per node for the township; the overdue one also to the district.
            assert all(count == (2 if node == OVERDUE else 1) for node, count in per_reminder)
            recipients = Counter(session.scalars(
                sa.select(Notification.unit_id).join(Reminder)
                .where(Reminder.deadline_id.in_(deadline_ids))))
            assert recipients == {town_id: DEADLINES * 5, district_id: DEADLINES}
    finally:
        for thread in threads:
            thread.join(timeout=120)
        _cleanup(hosts[0], suffix, deadline_ids)
        for application in hosts:
            with application.app_context():
                db.engine.dispose()


@pytest.mark.concurrency
def test_settling_while_a_scheduler_sends_gives_each_overdue_notice_once(
        committing_postgis_app):
    """A whistle call closing (``settle_deadline``) while the scheduler sends the same
    deadlines' reminders, on PostgreSQL: every overdue escalation goes out exactly once,
    whoever sends it, every deadline ends missed, and nothing deadlocks."""
    from server.supervision.services import settle_deadline

    scheduler_host, closing_host = another_host(committing_postgis_app), another_host(
        committing_postgis_app)
    suffix = uuid.uuid4().hex[:8]
    district_id, town_id, deadline_ids = _seed(scheduler_host, suffix)
    with closing_host.app_context():
        subjects = db.session.execute(sa.select(Deadline.subject_type, Deadline.subject_id)
                                      .where(Deadline.id.in_(deadline_ids))).all()
        db.session.remove()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def scheduler() -> None:
        try:
            start.wait(timeout=10)
            while fire_reminders_job(scheduler_host):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def closer() -> None:
        try:
            start.wait(timeout=10)
            for subject_type, subject_id in subjects:
                with closing_host.app_context():
                    settle_deadline(db.session, subject_type=subject_type,
                                    subject_id=subject_id, kind=DeadlineKind.COMPLETION,
                                    met_at=None, now=now_utc())
                    db.session.commit()
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=scheduler), threading.Thread(target=closer)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with closing_host.app_context():
            session = db.session
            per_reminder = session.execute(
                sa.select(Reminder.node, Reminder.state, sa.func.count(Notification.id))
                .join(Notification, Notification.reminder_id == Reminder.id, isouter=True)
                .where(Reminder.deadline_id.in_(deadline_ids))
                .group_by(Reminder.id, Reminder.node, Reminder.state)
            ).all()
            overdue = [(state, count) for node, state, count in per_reminder if node == OVERDUE]
            assert overdue == [(ReminderState.SENT, 2)] * DEADLINES
            # The earlier nodes: sent by the scheduler (one notice) or cancelled by the close.
            assert {(state, count) for node, state, count in per_reminder if node != OVERDUE
                    } <= {(ReminderState.SENT, 1), (ReminderState.CANCELLED, 0)}
            statuses = set(session.scalars(sa.select(Deadline.status)
                                           .where(Deadline.id.in_(deadline_ids))))
            assert statuses == {DeadlineStatus.MISSED}
            assert session.scalar(sa.select(sa.func.count()).select_from(Deadline).where(
                Deadline.id.in_(deadline_ids), Deadline.closed_at.is_(None))) == 0
            recipients = Counter(session.scalars(
                sa.select(Notification.unit_id).join(Reminder)
                .where(Reminder.deadline_id.in_(deadline_ids), Reminder.node == OVERDUE)))
            assert recipients == {town_id: DEADLINES, district_id: DEADLINES}
    finally:
        for thread in threads:
            thread.join(timeout=120)
        _cleanup(scheduler_host, suffix, deadline_ids)
        for application in (scheduler_host, closing_host):
            with application.app_context():
                db.engine.dispose()
