"""Track storage over time: monthly partitions made ahead and dropped past retention on
PostgreSQL, old fixes deleted on SQLite; the scheduler job that runs it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from server.jobs import TRACK_MAINTENANCE_JOB_ID, build_scheduler, track_maintenance_job
from server.org.models import User
from server.org.rules import UnitKind
from server.org.services import create_unit
from server.staff.models import TrackFix
from server.staff.track_partitions import (
    DEFAULT_PARTITION,
    add_months,
    is_partition_name,
    is_partitioned,
    maintain,
    partitions,
)

NOW = datetime(2031, 5, 15, 8, 0, tzinfo=UTC)


def _person(session) -> uuid.UUID:  # noqa: ANN001
    unit = create_unit(session, code=f"TP-{uuid.uuid4().hex[:6]}", name="d",
                       kind=UnitKind.DISTRICT, parent_code=None, now=NOW)
    user = User(id=uuid.uuid4(), username=f"tp.{uuid.uuid4().hex[:8]}", display_name="p",
                password_hash="!", unit_id=unit.id, is_active=True, created_at=NOW)
    session.add(user)
    session.flush()
    return user.id


def _fix(session, user_id: uuid.UUID, at: datetime) -> None:  # noqa: ANN001
    session.add(TrackFix(user_id=user_id, fixed_at=at, lon=116.4, lat=39.9, accuracy_m=5.0,
                         speed_mps=1.0, received_at=at))
    session.flush()


def _stored(session, user_id: uuid.UUID) -> list[datetime]:  # noqa: ANN001
    return list(session.scalars(sa.select(TrackFix.fixed_at).where(TrackFix.user_id == user_id)
                                .order_by(TrackFix.fixed_at)))


def test_maintenance_keeps_retention_months_and_makes_the_next_ones(db_session):
    person = _person(db_session)
    old, kept, current = (datetime(2031, 1, 31, 23, tzinfo=UTC), datetime(2031, 2, 1, tzinfo=UTC),
                          datetime(2031, 5, 15, 7, tzinfo=UTC))
    for at in (old, kept, current):
        _fix(db_session, person, at)  # no partition for 2031 yet: the default one holds them

    done = maintain(db_session, now=NOW, retention_months=3)

    # Retention: three whole months before May 2031, i.e. February, March and April.
    assert _stored(db_session, person) == [kept, current]
    if is_partitioned(db_session):
        assert done.created == ["track_fixes_y2031m05", "track_fixes_y2031m06",
                                "track_fixes_y2031m07"]
        names = partitions(db_session)
        # The migration's months (from when it ran) are long past retention: dropped.
        assert done.dropped
        assert all(names.get(n) is None for n in done.dropped)
        assert set(names) == {DEFAULT_PARTITION, *done.created}
        assert done.deleted == 1  # the January fix, from the default partition
        # The May fix moved from the default partition into May's.
        in_may = db_session.execute(sa.text(
            "SELECT count(*) FROM track_fixes_y2031m05 WHERE user_id = :u"),
            {"u": person}).scalar()
        assert in_may == 1
    else:
        assert (done.created, done.dropped, done.deleted) == ([], [], 1)

    again = maintain(db_session, now=NOW, retention_months=3)
    assert (again.created, again.dropped, again.deleted) == ([], [], 0)
    _fix(db_session, person, datetime(2031, 7, 31, 23, 59, tzinfo=UTC))  # two months ahead


def test_retention_zero_keeps_every_fix(db_session):
    person = _person(db_session)
    _fix(db_session, person, add_months(datetime(2020, 1, 1, tzinfo=UTC), 0))
    done = maintain(db_session, now=NOW, retention_months=0)
    assert done.dropped == []
    assert done.deleted == 0
    assert len(_stored(db_session, person)) == 1


def test_partition_names_are_told_apart_from_tables():
    assert is_partition_name("track_fixes_y2026m12")
    assert is_partition_name(DEFAULT_PARTITION)
    assert not is_partition_name("track_fixes")
    assert not is_partition_name("track_fixes_y2026m1")
    assert add_months(datetime(2026, 11, 1, tzinfo=UTC), 3) == datetime(2027, 2, 1, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 1, tzinfo=UTC), -1) == datetime(2025, 12, 1, tzinfo=UTC)


def test_the_scheduler_runs_track_maintenance_under_a_lock(app, db_session):
    job = build_scheduler(app, BackgroundScheduler).get_job(TRACK_MAINTENANCE_JOB_ID)
    assert job.func is track_maintenance_job
    assert job.trigger.interval == timedelta(seconds=app.config["TRACK_MAINTENANCE_INTERVAL_S"])
    assert job.max_instances == 1
    done = job.func(*job.args)
    assert done is not None  # nobody else held the lock
    assert done.dropped == []  # this month's partitions are within retention
