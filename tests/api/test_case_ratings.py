"""Callbacks leave one append-only rating each: the facts the evaluation (三率) is built on."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from server.cases.models import CaseRating
from server.cases.rules import RatingSource, Satisfaction
from tests.fixtures.cases import IN_T1_A1, act


def _ratings(db_session, case):  # noqa: ANN001, ANN202
    query = sa.select(CaseRating).where(CaseRating.case_id == uuid.UUID(case["id"]))
    return db_session.scalars(query.order_by(CaseRating.seq)).all()


def test_each_callback_is_kept_as_a_rating_with_the_lead_and_the_rehandlings_before_it(
        client, world, login, file_case, db_session):
    case = file_case()  # led by T1
    township, district = login("t1.dispatcher"), login("d1.dispatcher")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已清理")
    case = act(client, district, case, "callback", resolved=False, satisfaction="dissatisfied",
               comment="还在摆")
    case = act(client, township, case, "complete", result="已设置隔离桩")
    case = act(client, district, case, "callback", resolved=True, satisfaction="satisfied")
    assert case["status"] == "closed"
    first, second = _ratings(db_session, case)
    assert [(r.seq, r.rehandle_count, r.double_yes) for r in (first, second)] == \
        [(1, 0, False), (2, 1, True)]
    assert {r.lead_unit_id for r in (first, second)} == {world.units["T1"].id}
    assert (first.resolved, first.satisfaction, first.comment) == \
        (False, Satisfaction.DISSATISFIED, "还在摆")
    assert first.source is RatingSource.SUPERVISOR
    assert first.rated_at == first.recorded_at
    assert first.recorded_by_user_id == world.users["d1.dispatcher"].id
    assert first.recorded_by_unit_id == world.units["D1-CC"].id
    assert first.recorded_at <= second.recorded_at


def test_an_approved_exemption_and_a_link_are_dated(client, world, login, file_case):
    master = file_case()
    dup = file_case(at=(IN_T1_A1[0] + 0.0002, IN_T1_A1[1]))
    district = login("d1.dispatcher")
    dup = act(client, district, dup, "link", master_case_id=master["id"])
    assert dup["linked_at"] is not None
    master = act(client, login("t1.dispatcher"), master, "exemption-request", reason="恶意诉求")
    assert master["exempted_at"] is None
    master = act(client, district, master, "exemption-decision", approve=True)
    assert (master["exemption_state"], master["exempted_at"] is not None) == ("approved", True)
