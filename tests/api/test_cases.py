"""The 接诉即办 loop through the public API, walking the seeds' rules (000, 001, 002, 004)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from server.cases.models import PersonalDataAccess
from tests.api.test_auth import assert_error
from tests.fixtures.cases import IN_T1_A1, IN_T1_B2, NOWHERE, act


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_intake_assigns_grids_and_dispatches_by_the_catalogue(client, world, login, file_case):
    case = file_case("t1.worker", channel="patrol")
    assert case["number"].count("-") == 1
    assert case["status"] == "dispatched"
    assert case["basic_grid"]["code"] == "T1-A1"
    assert case["special_grids"] == ["T1-S1"]
    assert case["lead_unit"]["code"] == "T1"  # 属地: the township holding the grid
    assert case["cooperating_unit_ids"] == [str(world.units["D1-SCJG"].id)]
    received = iso(case["received_at"])
    assert iso(case["response_due_at"]) - received == timedelta(hours=24)
    assert iso(case["completion_due_at"]) - received == timedelta(hours=168)
    events = client.get(
        f"/api/v1/cases/{case['id']}/timeline", headers=login("t1.worker")
    ).get_json()
    assert [(e["action"], e["to_status"]) for e in events] == [
        ("received", "received"), ("dispatch", "dispatched")]
    assert events[0]["actor_username"] == "t1.worker"
    assert events[1]["data"]["auto"] is True


def test_a_retried_intake_returns_the_same_case(client, world, login, file_case):
    first = file_case(client_request_id="phone-req-0001")
    body = {"channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
            "title": "x", "description": "y", "client_request_id": "phone-req-0001"}
    again = client.post("/api/v1/cases", json=body, headers=login("t1.dispatcher"))
    assert again.status_code == 200
    assert (again.get_json()["id"], again.get_json()["number"]) == (first["id"], first["number"])
    listed = client.get("/api/v1/cases", headers=login("t1.dispatcher")).get_json()["items"]
    assert [c["id"] for c in listed] == [first["id"]]
    other = client.post("/api/v1/cases", json=body, headers=login("t2.dispatcher"))
    assert_error(other, 409, "idempotency_key_reused")


def test_without_a_rule_or_a_grid_a_case_waits_for_triage_then_goes_to_several_units(
        client, world, login, file_case):
    no_rule = file_case(category_code=None)
    assert (no_rule["status"], no_rule["needs_triage"], no_rule["triage_reason"]) == \
        ("received", True, "no_category")
    nowhere = file_case(at=NOWHERE)
    assert nowhere["needs_triage"]
    assert nowhere["triage_reason"] == "no_grid"
    assert nowhere["township"]["code"] == "T1"  # the receiving dispatcher's queue
    queue = client.get("/api/v1/cases?needs_triage=true", headers=login("t1.dispatcher")).get_json()
    assert {c["id"] for c in queue["items"]} == {no_rule["id"], nowhere["id"]}
    units = world.units
    dispatched = act(client, login("t1.dispatcher"), no_rule, "dispatch",
                     lead_unit_id=str(units["D1-CGZF"].id),
                     cooperating_unit_ids=[str(units["D1-SCJG"].id), str(units["T1"].id)])
    assert dispatched["status"] == "dispatched"
    assert not dispatched["needs_triage"]
    assert dispatched["lead_unit"]["code"] == "D1-CGZF"
    assert len(dispatched["cooperating_unit_ids"]) == 2


def test_a_city_direct_order_to_a_township_cannot_be_returned(client, world, login, file_case):
    case = file_case(channel="city_direct")
    assert case["lead_unit"]["code"] == "T1"
    case = act(client, login("t1.dispatcher"), case, "accept")
    error = act(client, login("t1.dispatcher"), case, "return-request", expect=409,
                reason="不属于本街道")
    assert error["code"] == "case_not_returnable"
    again = client.get(f"/api/v1/cases/{case['id']}", headers=login("t1.dispatcher")).get_json()
    assert again["status"] == "accepted"
    assert again["version"] == case["version"]


def test_a_return_needs_approval_and_is_counted_with_or_without_fault(
    client, world, login, file_case
):
    case = file_case(channel="internet", category_code="02.01")
    assert case["lead_unit"]["code"] == "D1-SCJG"
    handler = login("d1.handler")
    case = act(client, handler, case, "return-request", reason="属于城管职责")
    assert case["status"] == "return_requested"
    case = act(client, login("t1.dispatcher"), case, "return-approval", with_fault=True)
    assert (case["status"], case["needs_triage"], case["lead_unit"]) == ("received", True, None)
    counts = client.get("/api/v1/cases/returns", headers=login("d1.dispatcher")).get_json()
    [row] = [r for r in counts if r["unit_code"] == "D1-SCJG"]
    assert (row["requested"], row["approved"], row["with_fault"]) == (1, 1, 1)


def test_a_refused_return_puts_the_case_back(client, world, login, file_case):
    case = file_case(channel="internet", category_code="02.01")
    case = act(client, login("d1.handler"), case, "accept")
    case = act(client, login("d1.handler"), case, "return-request", reason="x")
    case = act(client, login("t1.dispatcher"), case, "return-refusal", note="属于食品安全")
    assert case["status"] == "accepted"


def test_an_escalated_case_is_redispatched_by_the_district(client, world, login, file_case):
    case = file_case()
    case = act(client, login("t1.dispatcher"), case, "escalate", reason="需区级协调资金")
    assert case["status"] == "escalated"
    refused = act(client, login("t1.dispatcher"), case, "dispatch", expect=403,
                  lead_unit_id=str(world.units["D1-CGZF"].id))
    assert refused["code"] == "district_only"
    case = act(client, login("d1.dispatcher"), case, "dispatch",
               lead_unit_id=str(world.units["D1-CGZF"].id))
    assert case["status"] == "dispatched"
    assert case["lead_unit"]["code"] == "D1-CGZF"


def test_a_group_review_outcome_closes_the_case(client, world, login, file_case):
    case = file_case()
    dispatcher = login("t1.dispatcher")
    case = act(client, dispatcher, case, "accept")
    case = act(client, dispatcher, case, "hand-down", reason="诉求不合理",
               community_unit_id=str(world.units["T1-C1"].id))
    assert case["status"] == "handed_down"
    case = act(client, login("t1.leader"), case, "review", outcome="mediated", note="议事会调解")
    assert case["status"] == "closed"
    assert (case["review_outcome"], case["review_note"]) == ("mediated", "议事会调解")


def test_a_callback_that_is_not_double_yes_reopens_the_case(client, world, login, file_case):
    case = file_case()
    dispatcher = login("t1.dispatcher")
    case = act(client, dispatcher, case, "accept")
    case = act(client, dispatcher, case, "contact", note="已电话联系")
    assert case["responded_at"] is not None
    assert case["status"] == "in_progress"
    case = act(client, dispatcher, case, "complete", result="已清理")
    district = login("d1.dispatcher")  # the supervising level calls back, not the lead
    case = act(client, district, case, "callback", resolved=True,
               satisfaction="basically_satisfied", comment="还会再来")
    assert (case["status"], case["rehandle_count"]) == ("in_progress", 1)
    case = act(client, dispatcher, case, "complete", result="已设置隔离桩")
    case = act(client, district, case, "callback", resolved=True, satisfaction="satisfied")
    assert case["status"] == "closed"
    assert case["closed_at"]


def test_illegal_moves_and_stale_versions_answer_409_and_change_nothing(client, world, login,
                                                                          file_case):
    case = file_case()
    dispatcher = login("t1.dispatcher")
    error = act(client, dispatcher, case, "complete", expect=409, result="x")
    assert error["code"] == "illegal_transition"
    assert error["details"][0]["current_status"] == "dispatched"
    accepted = act(client, dispatcher, case, "accept")
    stale = act(client, dispatcher, case, "hand-down", expect=409, reason="x",
                community_unit_id=str(world.units["T1-C1"].id))  # version of before accept
    assert stale["code"] == "stale_version"
    now = client.get(f"/api/v1/cases/{case['id']}", headers=dispatcher).get_json()
    assert (now["status"], now["version"]) == ("accepted", accepted["version"])


def test_only_the_lead_unit_handles_and_only_dispatchers_dispatch(client, world, login, file_case):
    case = file_case()  # led by T1; D1-SCJG cooperates and so sees it, but does not lead
    error = act(client, login("d1.handler"), case, "accept", expect=403)
    assert error["code"] == "not_lead_unit"
    error = act(client, login("d1.handler"), case, "dispatch", expect=403,
                lead_unit_id=str(world.units["T1"].id))
    assert error["code"] == "permission_denied"


def test_personal_data_is_masked_shown_or_hidden_by_role(
    client, world, login, file_case, db_session
):
    case = file_case()  # led by T1; D1-SCJG cooperates
    url = f"/api/v1/cases/{case['id']}"
    worker = client.get(url, headers=login("t1.worker")).get_json()["resident"]
    handler = client.get(url, headers=login("d1.handler")).get_json()["resident"]
    dispatcher = client.get(url, headers=login("t1.dispatcher")).get_json()["resident"]
    assert worker == {"view": "masked", "name": "张*", "phone": "138****1234"}
    assert handler == worker
    assert dispatcher == {"view": "shown", "name": "张三", "phone": "13812341234"}
    logged = db_session.scalars(sa.select(PersonalDataAccess).where(
        PersonalDataAccess.user_id == world.users["t1.dispatcher"].id)).all()
    assert len(logged) >= 1
    assert all(row.purpose == "view" for row in logged)
    assert not db_session.scalars(sa.select(PersonalDataAccess).where(
        PersonalDataAccess.user_id == world.users["t1.worker"].id)).all()


def test_a_confidential_case_shows_the_resident_to_the_receiving_dispatcher_only(
        client, world, login, file_case):
    case = file_case(confidential=True)
    url = f"/api/v1/cases/{case['id']}"
    assert client.get(url, headers=login("t1.dispatcher")).get_json()["resident"]["name"] == "张三"
    for other in ("d1.dispatcher", "t1.worker", "admin"):
        assert client.get(url, headers=login(other)).get_json()["resident"] == \
            {"view": "hidden", "name": None, "phone": None}


def test_cases_outside_ones_territory_do_not_exist(client, world, login, file_case):
    case = file_case()
    for outsider in ("t2.worker", "t2.dispatcher", "d2.dispatcher", "d1.staff"):
        assert_error(client.get(f"/api/v1/cases/{case['id']}", headers=login(outsider)),
                     404, "case_not_found")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=login("d1.handler")).status_code == 200


def test_a_nearby_duplicate_is_listed_linked_and_closed_with_its_master(client, world, login,
                                                                       file_case):
    master = file_case()
    dup = file_case(at=(IN_T1_A1[0] + 0.0002, IN_T1_A1[1]))  # about 17 m east
    assert [(d["id"], round(d["distance_m"])) for d in dup["possible_duplicates"]] == \
        [(master["id"], 17)]
    dispatcher = login("t1.dispatcher")
    dup = act(client, dispatcher, dup, "link", master_case_id=master["id"])
    assert dup["master_case_id"] == master["id"]
    master = act(client, dispatcher, master, "accept")
    master = act(client, dispatcher, master, "complete", result="已清理")
    master = act(client, login("d1.dispatcher"), master, "callback", resolved=True,
                 satisfaction="satisfied")
    dup = client.get(f"/api/v1/cases/{dup['id']}", headers=dispatcher).get_json()
    assert dup["status"] == "closed"
    assert dup["result"] == "已清理"


def test_extension_and_exemption_need_the_supervisors_decision(client, world, login, file_case):
    case = file_case()  # led by T1: the district supervises it
    dispatcher, district = login("t1.dispatcher"), login("d1.dispatcher")
    case = act(client, dispatcher, case, "accept")
    later = (iso(case["completion_due_at"]) + timedelta(days=3)).isoformat()
    case = act(client, dispatcher, case, "extension-request", new_due_at=later, reason="需协调")
    assert case["extension_state"] == "requested"
    case = act(client, district, case, "extension-decision", approve=True)
    assert iso(case["completion_due_at"]) == iso(later)
    case = act(client, dispatcher, case, "exemption-request", reason="恶意诉求")
    case = act(client, district, case, "exemption-decision", approve=False, note="证据不足")
    assert case["exemption_state"] == "refused"


def test_lists_filter_and_page_in_a_stable_order(client, world, login, file_case):
    made = [file_case(at=IN_T1_B2, category_code="02.01") for _ in range(3)]
    made.append(file_case())
    dispatcher = login("t1.dispatcher")
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/cases", query_string=query, headers=dispatcher).get_json()
        seen += [c["id"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(c["id"] for c in made)
    assert len(seen) == len(set(seen))
    by_grid = client.get("/api/v1/cases?grid=T1-B2", headers=dispatcher).get_json()["items"]
    assert len(by_grid) == 3
    by_category = client.get("/api/v1/cases?category=01", headers=dispatcher).get_json()["items"]
    assert [c["id"] for c in by_category] == [made[3]["id"]]
    in_box = client.get("/api/v1/cases?bbox=116.31&bbox=39.91&bbox=116.32&bbox=39.92",
                        headers=dispatcher).get_json()["items"]
    assert len(in_box) == 3
    overdue = client.get("/api/v1/cases?overdue=true", headers=dispatcher).get_json()["items"]
    assert overdue == []


def test_the_timeline_cannot_be_edited_through_the_api(client, world, login, file_case):
    case = file_case()
    url = f"/api/v1/cases/{case['id']}/timeline"
    for method in (client.put, client.delete, client.patch, client.post):
        assert method(url, headers=login("admin")).status_code == 405
