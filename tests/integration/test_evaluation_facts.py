"""The SQL of the 三率 against a plain-Python reading of the counting rules, on both databases.

Random cases, callbacks and response limits are written straight to the tables around one
month (some before, some after it; exemptions and links before, in and after it); the
per-unit counts of ``server.reports.facts`` must equal the rules applied row by row.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest

from server.cases.models import Case, CaseRating
from server.cases.rules import AppealType, CaseStatus, Channel, RatingSource, Satisfaction, Urgency
from server.reports import facts
from server.reports.periods import parse
from server.reports.scoring import Counts
from server.supervision.models import Deadline
from server.supervision.rules import DeadlineKind, DeadlineStatus

MONTH = parse("month", "2027-04")


def _at(rng: random.Random) -> datetime:
    """A time from 10 days before the month to 10 days after it."""
    span = (MONTH.end_utc - MONTH.start_utc) + timedelta(days=20)
    return MONTH.start_utc - timedelta(days=10) + span * rng.random()


def _maybe(rng: random.Random, p: float) -> datetime | None:
    return _at(rng) if rng.random() < p else None


def build(db_session, units, rng: random.Random):  # noqa: ANN001, ANN201
    cases, ratings, deadlines = [], [], []
    for n in range(60):
        case = Case(number=f"F{rng.getrandbits(40)}-{n}", channel=Channel.INTERNET,
                    appeal_type=AppealType.COMPLAINT, title="t", description="d",
                    urgency=Urgency.NORMAL, status=CaseStatus.CLOSED, received_at=_at(rng),
                    updated_at=_at(rng), exempted_at=_maybe(rng, 0.15), linked_at=_maybe(rng, 0.1))
        db_session.add(case)
        cases.append(case)
    db_session.flush()
    for case in cases:
        times = sorted(_at(rng) for _ in range(rng.choice([0, 1, 1, 2, 3])))
        for seq, at in enumerate(times, start=1):
            ratings.append(CaseRating(
                case_id=case.id, seq=seq, recorded_at=at, rated_at=at,
                lead_unit_id=rng.choice(units), resolved=rng.random() < 0.8,
                satisfaction=rng.choice(list(Satisfaction)), double_yes=False,
                source=RatingSource.SUPERVISOR, rehandle_count=seq - 1))
        for _ in range(rng.choice([0, 1, 2])):
            due = _at(rng)
            met = due + timedelta(hours=rng.uniform(-30, 10)) if rng.random() < 0.7 else None
            closed = met or (due + timedelta(hours=rng.uniform(-30, 30))
                             if rng.random() < 0.5 else None)
            deadlines.append(Deadline(
                subject_type="case", subject_id=case.id, kind=DeadlineKind.RESPONSE, label="r",
                unit_id=rng.choice(units), starts_at=due - timedelta(days=2), due_at=due,
                original_due_at=due, fractions=[1.0], calendar="elapsed",
                status=DeadlineStatus.MET if met else DeadlineStatus.ACTIVE, met_at=met,
                closed_at=closed, created_at=due - timedelta(days=2)))
    db_session.add_all(ratings + deadlines)
    db_session.flush()
    return cases, ratings, deadlines


def reference(cases, ratings, deadlines) -> dict[uuid.UUID, Counts]:  # noqa: ANN001
    """docs/evaluation.md, "What counts", read literally."""
    start, end = MONTH.start_utc, MONTH.end_utc
    out = {c.id for c in cases
           if (c.exempted_at and c.exempted_at < end) or (c.linked_at and c.linked_at < end)}
    result: dict[uuid.UUID, Counts] = {}

    def add(unit: uuid.UUID, counts: Counts) -> None:
        result[unit] = result.get(unit, Counts()) + counts

    in_period = [r for r in ratings if start <= r.recorded_at < end and r.case_id not in out]
    for r in in_period:
        if any(o.case_id == r.case_id and o.seq > r.seq and o.recorded_at < end for o in ratings):
            continue
        add(r.lead_unit_id, Counts(
            rated=1, resolved=int(r.resolved),
            satisfied=int(r.satisfaction is Satisfaction.SATISFIED),
            basically_satisfied=int(r.satisfaction is Satisfaction.BASICALLY_SATISFIED),
            dissatisfied=int(r.satisfaction is Satisfaction.DISSATISFIED),
            rehandled=int(r.rehandle_count > 0), rehandlings=r.rehandle_count))
    for d in deadlines:
        if not start <= d.due_at < end or d.subject_id in out:
            continue
        if d.met_at is None and d.closed_at is not None and d.closed_at < d.due_at:
            continue  # cancelled before it fell due
        add(d.unit_id, Counts(response_due=1,
                              response_met=int(d.met_at is not None and d.met_at <= d.due_at)))
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sql_counts_what_the_rules_say(world, db_session, seed):  # noqa: ANN001
    units = [world.units[code].id for code in ("T1", "T2", "T1-C1", "D1-CGZF")]
    cases, ratings, deadlines = build(db_session, units, random.Random(seed))
    got = facts.counts_by_unit(db_session, MONTH, lead_unit_ids=units)
    assert got == reference(cases, ratings, deadlines)
    assert sum(c.rated for c in got.values()) > 0
