"""Nobody grades their own work (issue 10): approvals and callbacks by the supervising level,
the first receiver keeps its case, urgent cases close in hours, hand-downs are reviewed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from server.cases.models import CaseRating
from server.cases.rules import RatingChannel, RatingSource
from server.supervision.models import Deadline, Reminder
from tests.api.test_auth import assert_error
from tests.fixtures.cases import act


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def refused(client, headers, case, action, status, code, **body):  # noqa: ANN001, ANN003, ANN201
    response = client.post(f"/api/v1/cases/{case['id']}/{action}",
                           json={"version": case["version"], **body}, headers=headers)
    assert_error(response, status, code)
    return response.get_json()


# --- who supervises -------------------------------------------------------------------------


def test_the_supervisor_of_a_dispatch_is_never_the_lead(client, world, login, file_case):
    units = world.units
    city = file_case(channel="city_direct")  # led by T1 by the catalogue
    patrol = file_case("t1.worker", channel="patrol")  # led by T1 too
    food = file_case(category_code="02.01")  # led by the market supervision department
    assert city["lead_unit"]["code"] == patrol["lead_unit"]["code"] == "T1"
    assert city["dispatched_by_unit_id"] == str(units["D1-CC"].id)  # 12345: the district's
    assert patrol["dispatched_by_unit_id"] == str(units["D1-CC"].id)  # not T1's own centre
    assert food["dispatched_by_unit_id"] == str(units["T1-CC"].id)
    triage = file_case(category_code=None)
    mine = act(client, login("t1.dispatcher"), triage, "dispatch",
               lead_unit_id=str(units["T1"].id))
    assert mine["dispatched_by_unit_id"] == str(units["D1-CC"].id)
    down = act(client, login("t1.dispatcher"), mine, "dispatch",
               lead_unit_id=str(units["T1-C1"].id))
    assert down["dispatched_by_unit_id"] == str(units["T1-CC"].id)


# --- separation of duties (the four holes) --------------------------------------------


def test_a_township_cannot_approve_the_return_of_an_order_it_leads(client, world, login,
                                                                   file_case):
    case = file_case(channel="district_forward")  # returnable, led by T1
    township = login("t1.dispatcher")
    case = act(client, township, case, "return-request", reason="不属于本街道")
    assert "return_approval" not in case["allowed_actions"]
    error = refused(client, township, case, "return-approval", 403, "lead_unit_decision",
                    with_fault=False)
    assert "supervising level" in error["message"]
    refused(client, township, case, "return-refusal", 403, "lead_unit_decision", note="x")
    district = login("d1.dispatcher")
    as_district = client.get(f"/api/v1/cases/{case['id']}", headers=district).get_json()
    assert {"approve_return", "refuse_return"} <= set(as_district["allowed_actions"])
    case = act(client, district, case, "return-approval", with_fault=True)
    assert case["status"] == "received"


def test_a_township_cannot_call_back_its_own_case(client, world, login, file_case):
    case = file_case(channel="city_direct")
    township = login("t1.dispatcher")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已清理")
    assert "callback" not in case["allowed_actions"]
    refused(client, township, case, "callback", 403, "lead_unit_decision", resolved=True,
            satisfaction="satisfied")
    case = act(client, login("d1.dispatcher"), case, "callback", resolved=True,
               satisfaction="satisfied")
    assert case["status"] == "closed"


def test_a_township_cannot_approve_its_own_extension(client, world, login, file_case):
    case = file_case(channel="city_direct")
    township = login("t1.dispatcher")
    case = act(client, township, case, "accept")
    later = (iso(case["completion_due_at"]) + timedelta(days=30)).isoformat()
    case = act(client, township, case, "extension-request", new_due_at=later, reason="需协调")
    refused(client, township, case, "extension-decision", 403, "lead_unit_decision",
            approve=True)
    case = act(client, login("d1.dispatcher"), case, "extension-decision", approve=True)
    assert iso(case["completion_due_at"]) == iso(later)


def test_nobody_approves_an_exemption_they_asked_for(client, world, login, file_case):
    case = file_case()  # led by T1
    township = login("t1.dispatcher")
    case = act(client, township, case, "exemption-request", reason="恶意诉求")
    refused(client, township, case, "exemption-decision", 403, "lead_unit_decision",
            approve=True)
    # Handing the case to a community does not make the one who asked its judge.
    case = act(client, township, case, "dispatch", lead_unit_id=str(world.units["T1-C1"].id))
    assert case["dispatched_by_unit_id"] == str(world.units["T1-CC"].id)
    assert "decide_exemption" not in case["allowed_actions"]
    error = refused(client, township, case, "exemption-decision", 403, "self_approval",
                    approve=True)
    assert "You asked for this exemption" in error["message"]
    case = act(client, login("d1.dispatcher"), case, "exemption-decision", approve=True)
    assert case["exemption_state"] == "approved"


def test_a_department_may_not_approve_and_an_unrelated_township_is_not_the_supervisor(
        client, world, login, file_case):
    case = file_case(channel="city_direct", category_code="02.01")  # the district dispatched it
    handler = login("d1.handler")
    case = act(client, handler, case, "return-request", reason="不属于食品安全")
    refused(client, handler, case, "return-approval", 403, "permission_denied", with_fault=False)
    refused(client, login("t1.dispatcher"), case, "return-approval", 403, "not_supervisor",
            with_fault=False)
    case = act(client, login("d1.dispatcher"), case, "return-refusal", note="属于食品安全")
    assert case["status"] == "dispatched"


# --- callbacks from the city platform ----------------------------------------------------------


def _completed(client, login, file_case, **fields):  # noqa: ANN001, ANN003, ANN202
    case = file_case(**fields)
    lead = login("d1.handler") if fields.get("category_code") == "02.01" else login(
        "t1.dispatcher")
    case = act(client, lead, case, "accept")
    return act(client, lead, case, "complete", result="已处理")


def test_the_district_records_a_rating_from_the_city_platform(client, world, login, file_case,
                                                             db_session):
    case = _completed(client, login, file_case, channel="city_direct")
    rated = case["completed_at"]  # the resident rated at once; we enter it later
    case = act(client, login("d1.dispatcher"), case, "callback", resolved=True,
               satisfaction="dissatisfied", source="city_platform", rater="12345 坐席 0712",
               rated_at=rated, channel="sms", comment="还是没解决")
    assert case["status"] == "in_progress"
    [rating] = db_session.scalars(sa.select(CaseRating).where(
        CaseRating.case_id == uuid.UUID(case["id"]))).all()
    assert (rating.source, rating.rater, rating.channel) == \
        (RatingSource.CITY_PLATFORM, "12345 坐席 0712", RatingChannel.SMS)
    assert rating.rated_at == iso(rated)
    assert rating.recorded_at > rating.rated_at
    assert rating.lead_unit_id == world.units["T1"].id
    timeline = client.get(f"/api/v1/cases/{case['id']}/timeline",
                          headers=login("d1.dispatcher")).get_json()
    assert timeline[-1]["data"]["source"] == "city_platform"


def test_only_the_district_enters_city_platform_ratings_and_says_when(client, world, login,
                                                                    file_case):
    case = _completed(client, login, file_case, category_code="02.01")  # T1-CC supervises
    township, district = login("t1.dispatcher"), login("d1.dispatcher")
    now = datetime.now().astimezone()
    refused(client, township, case, "callback", 403, "city_platform_district_only",
            resolved=True, satisfaction="satisfied", source="city_platform",
            rated_at=now.isoformat())
    error = refused(client, district, case, "callback", 422, "validation_failed", resolved=True,
                    satisfaction="satisfied", source="city_platform")
    assert "rated_at" in error["errors"]["json"]
    refused(client, district, case, "callback", 422, "rated_at_invalid", resolved=True,
            satisfaction="satisfied", source="city_platform",
            rated_at=(now + timedelta(days=1)).isoformat())
    refused(client, township, case, "callback", 422, "validation_failed", resolved=True,
            satisfaction="satisfied", rated_at=now.isoformat())
    case = act(client, township, case, "callback", resolved=True, satisfaction="satisfied",
               channel="phone")
    assert case["status"] == "closed"


# --- first receiver -------------------------------------------------------------------------


def test_the_first_receiver_may_not_push_a_city_order_down_to_its_community(
        client, world, login, file_case):
    units = world.units
    case = file_case(channel="city_direct")
    township = login("t1.dispatcher")
    case = act(client, township, case, "accept")
    error = refused(client, township, case, "dispatch", 409, "first_receiver_keeps_case",
                    lead_unit_id=str(units["T1-C1"].id))
    assert "首接负责" in error["message"]
    refused(client, township, case, "dispatch", 409, "first_receiver_keeps_case",
            lead_unit_id=str(units["D1-CGZF"].id))
    same = act(client, township, case, "dispatch", lead_unit_id=str(units["T1"].id),
               cooperating_unit_ids=[str(units["T1-C1"].id)])
    assert (same["lead_unit"]["code"], same["cooperating_unit_ids"]) == \
        ("T1", [str(units["T1-C1"].id)])
    down = act(client, login("d1.dispatcher"), same, "dispatch",
               lead_unit_id=str(units["T1-C1"].id))  # the supervisor may
    assert down["lead_unit"]["code"] == "T1-C1"


def test_a_returnable_case_may_still_go_down_to_a_community(client, world, login, file_case):
    case = file_case()  # internet: returnable
    case = act(client, login("t1.dispatcher"), case, "dispatch",
               lead_unit_id=str(world.units["T1-C1"].id))
    assert case["lead_unit"]["code"] == "T1-C1"


# --- urgent cases -----------------------------------------------------------------------------


def _deadline(db_session, case, kind):  # noqa: ANN001, ANN202
    return db_session.scalars(sa.select(Deadline).where(
        Deadline.subject_id == uuid.UUID(case["id"]), Deadline.kind == kind,
        Deadline.closed_at.is_(None))).one()


def _nodes(db_session, deadline):  # noqa: ANN001, ANN202
    return db_session.scalars(sa.select(Reminder.node).where(Reminder.deadline_id == deadline.id)
                              .order_by(Reminder.fire_at)).all()


def test_an_urgent_case_is_due_in_two_hours_with_reminders(client, world, login, file_case,
                                                           db_session):
    case = file_case(urgency="urgent")  # the catalogue item gives 168 h
    received = iso(case["received_at"])
    assert iso(case["response_due_at"]) - received == timedelta(hours=2)
    assert iso(case["completion_due_at"]) - received == timedelta(hours=2)
    completion = _deadline(db_session, case, "completion")
    assert completion.due_at == iso(case["completion_due_at"])
    assert len(_nodes(db_session, completion)) >= 4  # the four supervision nodes, overdue too


def test_the_urgent_completion_limit_is_a_setting(app, client, world, login, file_case,
                                                  monkeypatch):
    monkeypatch.setitem(app.config, "URGENT_COMPLETION_HOURS", 4.0)
    case = file_case(urgency="urgent")
    assert iso(case["completion_due_at"]) - iso(case["received_at"]) == timedelta(hours=4)
    case = act(client, login("t1.dispatcher"), case, "dispatch",
               lead_unit_id=str(world.units["T1-C1"].id))
    assert iso(case["completion_due_at"]) - iso(case["dispatched_at"]) == timedelta(hours=4)


# --- hand-down for group review -------------------------------------------------------------


def test_a_hand_down_tells_the_community_and_its_review_runs_against_a_deadline(
        client, world, login, file_case, db_session):
    community = world.units["T1-C1"]
    case = file_case()
    township = login("t1.dispatcher")
    case = act(client, township, case, "accept")
    case = act(client, township, case, "complete", result="已劝离摊贩")
    case = act(client, login("d1.dispatcher"), case, "callback", resolved=False,
               satisfaction="dissatisfied", comment="要求取缔整条街")
    case = act(client, township, case, "hand-down", reason="诉求不合理",
               community_unit_id=str(community.id))
    assert case["handed_down_to_unit_id"] == str(community.id)
    assert iso(case["review_due_at"]) - iso(case["updated_at"]) == timedelta(days=15)
    review = _deadline(db_session, case, "review")
    assert (review.unit_id, review.due_at) == (community.id, iso(case["review_due_at"]))
    assert len(_nodes(db_session, review)) >= 4
    leader = login("t1.leader")  # the community's grid leader
    inbox = client.get("/api/v1/notifications", headers=leader).get_json()["items"]
    assert any(n["kind"] == "case_handed_down" and n["subject_id"] == case["id"] for n in inbox)
    as_leader = client.get(f"/api/v1/cases/{case['id']}", headers=leader).get_json()
    assert "record_review" in as_leader["allowed_actions"]
    assert "record_review" not in client.get(f"/api/v1/cases/{case['id']}",
                                             headers=township).get_json()["allowed_actions"]
    refused(client, township, case, "review", 403, "not_reviewing_community",
            outcome="mediated")
    refused(client, leader, case, "review", 422, "validation_failed", outcome="resolved")
    case = act(client, leader, case, "review", outcome="withdrawn", note="居民撤回诉求")
    assert (case["status"], case["review_outcome"], case["review_note"]) == \
        ("closed", "withdrawn", "居民撤回诉求")
    assert case["result"] == "已劝离摊贩"  # the handler's own result is kept
    db_session.expire_all()
    assert db_session.get(Deadline, review.id).status.value == "met"


def test_the_review_limit_is_a_setting(app, client, world, login, file_case, monkeypatch):
    monkeypatch.setitem(app.config, "HAND_DOWN_REVIEW_DAYS", 7.0)
    case = act(client, login("t1.dispatcher"), file_case(), "accept")
    case = act(client, login("t1.dispatcher"), case, "hand-down", reason="x",
               community_unit_id=str(world.units["T1-C1"].id))
    assert iso(case["review_due_at"]) - iso(case["updated_at"]) == timedelta(days=7)


# --- allowed_actions for the caller -----------------------------------------------------------


def test_allowed_actions_are_the_callers(client, world, login, file_case):
    case = file_case(channel="city_direct")
    url = f"/api/v1/cases/{case['id']}"
    township = client.get(url, headers=login("t1.dispatcher")).get_json()["allowed_actions"]
    worker = client.get(url, headers=login("t1.worker")).get_json()["allowed_actions"]
    auditor = client.get(url, headers=login("auditor")).get_json()["allowed_actions"]
    assert "request_return" not in township  # a city-direct order led by a township
    assert "accept" in township
    assert not {"dispatch", "escalate", "link", "hand_down"} & set(worker)
    assert auditor == []
