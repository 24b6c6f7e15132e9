"""Reading the personal-data access log: who saw whose data, when and why (auditors, admins).

The log is written where residents' data is shown (``queries.log_personal_data_access``);
only auditors and admins read it, since it is itself a map of who looked at whom.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.auth.actor import Actor
from server.cases.models import Case, PersonalDataAccess
from server.core.cursors import decode_time_cursor, encode_cursor
from server.core.i18n import _
from server.org.models import User
from server.org.rules import Role

READ_ACCESS_LOG = frozenset({Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True)
class AccessEntry:
    access: PersonalDataAccess
    user: User
    case_number: str
    resident_name: str | None
    resident_phone: str | None


@dataclass(frozen=True)
class AccessPage:
    items: list[AccessEntry]
    next_cursor: str | None


def access_log(session: Session, actor: Actor, *, case_id: uuid.UUID | None = None,
               user_id: uuid.UUID | None = None, purpose: str | None = None,
               at_from: datetime | None = None, at_to: datetime | None = None,
               limit: int = 50, cursor: str | None = None) -> AccessPage:
    """Newest first by (at, id), keyset-paginated; filtered by case, user, purpose, time."""
    actor.require(READ_ACCESS_LOG, _("read the personal-data access log"))
    query = (sa.select(PersonalDataAccess, User, Case.number, Case.resident_name,
                       Case.resident_phone)
             .join(User, PersonalDataAccess.user_id == User.id)
             .join(Case, PersonalDataAccess.case_id == Case.id))
    if case_id is not None:
        query = query.where(PersonalDataAccess.case_id == case_id)
    if user_id is not None:
        query = query.where(PersonalDataAccess.user_id == user_id)
    if purpose is not None:
        query = query.where(PersonalDataAccess.purpose == purpose)
    if at_from is not None:
        query = query.where(PersonalDataAccess.at >= at_from)
    if at_to is not None:
        query = query.where(PersonalDataAccess.at < at_to)
    if cursor is not None:
        at, after_id = decode_time_cursor(cursor)
        query = query.where(sa.or_(
            PersonalDataAccess.at < at,
            sa.and_(PersonalDataAccess.at == at, PersonalDataAccess.id < after_id)))
    rows = session.execute(query.order_by(PersonalDataAccess.at.desc(),
                                          PersonalDataAccess.id.desc()).limit(limit + 1)).all()
    entries = [AccessEntry(*row) for row in rows]
    last = entries[limit - 1].access if len(entries) > limit else None
    return AccessPage(entries[:limit], encode_cursor(last.at, last.id) if last else None)
