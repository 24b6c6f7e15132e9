"""Failed sign-ins per account, in the database so that every host sees the same count.

One row per username that failed recently (existing or not, so that the answers do not
reveal which usernames exist); a successful sign-in or an admin's lift deletes it. The
count is bumped with one atomic upsert, so concurrent failures on several hosts all count.
The row is written in the request's transaction, which the boundary keeps although the
answer is a 401 (``KEEP_ON_ERROR``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.auth.actor import Actor
from server.auth.rules import SignInPolicy, SignInRefusal, refusal
from server.core.db import Base, UTCDateTime, is_postgres
from server.core.errors import NotFound, TooMany
from server.core.i18n import _
from server.core.trail import record_change
from server.org.models import User
from server.org.rules import MANAGE_USERS

KEEP_ON_ERROR = "gridops.keep_on_error"  # session.info flag: commit although the answer fails


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInLocked(TooMany):
    code = "sign_in_locked"


class SignInThrottled(TooMany):
    code = "sign_in_throttled"


class SignInLockNotFound(NotFound):
    code = "sign_in_lock_not_found"


def check(session: Session, username: str, policy: SignInPolicy, *, now: datetime) -> None:
    """Refuse a try at a locked or backing-off account, before its password is hashed."""
    row = session.get(SignInFailure, username)
    if row is None:
        return
    found = refusal(policy, failures=row.failures, last_failed_at=row.last_failed_at,
                    locked_until=row.locked_until, now=now)
    if found is not None:
        raise _refused(found)


def _refused(found: SignInRefusal) -> TooMany:
    if found.code == "sign_in_locked":
        return SignInLocked(_("Too many wrong passwords: this account is locked. Try again "
                              "in {seconds} seconds or ask an administrator to unlock it."
                              ).format(seconds=found.retry_after_s),
                            retry_after_s=found.retry_after_s)
    return SignInThrottled(_("Too many wrong passwords: wait {seconds} seconds before the "
                             "next try.").format(seconds=found.retry_after_s),
                           retry_after_s=found.retry_after_s)


def record_failure(session: Session, username: str, policy: SignInPolicy, *,
                   now: datetime) -> int:
    """Count one failure (atomically, whichever host) and lock at the threshold; the count."""
    table = SignInFailure.__table__
    insert = (postgresql.insert if is_postgres(session) else sqlite.insert)(table)
    stale = sa.and_(table.c.last_failed_at < now - policy.window,
                    sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now))
    statement = insert.values(username=username, failures=1, first_failed_at=now,
                              last_failed_at=now, locked_until=None).on_conflict_do_update(
        index_elements=[table.c.username],
        set_={"failures": sa.case((stale, 1), else_=table.c.failures + 1),
              "first_failed_at": sa.case((stale, now), else_=table.c.first_failed_at),
              "last_failed_at": now},
    ).returning(table.c.failures)
    failures = session.execute(statement).scalar_one()
    if failures >= policy.lock_after:
        session.execute(sa.update(table).where(
            table.c.username == username,
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        ).values(locked_until=now + policy.lock_duration))
    session.info[KEEP_ON_ERROR] = True
    return failures


def forget(session: Session, username: str) -> None:
    """A successful sign-in starts the count again."""
    session.execute(sa.delete(SignInFailure).where(SignInFailure.username == username))


def prune_unknown(session: Session, policy: SignInPolicy, *, now: datetime,
                  older_than: timedelta) -> int:
    """Delete the rows of usernames no account has, once their last failure is older than
    ``older_than`` (never less than the failure window) and no lock holds; how many.

    Guessed and mistyped usernames would otherwise stay forever. A row past the window and
    unlocked counts as no row (the next failure starts at 1), so no answer changes: an
    unknown username is still counted and refused like a real one. Rows of real accounts
    stay (an admin sees their history until a sign-in or a lift clears it)."""
    table = SignInFailure.__table__
    cutoff = now - max(older_than, policy.window)
    result = session.execute(sa.delete(table).where(
        table.c.last_failed_at < cutoff,
        sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        ~sa.exists().where(User.username == table.c.username)))
    return result.rowcount


@dataclass(frozen=True)
class SignInLock:
    username: str
    user: User | None
    failures: int
    first_failed_at: datetime
    last_failed_at: datetime
    locked_until: datetime


def list_locks(session: Session, actor: Actor, *, now: datetime) -> list[SignInLock]:
    """Accounts locked now, the longest-locked first (admins)."""
    actor.require(MANAGE_USERS, _("see locked sign-ins"))
    rows = session.execute(
        sa.select(SignInFailure, User)
        .outerjoin(User, User.username == SignInFailure.username)
        .where(SignInFailure.locked_until > now)
        .order_by(SignInFailure.locked_until, SignInFailure.username)).all()
    return [SignInLock(f.username, user, f.failures, f.first_failed_at, f.last_failed_at,
                       f.locked_until) for f, user in rows]


def lift_lock(session: Session, actor: Actor, username: str, *, now: datetime) -> None:
    """Unlock an account and forget its failures (admins); recorded in the trail."""
    actor.require(MANAGE_USERS, _("unlock sign-ins"))
    row = session.get(SignInFailure, username)
    if row is None:
        raise SignInLockNotFound(_("No failed sign-ins are recorded for '{username}'.").format(
            username=username))
    user = session.scalar(sa.select(User).where(User.username == username))
    record_change(session, actor, "user.sign_in_unlocked", user.id if user else None,
                  code=username,
                  before={"failures": row.failures, "locked_until": row.locked_until},
                  after={"failures": 0, "locked_until": None}, now=now)
    session.delete(row)
    session.flush()
