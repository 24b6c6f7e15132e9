"""The one rule of who may do what with a case, as plain Python: no app, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.cases.rules import (
    TRANSITIONS,
    Action,
    CaseStatus,
    Channel,
    Party,
    RefusalKind,
    Request,
    Standing,
    SupervisorLevel,
    allowed_actions,
    first_receiver_refusal,
    refusal,
    supervising_level,
)

# A township dispatcher of the case's territory whose township leads it (the case).
OWN = Standing(status=CaseStatus.COMPLETED, is_dispatcher=True, is_handler=True,
               in_territory=True, is_district=False, in_lead=True, in_supervisor=False,
               in_review_community=False)
DISTRICT = replace(OWN, is_handler=False, is_district=True, in_lead=False)
APPROVALS = [a for a, t in TRANSITIONS.items() if t.by is Party.SUPERVISOR]


@pytest.mark.parametrize("action", APPROVALS)
def test_the_lead_never_decides_even_as_the_supervising_unit(action):
    status = next(iter(TRANSITIONS[action].sources))
    pending = frozenset(Request)
    who = replace(OWN, status=status, in_supervisor=True, pending=pending)
    assert refusal(action, who).code == "lead_unit_decision"
    assert refusal(action, replace(DISTRICT, status=status, pending=pending)) is None


@pytest.mark.parametrize("action", [a for a in APPROVALS if TRANSITIONS[a].decides])
def test_the_requester_never_decides(action):
    status = next(iter(TRANSITIONS[action].sources))
    asked = TRANSITIONS[action].decides
    who = replace(DISTRICT, status=status, pending=frozenset({asked}),
                  own_requests=frozenset({asked}))
    assert refusal(action, who).code == "self_approval"
    assert refusal(action, replace(who, own_requests=frozenset())) is None


def test_someone_of_the_territory_who_did_not_dispatch_is_not_the_supervisor():
    who = replace(OWN, in_lead=False)
    assert refusal(Action.CALLBACK, who).code == "not_supervisor"
    assert refusal(Action.CALLBACK, replace(who, in_supervisor=True)) is None


def test_a_decision_needs_a_waiting_request_and_a_status_first():
    who = replace(DISTRICT, status=CaseStatus.IN_PROGRESS)
    assert refusal(Action.DECIDE_EXTENSION, who).kind is RefusalKind.CONFLICT
    assert refusal(Action.APPROVE_RETURN, who).code == "illegal_transition"


def test_allowed_actions_are_what_refusal_lets_through():
    who = replace(OWN, status=CaseStatus.ACCEPTED, not_returnable="no")
    offered = allowed_actions(who)
    assert Action.REQUEST_RETURN not in offered
    assert Action.COMPLETE in offered
    assert all(refusal(a, who) is None for a in offered)
    assert all(refusal(a, who) is not None for a in set(Action) - set(offered))


@pytest.mark.parametrize(("channel", "automatic", "lead_is_township", "under", "level"), [
    (Channel.CITY_DIRECT, True, True, False, SupervisorLevel.DISTRICT_CENTRE),
    (Channel.DISTRICT_FORWARD, True, False, False, SupervisorLevel.DISTRICT_CENTRE),
    (Channel.PATROL, True, True, False, SupervisorLevel.DISTRICT_CENTRE),
    (Channel.INTERNET, True, False, False, SupervisorLevel.TOWNSHIP_CENTRE),
    (Channel.CITY_DIRECT, False, True, False, SupervisorLevel.DISPATCHER),
    (Channel.INTERNET, False, True, True, SupervisorLevel.DISTRICT_CENTRE),
])
def test_the_supervising_level_of_a_dispatch(channel, automatic, lead_is_township, under,
                                             level):
    assert supervising_level(channel, automatic=automatic, lead_is_township=lead_is_township,
                             dispatcher_under_lead=under) is level


def test_the_first_receiver_keeps_what_it_may_not_return():
    why = "not returnable"
    assert first_receiver_refusal(why, dispatcher_in_lead=True, same_lead=False).code == \
        "first_receiver_keeps_case"
    assert first_receiver_refusal(why, dispatcher_in_lead=True, same_lead=True) is None
    assert first_receiver_refusal(why, dispatcher_in_lead=False, same_lead=False) is None
    assert first_receiver_refusal(None, dispatcher_in_lead=True, same_lead=False) is None
