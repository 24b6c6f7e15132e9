"""A create request sent again while its first copy is still running.

A phone on a weak network retries before the first answer arrives. Both copies look their
``client_request_id`` up, find nothing, and go on to write; the unique index on the id lets
one in and makes the other's flush fail. That loser's transaction is spoilt (it holds a
half-made twin), so only the request boundary can recover: roll it back, then answer as a
retry that came a moment later is answered, with the record the winner made (200), or
``idempotency_key_reused`` if the id was someone else's. Nothing is added to a request
that does not race: the recovery runs only on the unique violation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")


def once_per_request_id(session: Session, request_id: str | None, *,
                        create: Callable[[], T], retried: Callable[[], T | None],
                        column: str = "client_request_id") -> T:
    """``create()``; if it lost the race for ``request_id`` on the unique ``column``, the
    rollback and ``retried()`` (which finds the winner's record, or refuses the id)."""
    try:
        return create()
    except IntegrityError as exc:
        # Both databases name the column in a unique violation: PostgreSQL "Key
        # (client_request_id)=…", SQLite "UNIQUE constraint failed: cases.client_request_id".
        if not request_id or column not in str(exc.orig):
            raise
        # The twin's record is committed: the unique index made this one wait for it.
        session.rollback()
        answer = retried()
        if answer is None:
            raise
        return answer
