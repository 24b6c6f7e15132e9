"""Deadlines and reminders on both databases: each node fires once, closing and cancelling stop
what is left, extensions move what is still to come, and nothing is lost while no scheduler
runs. The subject is a made-up "test" one: supervision knows nothing of cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from server.core.errors import Conflict, Invalid, NotFound
from server.org.rules import UnitKind
from server.org.services import create_unit
from server.supervision import queries
from server.supervision.models import Deadline, Notification, Reminder
from server.supervision.rules import (
    OVERDUE,
    OVERDUE_KIND,
    REMINDER_KIND,
    DeadlineKind,
    DeadlineStatus,
    ReminderState,
)
from server.supervision.services import (
    cancel_deadline,
    close_deadline,
    extend_deadline,
    fire_due_reminders,
    notify,
    open_deadline,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
SUBJECT = "test"


@pytest.fixture
def units(db_session):  # noqa: ANN001, ANN201
    """A township (responsible) and its command centre (supervising)."""
    create_unit(db_session, code="SV-D", name="d", kind=UnitKind.DISTRICT, parent_code=None, now=T0)
    town = create_unit(db_session, code="SV-T", name="t", kind=UnitKind.TOWNSHIP,
                       parent_code="SV-D", now=T0)
    centre = create_unit(db_session, code="SV-CC", name="cc", kind=UnitKind.COMMAND_CENTRE,
                         parent_code="SV-T", now=T0)
    return town, centre


def open_24h(session, units, *, subject_id=None, kind=DeadlineKind.COMPLETION, **kw):  # noqa: ANN001, ANN003, ANN201
    town, centre = units
    return open_deadline(
        session, subject_type=SUBJECT, subject_id=subject_id or uuid.uuid4(), kind=kind,
        label="T-0001 broken streetlight", starts_at=T0, due_at=T0 + 24 * H, unit_id=town.id,
        supervisor_unit_id=centre.id, now=T0, **kw)


def notifications_of(session, deadline) -> list[Notification]:  # noqa: ANN001
    return list(session.scalars(
        sa.select(Notification).join(Reminder, Notification.reminder_id == Reminder.id)
        .where(Reminder.deadline_id == deadline.id)
        .order_by(Notification.created_at, Notification.unit_id)
    ))


def nodes(session, deadline, state: ReminderState | None = None) -> list[tuple[int, str]]:  # noqa: ANN001
    query = sa.select(Reminder.generation, Reminder.node).where(Reminder.deadline_id == deadline.id)
    if state is not None:
        query = query.where(Reminder.state == state)
    return [tuple(row) for row in session.execute(
        query.order_by(Reminder.generation, Reminder.fire_at))]


def test_each_node_fires_once_as_time_passes(db_session, units):
    town, centre = units
    deadline = open_24h(db_session, units)
    assert fire_due_reminders(db_session, now=T0 + 11 * H) == 0
    steps = [
        (T0 + 12 * H, ["50%"]),
        (T0 + 18 * H, ["75%"]),
        (T0 + timedelta(hours=21, minutes=36), ["90%"]),
        (T0 + 24 * H, ["100%", OVERDUE]),
    ]
    seen: list[str] = []
    for now, expected in steps:
        assert fire_due_reminders(db_session, now=now) == len(expected)
        assert fire_due_reminders(db_session, now=now) == 0  # re-running at the same time
        seen += expected
        sent = [r.node for r in db_session.scalars(
            sa.select(Reminder).where(Reminder.deadline_id == deadline.id,
                                      Reminder.state == ReminderState.SENT))]
        assert sorted(sent) == sorted(seen)
    got = [(n.kind, n.reminder.node, n.unit_id) for n in notifications_of(db_session, deadline)]
    assert sorted(got, key=str) == sorted([
        (REMINDER_KIND, "50%", town.id), (REMINDER_KIND, "75%", town.id),
        (REMINDER_KIND, "90%", town.id), (REMINDER_KIND, "100%", town.id),
        (OVERDUE_KIND, OVERDUE, town.id), (OVERDUE_KIND, OVERDUE, centre.id),
    ], key=str)
    db_session.refresh(deadline)
    assert deadline.status is DeadlineStatus.MISSED
    assert deadline.escalated_at == T0 + 24 * H
    assert fire_due_reminders(db_session, now=T0 + 100 * H) == 0
    overdue = next(n for n in notifications_of(db_session, deadline) if n.unit_id == centre.id)
    assert overdue.subject_type == SUBJECT
    assert overdue.subject_id == deadline.subject_id
    assert overdue.title == "已超时：T-0001 broken streetlight"


def test_closing_before_90_percent_means_later_nodes_never_fire(db_session, units):
    deadline = open_24h(db_session, units)
    assert fire_due_reminders(db_session, now=T0 + 19 * H) == 2  # 50% and 75%
    closed = close_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                            kind=DeadlineKind.COMPLETION, met_at=T0 + 20 * H)
    assert closed is deadline
    assert fire_due_reminders(db_session, now=T0 + 72 * H) == 0
    assert [n.reminder.node for n in notifications_of(db_session, deadline)] == ["50%", "75%"]
    assert nodes(db_session, deadline, ReminderState.CANCELLED) == [
        (1, "90%"), (1, "100%"), (1, OVERDUE)]
    assert deadline.status is DeadlineStatus.MET
    assert deadline.on_time is True
    assert deadline.met_at == deadline.closed_at == T0 + 20 * H
    assert queries.open_deadline_for(db_session, SUBJECT, deadline.subject_id,
                                     DeadlineKind.COMPLETION) is None
    # Nothing open any more: closing again is a no-op.
    assert close_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                          kind=DeadlineKind.COMPLETION, met_at=T0 + 21 * H) is None


def test_closing_after_the_limit_records_it_as_missed(db_session, units):
    deadline = open_24h(db_session, units, overdue_grace=2 * H)
    closed = close_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                            kind=DeadlineKind.COMPLETION, met_at=T0 + 25 * H)
    assert closed.status is DeadlineStatus.MISSED
    assert closed.on_time is False
    assert closed.escalated_at is None  # closed within the grace: no escalation went out
    assert fire_due_reminders(db_session, now=T0 + 30 * H) == 0


def test_an_extension_recomputes_the_pending_nodes_and_keeps_the_sent_ones(db_session, units):
    deadline = open_24h(db_session, units)
    assert fire_due_reminders(db_session, now=T0 + 12 * H) == 1  # 50%
    extended = extend_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                               kind=DeadlineKind.COMPLETION, new_due_at=T0 + 48 * H,
                               now=T0 + 13 * H)
    assert extended.due_at == T0 + 48 * H
    assert extended.original_due_at == T0 + 24 * H
    assert extended.generation == 2
    assert nodes(db_session, deadline, ReminderState.SENT) == [(1, "50%")]
    assert nodes(db_session, deadline, ReminderState.PENDING) == [
        (2, "75%"), (2, "90%"), (2, "100%"), (2, OVERDUE)]
    pending = {r.node: r.fire_at for r in db_session.scalars(sa.select(Reminder).where(
        Reminder.deadline_id == deadline.id, Reminder.state == ReminderState.PENDING))}
    assert pending == {"75%": T0 + 36 * H, "90%": T0 + timedelta(hours=43, minutes=12),
                       "100%": T0 + 48 * H, OVERDUE: T0 + 48 * H}
    # The old 75% (18 h) and 100% (24 h) are gone; the new ones fire on the new limit.
    assert fire_due_reminders(db_session, now=T0 + 30 * H) == 0
    assert fire_due_reminders(db_session, now=T0 + 48 * H) == 4
    fired = [n.reminder.node for n in notifications_of(db_session, deadline)]
    assert sorted(fired) == sorted(["50%", "75%", "90%", "100%", OVERDUE, OVERDUE])


def test_an_extension_must_end_later_and_needs_an_open_deadline(db_session, units):
    deadline = open_24h(db_session, units)
    with pytest.raises(Invalid) as caught:
        extend_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                        kind=DeadlineKind.COMPLETION, new_due_at=T0 + 24 * H, now=T0)
    assert caught.value.code == "deadline_extension_invalid"
    with pytest.raises(NotFound) as caught:
        extend_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                        kind=DeadlineKind.RESPONSE, new_due_at=T0 + 48 * H, now=T0)
    assert caught.value.code == "deadline_not_found"


def test_an_extension_approved_after_the_escalation_arms_a_new_one(db_session, units):
    deadline = open_24h(db_session, units)
    assert fire_due_reminders(db_session, now=T0 + 25 * H) == 5  # every node, late
    assert deadline.status is DeadlineStatus.MISSED
    extend_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                    kind=DeadlineKind.COMPLETION, new_due_at=T0 + 72 * H, now=T0 + 26 * H)
    assert deadline.status is DeadlineStatus.ACTIVE
    assert deadline.escalated_at == T0 + 25 * H  # the first miss stays on record
    assert nodes(db_session, deadline, ReminderState.PENDING) == [(2, OVERDUE)]
    assert fire_due_reminders(db_session, now=T0 + 72 * H) == 1
    assert deadline.status is DeadlineStatus.MISSED


def test_a_deadline_opened_late_sends_one_reminder_for_where_things_stand(db_session, units):
    deadline = open_24h(db_session, units, subject_id=uuid.uuid4())
    late = open_deadline(
        db_session, subject_type=SUBJECT, subject_id=uuid.uuid4(), kind=DeadlineKind.RESPONSE,
        label="late", starts_at=T0, due_at=T0 + 24 * H, unit_id=deadline.unit_id,
        supervisor_unit_id=None, now=T0 + 20 * H)
    assert nodes(db_session, late) == [(1, "75%"), (1, "90%"), (1, "100%"), (1, OVERDUE)]
    assert fire_due_reminders(db_session, now=T0 + 20 * H) == 3  # deadline's 50%, 75%; late's 75%
    assert [n.reminder.node for n in notifications_of(db_session, late)] == ["75%"]


def test_cancelling_stops_reminders_and_allows_a_new_deadline(db_session, units):
    first = open_24h(db_session, units)
    subject_id = first.subject_id
    with pytest.raises(Conflict) as caught:
        open_24h(db_session, units, subject_id=subject_id)
    assert caught.value.code == "deadline_already_open"
    # Another kind on the same subject is a different limit.
    open_24h(db_session, units, subject_id=subject_id, kind=DeadlineKind.RESPONSE)
    cancelled = cancel_deadline(db_session, subject_type=SUBJECT, subject_id=subject_id,
                                kind=DeadlineKind.COMPLETION, now=T0 + H)
    assert cancelled.status is DeadlineStatus.CANCELLED
    assert cancelled.closed_at == T0 + H
    assert nodes(db_session, first, ReminderState.PENDING) == []
    second = open_24h(db_session, units, subject_id=subject_id)  # e.g. re-dispatched
    assert queries.open_deadline_for(db_session, SUBJECT, subject_id,
                                     DeadlineKind.COMPLETION) is second
    assert queries.deadline_for(db_session, SUBJECT, subject_id, DeadlineKind.COMPLETION) is second
    assert [d.id for d in queries.deadlines_of(db_session, SUBJECT, subject_id)
            if d.kind is DeadlineKind.COMPLETION] == [first.id, second.id]
    assert cancel_deadline(db_session, subject_type=SUBJECT, subject_id=uuid.uuid4(),
                           kind=DeadlineKind.COMPLETION, now=T0) is None


def test_cancelling_a_missed_deadline_keeps_it_missed(db_session, units):
    deadline = open_24h(db_session, units)
    fire_due_reminders(db_session, now=T0 + 25 * H)
    cancel_deadline(db_session, subject_type=SUBJECT, subject_id=deadline.subject_id,
                    kind=DeadlineKind.COMPLETION, now=T0 + 26 * H)
    assert deadline.status is DeadlineStatus.MISSED
    assert deadline.closed_at == T0 + 26 * H


def test_reminders_due_while_no_scheduler_ran_fire_on_the_next_run(db_session, units):
    deadline_ids = [open_24h(db_session, units).id for _ in range(3)]
    db_session.commit()  # a savepoint here: the state a restarted process finds
    db_session.expunge_all()  # nothing carried over in memory
    restart = T0 + 3 * 24 * H
    assert fire_due_reminders(db_session, now=restart) == 15
    for deadline_id in deadline_ids:
        deadline = db_session.get(Deadline, deadline_id)
        reminders = list(db_session.scalars(
            sa.select(Reminder).where(Reminder.deadline_id == deadline_id)))
        assert {r.state for r in reminders} == {ReminderState.SENT}
        # Late, and visibly so: fire_at kept, sent_at is when the run happened.
        assert all(r.sent_at == restart and r.fire_at < restart for r in reminders)
        assert len(notifications_of(db_session, deadline)) == 6


def test_a_run_sends_at_most_its_limit_oldest_first(db_session, units):
    early = open_24h(db_session, units)
    later = open_deadline(
        db_session, subject_type=SUBJECT, subject_id=uuid.uuid4(), kind=DeadlineKind.RESPONSE,
        label="later", starts_at=T0 + 20 * H, due_at=T0 + 44 * H, unit_id=early.unit_id,
        supervisor_unit_id=None, now=T0)
    assert fire_due_reminders(db_session, now=T0 + 48 * H, limit=4) == 4
    assert len(nodes(db_session, early, ReminderState.SENT)) == 4  # all before later's first
    assert nodes(db_session, later, ReminderState.SENT) == []
    assert fire_due_reminders(db_session, now=T0 + 48 * H, limit=4) == 4
    assert fire_due_reminders(db_session, now=T0 + 48 * H, limit=4) == 2
    assert fire_due_reminders(db_session, now=T0 + 48 * H, limit=4) == 0


def test_the_same_node_cannot_notify_a_unit_twice(db_session, units):
    deadline = open_24h(db_session, units)
    fire_due_reminders(db_session, now=T0 + 12 * H)
    [sent] = notifications_of(db_session, deadline)
    db_session.add(Notification(unit_id=sent.unit_id, kind=REMINDER_KIND, title="again", body="",
                                created_at=T0, reminder_id=sent.reminder_id))
    with pytest.raises(sa.exc.IntegrityError), db_session.begin_nested():
        db_session.flush()


def test_notify_reaches_a_unit_or_a_user(db_session, units):
    town, _ = units
    unit_note = notify(db_session, unit_id=town.id, kind="case_dispatched", subject_type=SUBJECT,
                       subject_id=uuid.uuid4(), title="New case " + "x" * 300, body="b", now=T0)
    assert unit_note.user_id is None
    assert len(unit_note.title) == 200
    with pytest.raises(ValueError, match="unit or a user"):
        notify(db_session, kind="x", subject_type=None, subject_id=None, title="t", body="b",
               now=T0)


def test_overdue_lists_open_deadlines_past_their_due_time(db_session, units):
    town, _ = units
    late = open_24h(db_session, units)
    met = open_24h(db_session, units)
    close_deadline(db_session, subject_type=SUBJECT, subject_id=met.subject_id,
                   kind=DeadlineKind.COMPLETION, met_at=T0 + H)
    assert queries.overdue(db_session, now=T0 + 23 * H) == []
    assert queries.overdue(db_session, now=T0 + 25 * H) == [late]
    assert queries.overdue(db_session, now=T0 + 25 * H, unit_ids=[uuid.uuid4()]) == []
    assert queries.overdue(db_session, now=T0 + 25 * H, unit_ids=[town.id],
                           subject_type=SUBJECT) == [late]
    subjects = db_session.scalars(queries.overdue_subject_ids(SUBJECT, now=T0 + 25 * H)).all()
    assert subjects == [late.subject_id]


def test_deadline_rows_keep_their_policy_for_later_extensions(db_session, units):
    deadline = open_24h(db_session, units, fractions=(0.25, 0.5),
                        overdue_grace=timedelta(minutes=30))
    db_session.expire_all()
    stored = db_session.get(Deadline, deadline.id)
    assert stored.fractions == [0.25, 0.5]
    assert stored.overdue_grace_s == 1800
    assert stored.calendar == "elapsed"
    extend_deadline(db_session, subject_type=SUBJECT, subject_id=stored.subject_id,
                    kind=DeadlineKind.COMPLETION, new_due_at=T0 + 48 * H, now=T0 + H)
    assert dict(db_session.execute(sa.select(Reminder.node, Reminder.fire_at).where(
        Reminder.deadline_id == stored.id, Reminder.state == ReminderState.PENDING)).all()) == {
        "25%": T0 + 12 * H, "50%": T0 + 24 * H, OVERDUE: T0 + 48 * H + timedelta(minutes=30)}
