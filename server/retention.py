"""Residents' personal data over time: the reporting resident's contact data leaves a case
``retention_days`` after it closed.

China's Personal Information Protection Law keeps personal information only "for the
shortest time the purpose needs" (Art. 19) and has the handler delete it once the purpose
is achieved or the retention period has passed (Art. 47). The contact is needed to handle
the case, to call the resident back and for the spot-check re-calls and disputes about a
rating that follow; the figures (三率, rankings, unit statistics, repeat complaints) need
none of it. So, for a case closed more than ``retention_days`` ago:

- ``cases.resident_name`` and ``resident_phone`` become NULL and ``resident_data_erased_at``
  says when; the Open311 side (``email``, ``device_id``, ``account_id`` and the attributes
  the resident's app sent) is cleared too;
- the free text the resident gave goes too, since it is where a resident names people,
  flats and phone numbers: the appeal's ``description`` becomes empty, an Open311 case's
  title keeps only its service name (the rest is the first line of the resident's text),
  and each callback's comment (the resident's feedback, as the agent wrote it down) is
  cleared on its rating, in the callback's timeline entry and in the re-handling notice
  that quoted it;
- everything else stays: status, times, units, place, ratings, the timeline, and the
  officials' own work text (the 12345 operator's title, dispatch, return and completion
  notes: the record of the work, which the archive keeps; it is not scanned for names);
- cases that had the same phone share an opaque ``resident_ref`` (random, written at the
  first erasure that touches the phone, on every case that still has it), so the repeat
  complaints by phone of a past period count the same after erasure
  (``server.reports.repeats`` groups by the reference where there is one);
- the change is an ORM update of the case, so the sync change feed carries it: a phone that
  still holds the case receives it without the name and phone (or as deleted, when the case
  has left its scope);
- each batch that erased anything leaves one ``resident_data.erased`` row in the trail of
  administrative changes: who (``system``; the note says scheduler or command line), when,
  how many cases and Open311 requests, and the cut-off.

Several schedulers may run it at once: a run takes a PostgreSQL advisory lock (the others
skip), picks its cases with ``FOR UPDATE SKIP LOCKED`` and erases only what is not erased
yet, so a case is erased once and the trail counts it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import Case, CaseEvent, CaseRating
from server.cases.rules import Action, CaseStatus
from server.cases.services import SUBJECT
from server.core.db import is_postgres
from server.core.trail import ActorLike, record_change
from server.open311.models import Open311Request
from server.open311.rules import title_without_resident_text
from server.supervision.models import Notification

# pg_try_advisory_xact_lock key of an erasure run (any constant bigint of our own).
ERASURE_LOCK_KEY = 0x6772_6964_7069_706C  # "gridpipl"
BATCH = 500


@dataclass(frozen=True)
class Erasure:
    """What one run erased (or, on a dry run, would erase)."""

    closed_before: datetime
    cases: int
    open311_requests: int
    dry_run: bool = False
    skipped: bool = False  # another process was running an erasure


def _due(closed_before: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Case.status == CaseStatus.CLOSED, Case.closed_at < closed_before,
                   Case.resident_data_erased_at.is_(None))


def _claim(session: Session) -> bool:
    """True if this run may go ahead: on PostgreSQL nobody else holds the advisory lock (it
    is released when the transaction ends); SQLite has one writer at a time anyway."""
    if not is_postgres(session):
        return True
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(ERASURE_LOCK_KEY))))


def count_due(session: Session, *, now: datetime, retention_days: float) -> Erasure:
    """What a run would erase now, writing nothing (``gridops erase-resident-data --dry-run``)."""
    closed_before = now - timedelta(days=retention_days)
    cases = session.scalar(sa.select(sa.func.count()).select_from(Case)
                           .where(_due(closed_before))) or 0
    requests = session.scalar(sa.select(sa.func.count()).select_from(Open311Request).join(
        Case, Case.id == Open311Request.case_id).where(_due(closed_before))) or 0
    return Erasure(closed_before, cases, requests, dry_run=True)


def _keep_repeat_links(session: Session, phones: set[str]) -> None:
    """Give every case that still has one of ``phones`` the phone's opaque reference (the one
    a case of it already carries, else a new one). Core statements: the reference never
    travels to phones, so the change feed need not carry it."""
    table = Case.__table__
    for phone in sorted(phones):
        ref = session.scalar(sa.select(table.c.resident_ref).where(
            table.c.resident_phone == phone, table.c.resident_ref.is_not(None)).limit(1))
        session.execute(sa.update(table).where(
            table.c.resident_phone == phone, table.c.resident_ref.is_(None))
            .values(resident_ref=ref or uuid.uuid4().hex))


def _erase_batch(session: Session, closed_before: datetime, *, now: datetime,
                 limit: int) -> tuple[int, int]:
    rows = session.execute(
        sa.select(Case.id, Case.resident_phone).where(_due(closed_before))
        .order_by(Case.closed_at, Case.id).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if not rows:
        return 0, 0
    ids = [row.id for row in rows]
    _keep_repeat_links(session, {row.resident_phone for row in rows if row.resident_phone})
    # An ORM bulk update, so that the sync change feed records each case (sync.feed); the
    # version moves like any other change of the case.
    session.execute(
        sa.update(Case).where(Case.id.in_(ids)).values(
            resident_name=None, resident_phone=None, resident_data_erased_at=now,
            version=Case.version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    requests = session.execute(
        sa.update(Open311Request).where(Open311Request.case_id.in_(ids)).values(
            email=None, device_id=None, account_id=None, attributes={})
        .execution_options(synchronize_session=False)).rowcount
    _erase_free_text(session, ids)
    return len(ids), requests


def _erase_free_text(session: Session, ids: list[uuid.UUID]) -> None:
    """The resident's own words on the cases ``ids``: the appeal, the Open311 title's tail,
    the callback comments wherever they were copied. Officials' notes stay."""
    session.execute(sa.update(Case).where(Case.id.in_(ids)).values(description="")
                    .execution_options(synchronize_session=False))
    for case_id, title in session.execute(
            sa.select(Case.id, Case.title).join(Open311Request, Open311Request.case_id == Case.id)
            .where(Case.id.in_(ids))).all():
        session.execute(sa.update(Case).where(Case.id == case_id)
                        .values(title=title_without_resident_text(title))
                        .execution_options(synchronize_session=False))
    session.execute(sa.update(CaseRating).where(
        CaseRating.case_id.in_(ids), CaseRating.comment.is_not(None)).values(comment=None))
    # The timeline is append-only for people; the law's erasure is the one edit it gets.
    events = session.execute(sa.select(CaseEvent.id, CaseEvent.data).where(
        CaseEvent.case_id.in_(ids), CaseEvent.action == Action.CALLBACK.value)).all()
    for event_id, data in events:
        if (data or {}).get("comment") is not None:
            session.execute(sa.update(CaseEvent).where(CaseEvent.id == event_id)
                            .values(data={**data, "comment": None}))
    session.execute(sa.update(Notification).where(
        Notification.subject_type == SUBJECT, Notification.subject_id.in_(ids),
        Notification.kind == "case_rehandle").values(body=""))


def erase_resident_data(session: Session, actor: ActorLike | None, *, now: datetime,
                        retention_days: float, limit: int = BATCH,
                        note: str | None = None) -> Erasure:
    """Erase the contact data of up to ``limit`` cases closed more than ``retention_days``
    before ``now`` (oldest first), in the caller's transaction, and record it in the trail
    when anything was erased. A caller repeats it, a transaction each, until it erases fewer
    than ``limit``: a large backlog never holds its locks for long. ``actor`` None is the
    system (the scheduler, the CLI).
    """
    if retention_days <= 0:
        raise ValueError("retention_days must be positive (0 means: never erase)")
    closed_before = now - timedelta(days=retention_days)
    if not _claim(session):
        return Erasure(closed_before, 0, 0, skipped=True)
    cases, requests = _erase_batch(session, closed_before, now=now, limit=limit)
    if cases:
        record_change(session, actor, "resident_data.erased", None,
                      after={"cases": cases, "open311_requests": requests,
                             "closed_before": closed_before, "retention_days": retention_days},
                      note=note, now=now)
    return Erasure(closed_before, cases, requests)
