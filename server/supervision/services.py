"""Open, close, cancel and extend deadlines; fire due reminders exactly once; fill inboxes.

Lock order, to keep PostgreSQL free of deadlocks with the scheduler: a service that changes a
deadline first updates its reminders, then the deadline row; ``fire_due_reminders`` claims
reminders, then updates their deadlines. Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from server.auth.actor import Actor
from server.core.db import is_postgres
from server.core.errors import Conflict, Invalid, NotFound, PermissionDenied
from server.core.ids import new_id
from server.supervision import queries
from server.supervision.models import Deadline, Notification, Reminder
from server.supervision.rules import (
    DEFAULT_REMINDER_FRACTIONS,
    ELAPSED_TIME,
    OVERDUE,
    OVERDUE_KIND,
    REMINDER_KIND,
    BusinessCalendar,
    DeadlineKind,
    DeadlineStatus,
    ReminderState,
    is_on_time,
    nodes_to_arm,
    reminder_audience,
    reminder_message,
    reminder_schedule,
)

# The people reading reminders are in China; clients also get the times as data.
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")
TITLE_MAX = 200


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def open_deadline(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: DeadlineKind,
    label: str,
    starts_at: datetime,
    due_at: datetime,
    unit_id: uuid.UUID,
    supervisor_unit_id: uuid.UUID | None,
    fractions: Sequence[float] = DEFAULT_REMINDER_FRACTIONS,
    overdue_grace: timedelta = timedelta(0),
    calendar: BusinessCalendar = ELAPSED_TIME,
    now: datetime,
) -> Deadline:
    """Start supervising a time limit: arm a reminder at each fraction of it (Xining: four
    nodes) and an overdue escalation ``overdue_grace`` after it.

    One open deadline per subject and kind: open a second only after closing or cancelling
    the first (``deadline_already_open`` otherwise).
    """
    [deadline] = open_deadlines(
        session, subject_type=subject_type, subject_id=subject_id, limits=((kind, due_at),),
        label=label, starts_at=starts_at, unit_id=unit_id,
        supervisor_unit_id=supervisor_unit_id, fractions=fractions, overdue_grace=overdue_grace,
        calendar=calendar, now=now)
    return deadline


def open_deadlines(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    limits: Sequence[tuple[DeadlineKind, datetime]],
    label: str,
    starts_at: datetime,
    unit_id: uuid.UUID,
    supervisor_unit_id: uuid.UUID | None,
    fractions: Sequence[float] = DEFAULT_REMINDER_FRACTIONS,
    overdue_grace: timedelta = timedelta(0),
    calendar: BusinessCalendar = ELAPSED_TIME,
    new_subject: bool = False,
    now: datetime,
) -> list[Deadline]:
    """``open_deadline`` for several kinds on one subject at once (a dispatch's response and
    completion limits), in ``limits`` order: one query checks that none is running and one
    flush writes them all, their reminders in a single multi-row INSERT.

    ``new_subject``: the subject was created in this transaction, so nothing can be running
    yet and the check is skipped (the partial unique index still stands guard).
    """
    return open_deadline_set(
        session, specs=[DeadlineSpec(subject_type, subject_id, kind, due_at, unit_id)
                        for kind, due_at in limits],
        label=label, starts_at=starts_at, supervisor_unit_id=supervisor_unit_id,
        fractions=fractions, overdue_grace=overdue_grace, calendar=calendar,
        new_subjects=new_subject, now=now)


class DeadlineSpec(NamedTuple):
    """One limit of ``open_deadline_set``: whose obligation, about what, due when."""

    subject_type: str
    subject_id: uuid.UUID
    kind: DeadlineKind
    due_at: datetime
    unit_id: uuid.UUID


def open_deadline_set(
    session: Session,
    *,
    specs: Sequence[DeadlineSpec],
    label: str,
    starts_at: datetime,
    supervisor_unit_id: uuid.UUID | None,
    fractions: Sequence[float] = DEFAULT_REMINDER_FRACTIONS,
    overdue_grace: timedelta = timedelta(0),
    calendar: BusinessCalendar = ELAPSED_TIME,
    new_subjects: bool = False,
    now: datetime,
) -> list[Deadline]:
    """Open deadlines on several subjects that start together (a whistle call's judgement:
    each named department's arrival and the lead's completion), in ``specs`` order: one
    query checks that none is running, one flush writes them all.

    ``new_subjects``: every subject was created in this transaction (see ``open_deadlines``).
    """
    grace_s = round(overdue_grace.total_seconds())
    schedules = [reminder_schedule(starts_at, spec.due_at, fractions,
                                   overdue_grace=timedelta(seconds=grace_s), calendar=calendar)
                 for spec in specs]
    if not new_subjects and specs:
        wanted = {(s.subject_type, s.subject_id, s.kind) for s in specs}
        running = session.execute(sa.select(
            Deadline.subject_type, Deadline.subject_id, Deadline.kind).where(
            Deadline.subject_id.in_({s.subject_id for s in specs}),
            Deadline.kind.in_({s.kind for s in specs}), Deadline.closed_at.is_(None)))
        for subject_type, _, kind in (r for r in running if tuple(r) in wanted):
            raise Conflict(f"A {kind.value} deadline is already running for this "
                           f"{subject_type}.", code="deadline_already_open")
    deadlines, reminders = [], []
    for spec, schedule in zip(specs, schedules, strict=True):
        deadline = Deadline(
            id=new_id(), subject_type=spec.subject_type, subject_id=spec.subject_id,
            kind=spec.kind, label=_clip(label, TITLE_MAX), unit_id=spec.unit_id,
            supervisor_unit_id=supervisor_unit_id, starts_at=starts_at, due_at=spec.due_at,
            original_due_at=spec.due_at, generation=1, fractions=[float(f) for f in fractions],
            overdue_grace_s=grace_s, calendar=calendar.name, status=DeadlineStatus.ACTIVE,
            met_at=None, escalated_at=None, closed_at=None, created_at=now,
        )
        deadlines.append(deadline)
        reminders += [{"id": new_id(), "deadline_id": deadline.id, "generation": 1, "node": node,
                       "fire_at": fire_at, "state": ReminderState.PENDING, "sent_at": None}
                      for node, fire_at in nodes_to_arm(schedule, already_sent=frozenset(),
                                                        now=now)]
    # New rows only, none of them synced: two multi-row Core INSERTs (deadlines, then their
    # reminders) instead of the unit of work's bookkeeping for a dozen objects, which was
    # most of an intake's time. Whatever the session holds is written first, as a flush
    # would have. The deadlines then join the session as loaded rows (no second INSERT);
    # their reminders load when read.
    # RETURNING makes SQLAlchemy send each batch as one INSERT with every row in its VALUES
    # ("insertmanyvalues", compiled once per process), where a plain executemany would run
    # one INSERT per row on the server.
    session.flush()
    if deadlines:
        columns = [c.key for c in Deadline.__table__.columns]
        session.execute(sa.insert(Deadline.__table__).returning(Deadline.__table__.c.id),
                        [{c: getattr(d, c) for c in columns} for d in deadlines])
    if reminders:
        session.execute(sa.insert(Reminder.__table__).returning(Reminder.__table__.c.id),
                        reminders)
    for deadline in deadlines:
        make_transient_to_detached(deadline)
        session.add(deadline)
    return deadlines


def _arm(session: Session, deadline: Deadline, schedule: list[tuple[str, datetime]], *,
         already_sent: frozenset[str], now: datetime) -> None:
    for node, fire_at in nodes_to_arm(schedule, already_sent=already_sent, now=now):
        session.add(Reminder(deadline=deadline, generation=deadline.generation, node=node,
                             fire_at=fire_at, state=ReminderState.PENDING))


def _cancel_pending(session: Session, deadline: Deadline) -> None:
    # Under PostgreSQL this waits for a scheduler that has claimed one of these rows; a
    # claimed row is 'sent' by then and stays so.
    session.execute(
        sa.update(Reminder)
        .where(Reminder.deadline_id == deadline.id, Reminder.state == ReminderState.PENDING)
        .values(state=ReminderState.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    # Reminders loaded before the update must not show a stale 'pending'.
    for reminder in session.identity_map.values():
        if isinstance(reminder, Reminder) and reminder.deadline_id == deadline.id:
            session.expire(reminder)


def close_deadline(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: DeadlineKind,
    met_at: datetime,
) -> Deadline | None:
    """The obligation was fulfilled at ``met_at``: stop its reminders and record whether it
    was on time (met when ``met_at <= due_at``, else missed). None if none was open."""
    deadline = queries.open_deadline_for(session, subject_type, subject_id, kind)
    if deadline is None:
        return None
    _cancel_pending(session, deadline)
    deadline.met_at = met_at
    deadline.closed_at = met_at
    deadline.status = (DeadlineStatus.MET if is_on_time(met_at, deadline.due_at)
                       else DeadlineStatus.MISSED)
    session.flush()
    return deadline


def cancel_deadline(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: DeadlineKind,
    now: datetime,
) -> Deadline | None:
    """The limit no longer applies (re-dispatched, returned, escalated): stop its reminders.

    A deadline already missed stays ``missed``, so the unit that missed it is still counted;
    an active one becomes ``cancelled``. None if none was open.
    """
    deadline = queries.open_deadline_for(session, subject_type, subject_id, kind)
    if deadline is None:
        return None
    _cancel_pending(session, deadline)
    deadline.closed_at = now
    if deadline.status is DeadlineStatus.ACTIVE:
        deadline.status = DeadlineStatus.CANCELLED
    session.flush()
    return deadline


def extend_deadline(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: DeadlineKind,
    new_due_at: datetime,
    now: datetime,
    calendar: BusinessCalendar = ELAPSED_TIME,
) -> Deadline:
    """An approved extension (延期): the limit moves to ``new_due_at``.

    Nodes still pending are recomputed against the new limit with the deadline's own
    fractions and grace; nodes already sent stay sent and are not sent again. One
    exception: if the overdue escalation already fired, the extended limit gets its own
    (the deadline is active again; ``escalated_at`` keeps the first miss on record).
    """
    deadline = queries.open_deadline_for(session, subject_type, subject_id, kind)
    if deadline is None:
        raise NotFound(f"No {kind.value} deadline is running for this {subject_type}.",
                       code="deadline_not_found")
    if calendar.name != deadline.calendar:
        raise ValueError(f"deadline counts with calendar {deadline.calendar!r}, "
                         f"not {calendar.name!r}")
    if new_due_at <= deadline.due_at:
        raise Invalid.for_field("new_due_at", "An extension must end later than the current "
                                "time limit.", code="deadline_extension_invalid")
    schedule = reminder_schedule(deadline.starts_at, new_due_at, deadline.fractions,
                                 overdue_grace=timedelta(seconds=deadline.overdue_grace_s),
                                 calendar=calendar)
    _cancel_pending(session, deadline)
    # Read after the cancel: a node a scheduler was sending meanwhile now shows as sent.
    sent = frozenset(session.scalars(
        sa.select(Reminder.node).where(Reminder.deadline_id == deadline.id,
                                       Reminder.state == ReminderState.SENT)
    ))
    if deadline.status is DeadlineStatus.MISSED:
        deadline.status = DeadlineStatus.ACTIVE
        sent = sent - {OVERDUE}
    deadline.due_at = new_due_at
    deadline.generation += 1
    _arm(session, deadline, schedule, already_sent=sent, now=now)
    session.flush()
    return deadline


def notify(
    session: Session,
    *,
    unit_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    kind: str,
    subject_type: str | None,
    subject_id: uuid.UUID | None,
    title: str,
    body: str,
    now: datetime,
    flush: bool = True,
) -> Notification:
    """Put a notification in a unit's inbox, or in one user's (``user_id`` set).

    For other services' events ("case dispatched to you"); it becomes visible when the
    caller's transaction commits, and reaches phones through sync. ``flush=False`` leaves
    it to the caller's next flush (a caller writing many rows at once).
    """
    if unit_id is None and user_id is None:
        raise ValueError("a notification needs a unit or a user")
    notification = Notification(
        unit_id=unit_id, user_id=user_id, kind=kind, subject_type=subject_type,
        subject_id=subject_id, title=_clip(title, TITLE_MAX), body=body, created_at=now,
    )
    session.add(notification)
    if flush:
        session.flush()
    return notification


def _claim(session: Session, *, now: datetime, limit: int) -> list[Reminder]:
    """Take up to ``limit`` due pending reminders for this transaction alone, oldest first."""
    due = sa.and_(Reminder.state == ReminderState.PENDING, Reminder.fire_at <= now)
    if is_postgres(session):
        # Rows another scheduler holds are skipped, not waited for: each process gets its
        # own batch and no row is in two batches.
        claimed = list(session.scalars(
            sa.select(Reminder).where(due).order_by(Reminder.fire_at, Reminder.id).limit(limit)
            .with_for_update(skip_locked=True, of=Reminder)
            .execution_options(populate_existing=True)
        ))
        for reminder in claimed:
            reminder.state = ReminderState.SENT
            reminder.sent_at = now
        return claimed
    # SQLite has no row locks. One conditional UPDATE is the claim: it takes the write lock
    # as the transaction's first statement (a SELECT first would leave a read snapshot that
    # SQLite refuses to upgrade once another process has written: SQLITE_BUSY_SNAPSHOT), and
    # 'state = pending' in its WHERE means a row another process sent is not taken again.
    batch = (sa.select(Reminder.id).where(due).order_by(Reminder.fire_at, Reminder.id)
             .limit(limit).scalar_subquery())
    ids = list(session.scalars(
        sa.update(Reminder)
        .where(Reminder.id.in_(batch), Reminder.state == ReminderState.PENDING)
        .values(state=ReminderState.SENT, sent_at=now)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    ))
    if not ids:
        return []
    return list(session.scalars(
        sa.select(Reminder).where(Reminder.id.in_(ids)).order_by(Reminder.fire_at, Reminder.id)
        .execution_options(populate_existing=True)
    ))


def fire_due_reminders(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Send every reminder due by ``now`` (up to ``limit``), each exactly once; the job body.

    Claim, notifications and 'sent' commit together in the caller's transaction, so a
    crash sends nothing and loses nothing: unsent reminders stay pending and fire on the
    next run, late (``sent_at`` > ``fire_at`` shows by how much). Nodes before and at 100%
    reach the responsible unit; the overdue node also reaches the supervising unit and
    marks the deadline missed. Returns how many reminders fired.
    """
    fired = 0
    for reminder in _claim(session, now=now, limit=limit):
        deadline = reminder.deadline
        if deadline.closed_at is not None or reminder.generation != deadline.generation:
            # Closing and extending cancel pending nodes in their own transaction; this only
            # guards against a row that escaped that.
            reminder.state, reminder.sent_at = ReminderState.CANCELLED, None
            continue
        _deliver(session, reminder, deadline, now=now)
        fired += 1
    session.flush()
    return fired


def _deliver(session: Session, reminder: Reminder, deadline: Deadline, *, now: datetime) -> None:
    """Put a claimed reminder in its audience's inboxes; the overdue node marks the deadline
    missed."""
    title, body = reminder_message(reminder.node, label=deadline.label, kind=deadline.kind,
                                   due_at=deadline.due_at, tz=DISPLAY_TZ)
    kind = OVERDUE_KIND if reminder.node == OVERDUE else REMINDER_KIND
    for unit_id in reminder_audience(reminder.node, deadline.unit_id,
                                     deadline.supervisor_unit_id):
        session.add(Notification(
            unit_id=unit_id, kind=kind, subject_type=deadline.subject_type,
            subject_id=deadline.subject_id, title=_clip(title, TITLE_MAX), body=body,
            created_at=now, reminder_id=reminder.id,
        ))
    if reminder.node == OVERDUE and deadline.status is DeadlineStatus.ACTIVE:
        deadline.status = DeadlineStatus.MISSED
        deadline.escalated_at = now


def _claim_overdue(session: Session, deadline: Deadline, *, now: datetime) -> Reminder | None:
    """This deadline's overdue escalation if it is due and still pending, claimed like
    ``_claim`` does (a scheduler sending it at this moment keeps it: skipped, not waited for)."""
    due = sa.and_(Reminder.deadline_id == deadline.id, Reminder.node == OVERDUE,
                  Reminder.generation == deadline.generation,
                  Reminder.state == ReminderState.PENDING, Reminder.fire_at <= now)
    if is_postgres(session):
        reminder = session.scalar(
            sa.select(Reminder).where(due).with_for_update(skip_locked=True, of=Reminder)
            .execution_options(populate_existing=True))
        if reminder is not None:
            reminder.state, reminder.sent_at = ReminderState.SENT, now
            session.flush()
        return reminder
    claimed = session.scalar(
        sa.update(Reminder).where(due).values(state=ReminderState.SENT, sent_at=now)
        .returning(Reminder.id).execution_options(synchronize_session=False))
    if claimed is None:
        return None
    return session.scalar(sa.select(Reminder).where(Reminder.id == claimed)
                          .execution_options(populate_existing=True))


def settle_deadline(
    session: Session,
    *,
    subject_type: str,
    subject_id: uuid.UUID,
    kind: DeadlineKind,
    met_at: datetime | None,
    now: datetime,
) -> Deadline | None:
    """End a deadline without losing what the scheduler had not yet sent: an overdue
    escalation whose time has come (the limit passed, the job has not run since) is sent
    now, the other pending reminders are cancelled (a "75% used" note is pointless once the
    obligation ended). Then the deadline closes as ``close_deadline`` (``met_at`` given: met
    or missed) or ``cancel_deadline`` (``met_at`` None: the limit no longer applies; one
    already missed stays missed). None if none was open."""
    deadline = queries.open_deadline_for(session, subject_type, subject_id, kind)
    if deadline is None:
        return None
    # The lock order of this module: reminders first (claim, then cancel the rest), the
    # deadline row last. Cancelling waits for a scheduler sending one of them: re-read the
    # deadline after it, so a miss that scheduler recorded is kept.
    reminder = _claim_overdue(session, deadline, now=now)
    _cancel_pending(session, deadline)
    session.refresh(deadline)
    if reminder is not None:
        _deliver(session, reminder, deadline, now=now)
    if met_at is not None:
        deadline.met_at = deadline.closed_at = met_at
        deadline.status = (DeadlineStatus.MET if is_on_time(met_at, deadline.due_at)
                           else DeadlineStatus.MISSED)
    else:
        deadline.closed_at = now
        if deadline.status is DeadlineStatus.ACTIVE:
            deadline.status = DeadlineStatus.CANCELLED
    session.flush()
    return deadline


def acknowledge(session: Session, actor: Actor, notification_id: uuid.UUID, *,
                now: datetime) -> Notification:
    """Mark a notification read, for the whole unit if it is a unit's. Acknowledging again
    changes nothing: the first reader and time are kept."""
    if actor.read_only:
        raise PermissionDenied("Auditors read inboxes but do not acknowledge notifications.")
    notification = queries.get_notification_for(session, actor, notification_id)
    if notification.acknowledged_at is None:
        # Conditional, so two people of a unit acknowledging at once keep the first.
        session.execute(
            sa.update(Notification)
            .where(Notification.id == notification.id, Notification.acknowledged_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by_user_id=actor.user_id)
            .execution_options(synchronize_session=False)
        )
        session.refresh(notification)
    return notification
