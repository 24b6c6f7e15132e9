"""A department raises a whistle call too (Yicheng: "由镇街或部门提出申请"): its handlers and
staff, for a place in a basic grid of a township the department serves; the township's
command centre judges it, the raising department sees it and rates the others, never
itself."""

from __future__ import annotations

from datetime import timedelta

from server.org.rules import Role
from server.org.services import create_user
from tests.api.test_sync_pull import Phone
from tests.fixtures.whistle import PLACE, START, arrival, north_of, whistle
from tests.fixtures.world import NOW, PASSWORD

T2_PLACE = (116.405, 39.905)  # T2-A1: another township of D1
T3_PLACE = (116.505, 39.905)  # T3-A1: a township of D2
NOWHERE = (116.36, 39.95)  # in China, in no grid


def test_a_department_raises_a_call_that_its_township_judges(client, whistle_world, login,
                                                             raise_call, clock):
    zrzy, cgzf = (str(whistle_world.units[c].id) for c in ("D1-ZRZY", "D1-CGZF"))
    call = raise_call("d1.staff", department_ids=[zrzy])
    assert call["raised_by_department_id"] == cgzf
    assert call["township"]["code"] == "T1"
    assert call["grid"]["code"] == "T1-B2"

    # The raising department sees its call; a department not on it does not.
    assert client.get(f"/api/v1/whistle-calls/{call['id']}",
                      headers=login("d1.staff")).status_code == 200
    assert client.get(f"/api/v1/whistle-calls/{call['id']}",
                      headers=login("d1.handler")).status_code == 404
    assert client.get(f"/api/v1/whistle-calls/{call['id']}",
                      headers=login("t2.dispatcher")).status_code == 404
    # The township's command centre hears of it and judges it; the department may not.
    inbox = client.get("/api/v1/notifications", headers=login("t1.dispatcher")).get_json()
    assert [n["kind"] for n in inbox["items"]] == ["whistle_raised"]
    error = whistle(client, login("d1.staff"), call, "accept", expect=403,
                    lead_department_id=zrzy,
                    arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                    completion_due_at=(START + timedelta(hours=8)).isoformat())
    assert error["code"] == "permission_denied"
    call = whistle(client, login("t1.dispatcher"), call, "accept", lead_department_id=zrzy,
                   cooperating_department_ids=[cgzf],
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=8)).isoformat())
    clock.advance(minutes=30)
    arrival(client, login("d1.zrzy"), call, north_of(PLACE, 20))
    arrival(client, login("d1.staff"), call, north_of(PLACE, 10))

    # The raiser closes and rates the department it called, but not its own.
    clock.advance(hours=2)
    call = client.get(f"/api/v1/whistle-calls/{call['id']}", headers=login("d1.staff")).get_json()
    call = whistle(client, login("d1.staff"), call, "close", result="联合执法完毕")
    call = whistle(client, login("d1.staff"), call, "ratings", department_id=zrzy,
                   satisfaction="satisfied")
    error = whistle(client, login("d1.staff"), call, "ratings", expect=403,
                    department_id=cgzf, satisfaction="satisfied")
    assert error["code"] == "own_department"
    # The township's command centre rates the raising department's part.
    call = whistle(client, login("t1.dispatcher"), call, "ratings", department_id=cgzf,
                   satisfaction="basically_satisfied")
    assert {d["department"]["code"]: d["rating"]["satisfaction"]
            for d in call["departments"]} == {"D1-ZRZY": "satisfied",
                                              "D1-CGZF": "basically_satisfied"}

    # 双考评: the department is on the callers' side for this call, the township is not.
    scores = client.get("/api/v1/whistle-calls/evaluation",
                        headers=login("d1.dispatcher")).get_json()
    assert scores["townships"] == []
    [raiser] = scores["raising_departments"]
    assert (raiser["department"]["code"], raiser["raised"], raiser["accepted"],
            raiser["closed"], raiser["closed_on_time"]) == ("D1-CGZF", 1, 1, 1, 1)


def test_a_department_raises_only_in_the_townships_it_serves(client, whistle_world, login,
                                                             raise_call):
    # A district's department serves every township of its district...
    call = raise_call("d1.handler", at=T2_PLACE)
    assert (call["township"]["code"], call["raised_by_department_id"]) == (
        "T2", str(whistle_world.units["D1-SCJG"].id))
    # ...where a township's dispatcher is held to its own township.
    assert raise_call("t1.dispatcher", at=T2_PLACE, expect=422)["code"] == "outside_township"
    # Another district, or no grid at all, is outside the area it serves.
    for place in (T3_PLACE, NOWHERE):
        error = raise_call("d1.handler", at=place, expect=422)
        assert error["code"] == "outside_served_area"
        assert set(error["errors"]["json"]) == {"lon", "lat"}
    # T2's command centre judges the department's call in T2; T1's does not even see it.
    assert client.get(f"/api/v1/whistle-calls/{call['id']}",
                      headers=login("t2.dispatcher")).status_code == 200
    assert client.get(f"/api/v1/whistle-calls/{call['id']}",
                      headers=login("t1.dispatcher")).status_code == 404


def test_the_raising_departments_phones_hold_its_call_until_rated(client, whistle_world, login,
                                                                  raise_call, clock):
    handler = Phone(client, login, "d1.handler")
    call = raise_call("d1.handler")
    pulled = handler.sync()
    assert pulled["whistle_calls"]["created"] == {call["id"]}
    record = handler.db["whistle_calls"][call["id"]]
    assert record["raised_by_department_id"] == str(whistle_world.units["D1-SCJG"].id)
    assert record["status"] == "raised"


def test_a_handler_of_the_raising_department_closes_for_it(app, client, whistle_world, login,
                                                          raise_call, db_session, clock):
    create_user(db_session, app.extensions["gridops.passwords"], username="d1.cgzf.handler",
                password=PASSWORD, display_name="d1.cgzf.handler",
                unit_id=whistle_world.units["D1-CGZF"].id, roles=[Role.DEPARTMENT_HANDLER],
                now=NOW)
    db_session.flush()
    zrzy = str(whistle_world.units["D1-ZRZY"].id)
    call = whistle(client, login("t1.dispatcher"), raise_call("d1.staff"), "accept",
                   lead_department_id=zrzy,
                   arrival_due_at=(START + timedelta(hours=2)).isoformat(),
                   completion_due_at=(START + timedelta(hours=8)).isoformat())
    clock.advance(hours=1)
    # The department called to the site may not close it; the raising department's desk may.
    error = whistle(client, login("d1.zrzy"), call, "close", expect=403, result="x")
    assert error["code"] == "not_caller"
    call = whistle(client, login("d1.cgzf.handler"), call, "close", result="已处置")
    assert call["status"] == "closed"
