"""Human case numbers, ``YYYY-NNNNNNN``, counted per local (Beijing) calendar year.

On PostgreSQL each year has a sequence (``case_numbers_2026``). ``nextval`` holds no lock
until commit, so concurrent intakes never queue behind one another; a counter row did, and
capped intake at one request per transaction's length whatever the number of workers. The
price is gaps: a rolled-back intake burns its number. Numbers identify a case to a person on
the phone; they do not count cases (reports count rows), so gaps are harmless.

A year's sequence is made the first time a number of that year is asked for, on a connection
of its own in autocommit, so that a request which then rolls back does not take the sequence
with it. It starts after the highest number already given that year (by the counter rows of
earlier versions, or present in ``cases``), so upgrading never repeats a number.

On SQLite, which lets one writer in at a time anyway, a counter row per year: no gaps.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import CaseNumberCounter
from server.core.clock import LOCAL_TZ
from server.core.db import is_postgres

DIGITS = 7


def sequence_name(year: int) -> str:
    return f"case_numbers_{year}"


def format_number(year: int, value: int) -> str:
    return f"{year}-{value:0{DIGITS}d}"


def next_case_number(session: Session, now: datetime) -> str:
    year = now.astimezone(LOCAL_TZ).year
    if is_postgres(session):
        return format_number(year, _from_sequence(session, year))
    return format_number(year, _from_counter(session, year))


def _from_sequence(session: Session, year: int) -> int:
    # Found through pg_class (read with the statement's snapshot) rather than by name
    # (to_regclass, 'name'::regclass): a name lookup without a lock keeps a stale "no such
    # relation" for the rest of the transaction, so the sequence made a moment ago on
    # another connection would stay invisible. No row means no sequence yet; nothing aborts.
    take = sa.text(
        "SELECT nextval(c.oid::regclass) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = :name AND c.relkind = 'S' AND n.nspname = current_schema()"
    ).bindparams(name=sequence_name(year))
    value = session.execute(take).scalar()
    if value is None:
        _create_sequence(session.get_bind().engine, year)
        value = session.execute(take).scalar_one()
    return int(value)


def _create_sequence(engine: sa.Engine, year: int) -> None:
    name = sequence_name(year)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        given = conn.execute(
            sa.text("SELECT greatest("
                    " (SELECT value FROM case_number_counters WHERE year = :year),"
                    " (SELECT max(substr(number, 6)::bigint) FROM cases WHERE number LIKE :like))"),
            {"year": year, "like": f"{year}-%"},
        ).scalar()
        # Another process creating it at the same moment makes ours fail: use theirs.
        with contextlib.suppress(sa.exc.IntegrityError):
            # The name is ours (a year), never a client's: safe to format into DDL.
            conn.exec_driver_sql(
                f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {(given or 0) + 1}")


def _from_counter(session: Session, year: int) -> int:
    updated = session.execute(
        sa.update(CaseNumberCounter).where(CaseNumberCounter.year == year)
        .values(value=CaseNumberCounter.value + 1).returning(CaseNumberCounter.value)
    ).scalar()
    if updated is not None:
        return updated
    try:
        with session.begin_nested():
            session.add(CaseNumberCounter(year=year, value=1))
        return 1
    except sa.exc.IntegrityError:  # another intake created this year's row first
        return _from_counter(session, year)
