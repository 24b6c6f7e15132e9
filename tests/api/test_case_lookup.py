"""A command centre finds a case by its number, by the 12345 platform's order number, and by
the resident's phone (only where it may see residents' data; each find is logged)."""

from __future__ import annotations

import sqlalchemy as sa

from server.cases.models import PersonalDataAccess

PHONE = "13900001111"


def _find(client, login, username, **query):  # noqa: ANN001, ANN003, ANN202
    response = client.get("/api/v1/cases", query_string=query, headers=login(username))
    assert response.status_code == 200, response.get_json()
    return [c["number"] for c in response.get_json()["items"]]


def test_a_case_is_found_by_its_number(client, login, file_case):
    first, second = file_case(), file_case()
    assert _find(client, login, "t1.dispatcher", number=first["number"]) == [first["number"]]
    assert _find(client, login, "t1.dispatcher", number=second["number"]) == [second["number"]]
    assert _find(client, login, "t1.dispatcher", number="2099-0000001") == []
    # Outside one's territory a number finds nothing, as for a case that does not exist.
    assert _find(client, login, "t2.dispatcher", number=first["number"]) == []


def test_a_12345_order_is_found_by_the_platforms_order_number_and_received_once(
        client, login, file_case):
    case = file_case(channel="city_direct", city_order_number="BJ20261202-0042")
    assert case["city_order_number"] == "BJ20261202-0042"
    file_case(channel="city_direct", city_order_number="BJ20261202-0043")
    assert _find(client, login, "d1.dispatcher",
                 city_order_number="BJ20261202-0042") == [case["number"]]

    again = client.post("/api/v1/cases", headers=login("d1.dispatcher"), json={
        "channel": "district_forward", "appeal_type": "complaint", "title": "再次录入",
        "description": "同一工单", "city_order_number": "BJ20261202-0042"})
    assert again.status_code == 409
    body = again.get_json()
    assert body["code"] == "duplicate_city_order"
    assert list(body["errors"]["json"]) == ["city_order_number"]


def test_only_12345_orders_carry_a_city_order_number(client, login, file_case):
    response = client.post("/api/v1/cases", headers=login("t1.dispatcher"), json={
        "channel": "patrol", "appeal_type": "report", "title": "巡查发现",
        "description": "x", "city_order_number": "BJ1"})
    assert response.status_code == 422
    assert response.get_json()["code"] == "city_order_number_not_allowed"


def _lookups(db_session, username, world) -> int:  # noqa: ANN001
    return db_session.scalar(sa.select(sa.func.count()).select_from(PersonalDataAccess).where(
        PersonalDataAccess.user_id == world.users[username].id,
        PersonalDataAccess.purpose == "lookup"))


def test_a_phone_finds_the_cases_whose_data_one_may_see_and_is_logged(
        client, world, login, file_case, db_session):
    led = file_case(category_code="02.01", resident_phone=PHONE)  # D1-SCJG leads
    cooperated = file_case(category_code="01.01", resident_phone=PHONE)  # D1-SCJG cooperates
    secret = file_case(resident_phone=PHONE, confidential=True)
    file_case(resident_phone="13900002222")

    # The territory's dispatcher sees every case's data; the confidential one is its own.
    assert sorted(_find(client, login, "t1.dispatcher", resident_phone=PHONE)) == sorted(
        [led["number"], cooperated["number"], secret["number"]])
    assert _lookups(db_session, "t1.dispatcher", world) == 3
    # The district sees the data of its cases, but not of a confidential one.
    assert sorted(_find(client, login, "d1.dispatcher", resident_phone=PHONE)) == sorted(
        [led["number"], cooperated["number"]])
    # A department sees its cooperating case masked: the phone must not find it there.
    assert _find(client, login, "d1.handler", resident_phone=PHONE) == [led["number"]]
    assert _lookups(db_session, "d1.handler", world) == 1


def test_roles_that_never_see_residents_data_may_not_look_a_phone_up(client, login, file_case):
    file_case(resident_phone=PHONE)
    for username in ("t1.worker", "t1.leader", "d1.staff", "auditor"):
        response = client.get("/api/v1/cases", query_string={"resident_phone": PHONE},
                              headers=login(username))
        assert response.status_code == 403, username
        assert response.get_json()["code"] == "permission_denied"
