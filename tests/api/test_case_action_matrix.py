"""Every action x every role of the test world x cases in every kind of standing: an action
``allowed_actions`` offers succeeds, and one it withholds is refused (one source of truth).

Each attempt runs in a savepoint that is rolled back, so every user tries every action on
the same case in the same state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from server.cases.rules import Action
from tests.fixtures.cases import IN_T1_A1, act
from tests.fixtures.world import PEOPLE

PATHS = {
    Action.DISPATCH: "dispatch", Action.ACCEPT: "accept", Action.CONTACT: "contact",
    Action.NOTE: "notes", Action.COMPLETE: "complete", Action.REQUEST_RETURN: "return-request",
    Action.APPROVE_RETURN: "return-approval", Action.REFUSE_RETURN: "return-refusal",
    Action.ESCALATE: "escalate", Action.HAND_DOWN: "hand-down", Action.RECORD_REVIEW: "review",
    Action.CALLBACK: "callback", Action.REQUEST_EXTENSION: "extension-request",
    Action.DECIDE_EXTENSION: "extension-decision", Action.REQUEST_EXEMPTION: "exemption-request",
    Action.DECIDE_EXEMPTION: "exemption-decision", Action.LINK: "link", Action.ARRIVE: "arrive",
}


def body_for(action: Action, case: dict, world, master: dict) -> dict:  # noqa: ANN001
    """A body that is valid whenever the action is allowed (the lead stays the same, so the
    first-receiver rule, which depends on the new lead, does not come into it)."""
    lead = case["lead_unit"]["id"] if case["lead_unit"] else str(world.units["T1"].id)
    due = datetime.fromisoformat(case["completion_due_at"]) if case["completion_due_at"] \
        else datetime.now(UTC)
    return {
        Action.DISPATCH: {"lead_unit_id": lead},
        Action.CONTACT: {"note": "已联系"}, Action.NOTE: {"note": "进展"},
        Action.COMPLETE: {"result": "已处理"}, Action.REQUEST_RETURN: {"reason": "不属于本单位"},
        Action.APPROVE_RETURN: {"with_fault": False}, Action.REFUSE_RETURN: {"note": "属于"},
        Action.ESCALATE: {"reason": "需协调"},
        Action.HAND_DOWN: {"community_unit_id": str(world.units["T1-C1"].id), "reason": "群评"},
        Action.RECORD_REVIEW: {"outcome": "mediated", "note": "调解"},
        Action.CALLBACK: {"resolved": True, "satisfaction": "satisfied"},
        Action.REQUEST_EXTENSION: {"new_due_at": (due + timedelta(days=3)).isoformat(),
                                   "reason": "需协调"},
        Action.DECIDE_EXTENSION: {"approve": True}, Action.REQUEST_EXEMPTION: {"reason": "恶意"},
        Action.DECIDE_EXEMPTION: {"approve": True}, Action.LINK: {"master_case_id": master["id"]},
        Action.ARRIVE: {"lon": IN_T1_A1[0], "lat": IN_T1_A1[1], "accuracy_m": 10},
    }.get(action, {})


# Each scenario files a case and walks it into a standing, as the people who would.
def city_dispatched(client, login, file_case, world):  # noqa: ANN001, ANN201
    return file_case(channel="city_direct")  # led by T1, supervised by the district


def city_with_requests(client, login, file_case, world):  # noqa: ANN001, ANN201
    township = login("t1.dispatcher")
    case = act(client, township, file_case(channel="city_direct"), "accept")
    later = (datetime.fromisoformat(case["completion_due_at"]) + timedelta(days=5)).isoformat()
    case = act(client, township, case, "extension-request", new_due_at=later, reason="x")
    return act(client, township, case, "exemption-request", reason="恶意诉求")


def department_return(client, login, file_case, world):  # noqa: ANN001, ANN201
    case = file_case(category_code="02.01")  # led by D1-SCJG, supervised by T1-CC
    return act(client, login("d1.handler"), case, "return-request", reason="不属于")


def department_completed(client, login, file_case, world):  # noqa: ANN001, ANN201
    handler = login("d1.handler")
    case = act(client, handler, file_case(category_code="02.01"), "accept")
    return act(client, handler, case, "complete", result="已处理")


def township_completed(client, login, file_case, world):  # noqa: ANN001, ANN201
    township = login("t1.dispatcher")
    case = act(client, township, file_case(), "accept")
    return act(client, township, case, "complete", result="已处理")


def escalated(client, login, file_case, world):  # noqa: ANN001, ANN201
    return act(client, login("t1.dispatcher"), file_case(), "escalate", reason="需区级协调")


def handed_down(client, login, file_case, world):  # noqa: ANN001, ANN201
    township = login("t1.dispatcher")
    case = act(client, township, file_case(), "accept")
    return act(client, township, case, "hand-down", reason="诉求不合理",
               community_unit_id=str(world.units["T1-C1"].id))


def community_led(client, login, file_case, world):  # noqa: ANN001, ANN201
    case = act(client, login("t1.dispatcher"), file_case(), "dispatch",
               lead_unit_id=str(world.units["T1-C1"].id))  # supervised by T1-CC
    leader = login("t1.leader")
    case = act(client, leader, case, "accept")
    later = (datetime.fromisoformat(case["completion_due_at"]) + timedelta(days=5)).isoformat()
    return act(client, leader, case, "extension-request", new_due_at=later, reason="x")


def in_triage(client, login, file_case, world):  # noqa: ANN001, ANN201
    return file_case(category_code=None)


def closed(client, login, file_case, world):  # noqa: ANN001, ANN201
    case = township_completed(client, login, file_case, world)
    return act(client, login("d1.dispatcher"), case, "callback", resolved=True,
               satisfaction="satisfied")


SCENARIOS: dict[str, Callable] = {f.__name__: f for f in (
    city_dispatched, city_with_requests, department_return, department_completed,
    township_completed, escalated, handed_down, community_led, in_triage, closed)}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_offered_actions_succeed_and_withheld_ones_are_refused(
        client, world, login, file_case, db_session, scenario):
    users = {name: login(name) for name in PEOPLE}  # tokens first: attempts are rolled back
    master = file_case(at=(IN_T1_A1[0] + 0.0003, IN_T1_A1[1]))
    case = SCENARIOS[scenario](client, login, file_case, world)
    connection = db_session.connection()
    offered_to: Counter[str] = Counter()
    for username, headers in users.items():
        seen = client.get(f"/api/v1/cases/{case['id']}", headers=headers)
        offered = set(seen.get_json()["allowed_actions"]) if seen.status_code == 200 else set()
        assert seen.status_code in (200, 404)
        for action in Action:
            attempt = connection.begin_nested()
            try:
                response = client.post(
                    f"/api/v1/cases/{case['id']}/{PATHS[action]}", headers=headers,
                    json={"version": case["version"], **body_for(action, case, world, master)})
            finally:
                attempt.rollback()
            answer = (scenario, username, action.value, response.get_json())
            if action.value in offered:
                assert response.status_code == 200, answer
                offered_to[action.value] += 1
            else:
                assert response.status_code in (403, 404, 409), answer
    assert offered_to, f"{scenario}: nobody may do anything"


def test_the_matrix_offers_each_approval_to_the_supervisor_only(client, world, login,
                                                               file_case):
    """A spot check of what the matrix walks: who is offered the decisions."""
    def offered(case: dict, action: str) -> set[str]:
        return {name for name in PEOPLE if action in (client.get(
            f"/api/v1/cases/{case['id']}", headers=login(name)).get_json() or {}).get(
            "allowed_actions", [])}

    assert offered(city_with_requests(client, login, file_case, world), "decide_extension") \
        == {"d1.dispatcher"}
    assert offered(department_return(client, login, file_case, world), "approve_return") == \
        {"t1.dispatcher", "d1.dispatcher"}
    assert offered(department_completed(client, login, file_case, world), "callback") == \
        {"t1.dispatcher", "d1.dispatcher"}
    assert offered(township_completed(client, login, file_case, world), "callback") == \
        {"d1.dispatcher"}
    assert offered(community_led(client, login, file_case, world), "decide_extension") == \
        {"t1.dispatcher", "d1.dispatcher"}
    assert offered(handed_down(client, login, file_case, world), "record_review") == \
        {"t1.leader", "t1.worker"}
