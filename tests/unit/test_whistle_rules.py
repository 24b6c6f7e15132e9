"""The whistle call's pure rules: state machine, judgement list, arrival radius, timeliness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.whistle import rules
from server.whistle.rules import Action, ArrivalState, Party, WhistleStatus

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_state_machine():
    assert rules.allowed_actions(WhistleStatus.RAISED) == [Action.ACCEPT, Action.REJECT]
    assert rules.allowed_actions(WhistleStatus.ACCEPTED) == [
        Action.ARRIVE, Action.ACT, Action.CLOSE, Action.MARK_UNJUSTIFIED]
    assert rules.allowed_actions(WhistleStatus.CLOSED) == [Action.RATE, Action.MARK_UNJUSTIFIED]
    assert rules.allowed_actions(WhistleStatus.REJECTED) == []
    assert rules.transition_problem(Action.ACCEPT, WhistleStatus.RAISED) is None
    assert rules.transition_problem(Action.CLOSE, WhistleStatus.RAISED) == (
        "Cannot close a whistle call that is raised.")
    assert rules.transition_problem(Action.MARK_UNJUSTIFIED, WhistleStatus.REJECTED) == (
        "Cannot mark unjustified a whistle call that is rejected.")
    assert rules.TRANSITIONS[Action.RATE].by is Party.CALLER
    assert rules.TRANSITIONS[Action.ACCEPT].by is Party.JUDGE
    assert rules.TRANSITIONS[Action.ARRIVE].by is Party.DEPARTMENT
    # Final states have no way out but evaluation.
    for status in rules.FINAL_STATUSES:
        assert all(rules.TRANSITIONS[a].target is None for a in rules.allowed_actions(status))


@pytest.mark.parametrize(("cooperating", "arrival_h", "completion_h", "field"), [
    (["b", "c"], 1, 24, None),
    (["a"], 1, 24, "cooperating_department_ids"),
    (["b", "b"], 1, 24, "cooperating_department_ids"),
    ([], 0, 24, "arrival_due_at"),
    ([], -1, 24, "arrival_due_at"),
    ([], 2, 1, "completion_due_at"),
    ([], 2, 2, None),  # the same moment for both is allowed
])
def test_judgement_problem(cooperating, arrival_h, completion_h, field):
    problem = rules.judgement_problem(
        lead="a", cooperating=cooperating, arrival_due_at=T0 + timedelta(hours=arrival_h),
        completion_due_at=T0 + timedelta(hours=completion_h), now=T0)
    assert (problem[0] if problem else None) == field


def test_judgement_refuses_naive_times():
    with pytest.raises(ValueError, match="aware"):
        rules.judgement_problem(lead="a", cooperating=[], arrival_due_at=T0.replace(tzinfo=None),
                                completion_due_at=T0, now=T0)


def test_departments_serve_the_townships_under_their_parent():
    assert rules.serves_township("/d1/", "/d1/t1/")
    assert rules.serves_township("/city/", "/city/d1/t1/")
    assert not rules.serves_township("/d2/", "/d1/t1/")
    assert not rules.serves_township("/d1/t2/", "/d1/t1/")


@pytest.mark.parametrize(("distance", "accuracy", "near"), [
    (200.0, None, True),  # on the edge of the radius counts
    (200.1, None, False),
    (219.0, 20.0, True),  # a ±20 m fix 219 m away may be 199 m away
    (221.0, 20.0, False),
    (299.0, 5000.0, True),  # a useless fix adds at most the cap (100 m)
    (301.0, 5000.0, False),
    (200.0, -5.0, True),  # a negative accuracy adds nothing
])
def test_arrival_radius_with_accuracy(distance, accuracy, near):
    assert rules.is_near(distance, 200.0, accuracy, 100.0) is near


def test_arrival_tolerance():
    assert rules.arrival_tolerance_m(200.0, None, 100.0) == 200.0
    assert rules.arrival_tolerance_m(200.0, 30.0, 100.0) == 230.0
    assert rules.arrival_tolerance_m(200.0, 300.0, 100.0) == 300.0


def test_arrival_state():
    due = T0 + timedelta(hours=2)

    def state(first, now, closed=False):  # noqa: ANN001, ANN202
        return rules.arrival_state(first_arrival_at=first, due_at=due, now=now, closed=closed)

    assert state(None, T0) is ArrivalState.PENDING
    assert state(None, due) is ArrivalState.PENDING  # the deadline itself is not yet past
    assert state(None, due + timedelta(seconds=1)) is ArrivalState.ABSENT
    assert state(None, T0, closed=True) is ArrivalState.ABSENT
    assert state(due, due + timedelta(hours=5)) is ArrivalState.ON_TIME  # exactly on time
    assert state(due + timedelta(seconds=1), due) is ArrivalState.LATE
    assert rules.arrival_state(first_arrival_at=T0, due_at=None, now=T0) is ArrivalState.ON_TIME


def test_response_minutes_and_overdue():
    assert rules.response_minutes(T0, T0 + timedelta(minutes=20, seconds=30)) == 20.5
    assert rules.response_minutes(None, T0) is None
    assert rules.response_minutes(T0, None) is None
    due = T0 + timedelta(hours=8)
    accepted = WhistleStatus.ACCEPTED
    assert not rules.is_overdue(status=accepted, completion_due_at=due, now=due)
    assert rules.is_overdue(status=accepted, completion_due_at=due, now=due + timedelta(seconds=1))
    assert rules.is_overdue(status=accepted, completion_due_at=due, now=T0, absent_departments=1)
    assert not rules.is_overdue(status=WhistleStatus.CLOSED, completion_due_at=due,
                                now=due + timedelta(days=1), absent_departments=1)
    assert rules.closed_on_time(due, due) is True
    assert rules.closed_on_time(due + timedelta(seconds=1), due) is False
    assert rules.closed_on_time(None, due) is None


@pytest.mark.parametrize(("satisfied", "basic", "dissatisfied", "rate"), [
    (0, 0, 0, None), (1, 0, 0, 100.0), (0, 1, 0, 80.0), (0, 0, 1, 0.0), (2, 1, 1, 70.0),
    (1, 1, 1, 60.0), (2, 0, 1, 66.67),
])
def test_satisfaction_rate_weights_basically_satisfied_at_0_8(satisfied, basic, dissatisfied,
                                                              rate):
    assert rules.BASICALLY_SATISFIED_WEIGHT == 0.8
    assert rules.satisfaction_rate(satisfied, basic, dissatisfied) == rate


def test_satisfaction_rate_takes_another_weight():
    assert rules.satisfaction_rate(0, 2, 0, basic_weight=1.0) == 100.0
