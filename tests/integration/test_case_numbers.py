"""Human case numbers: per local year, never repeated, and on PostgreSQL taken without a lock
that makes one intake wait for another's commit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.cases.models import CaseNumberCounter
from server.cases.numbers import next_case_number
from server.extensions import db

NEW_YEARS_EVE_UTC = datetime(2030, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2031 in Beijing


def test_numbers_count_per_beijing_year_and_grow(db_session):
    first = next_case_number(db_session, NEW_YEARS_EVE_UTC)
    second = next_case_number(db_session, NEW_YEARS_EVE_UTC)
    assert re.fullmatch(r"2031-\d{7}", first), first
    assert int(second[5:]) > int(first[5:])


def test_a_year_goes_on_after_the_numbers_already_given(db_session):
    # A database upgraded from the counter-row numbering: the year's sequence starts after it.
    on_postgres = db_session.get_bind().dialect.name == "postgresql"
    if on_postgres:  # the sequence is made on a connection of its own: it reads committed rows
        with db.engine.begin() as conn:
            conn.execute(sa.insert(CaseNumberCounter).values(year=2033, value=41))
    else:
        db_session.add(CaseNumberCounter(year=2033, value=41))
        db_session.flush()
    try:
        assert next_case_number(db_session, datetime(2033, 6, 1, tzinfo=UTC)) == "2033-0000042"
    finally:
        if on_postgres:
            with db.engine.begin() as conn:
                conn.execute(sa.delete(CaseNumberCounter).where(CaseNumberCounter.year == 2033))


@pytest.mark.concurrency
def test_an_intake_does_not_wait_for_another_intakes_commit(committing_postgis_app):
    """With a counter row, the second transaction would block until the first commits (and
    hit the statement timeout here); with the sequence it goes straight through."""
    with committing_postgis_app.app_context():
        engine = db.engine
        when = datetime(2032, 3, 1, tzinfo=UTC)
        with Session(engine) as first, Session(engine) as second:
            held = next_case_number(first, when)  # its transaction stays open
            second.execute(sa.text("SET LOCAL statement_timeout = '2s'"))
            taken = next_case_number(second, when)
            second.commit()
            first.rollback()  # the first intake fails: its number is burnt, never reused
            after = next_case_number(second, when)
            second.commit()
        assert len({held, taken, after}) == 3
        assert int(held[5:]) < int(taken[5:]) < int(after[5:])
