"""Who sees which whistle calls, and the list's filters and keyset pages."""

from __future__ import annotations

from datetime import timedelta

from tests.fixtures.whistle import PLACE, START, arrival, whistle

T2_PLACE = (116.405, 39.905)  # inside T2-A1


def ids(client, headers, query: str = "") -> list[str]:  # noqa: ANN001
    response = client.get(f"/api/v1/whistle-calls{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["items"]]


def test_scope_township_department_district(client, whistle_world, login, raise_call, clock):
    cgzf = str(whistle_world.units["D1-CGZF"].id)
    zrzy = str(whistle_world.units["D1-ZRZY"].id)
    t1 = raise_call(department_ids=[cgzf])
    clock.advance(minutes=1)
    t2 = raise_call("t2.dispatcher", at=T2_PLACE, department_ids=[zrzy])

    assert ids(client, login("t1.dispatcher")) == [t1["id"]]
    assert ids(client, login("t1.leader")) == [t1["id"]]  # a grid leader of the township
    assert ids(client, login("t2.dispatcher")) == [t2["id"]]
    assert ids(client, login("d1.dispatcher")) == [t2["id"], t1["id"]]
    assert ids(client, login("d2.dispatcher")) == []
    # Requested departments hear of a call when named (need to know, docs/scope.md).
    assert ids(client, login("d1.staff")) == []
    assert ids(client, login("d1.zrzy")) == []
    assert ids(client, login("d1.handler")) == []  # market supervision: on neither
    assert ids(client, login("t1.worker")) == []
    assert len(ids(client, login("auditor"))) == 2

    # Another township's call does not exist for it: 404, not 403.
    for username in ("t2.dispatcher", "d2.dispatcher", "d1.handler"):
        response = client.get(f"/api/v1/whistle-calls/{t1['id']}", headers=login(username))
        assert response.status_code == 404
        assert response.get_json()["code"] == "whistle_call_not_found"
        response = client.get(f"/api/v1/whistle-calls/{t1['id']}/timeline",
                              headers=login(username))
        assert response.status_code == 404
    error = whistle(client, login("t2.dispatcher"), t1, "reject", expect=404, reason="x")
    assert error["code"] == "whistle_call_not_found"

    # Once named by the judgement, market supervision sees the call.
    whistle(client, login("d1.dispatcher"), t1, "accept", lead_department_id=cgzf,
            cooperating_department_ids=[str(whistle_world.units["D1-SCJG"].id)],
            arrival_due_at=(START + timedelta(hours=2)).isoformat(),
            completion_due_at=(START + timedelta(hours=6)).isoformat())
    assert ids(client, login("d1.handler")) == [t1["id"]]
    assert ids(client, login("d1.staff")) == [t1["id"]]


def test_filters_and_pages(client, whistle_world, login, raise_call, clock):
    cgzf = str(whistle_world.units["D1-CGZF"].id)
    zrzy = str(whistle_world.units["D1-ZRZY"].id)
    made = []
    for i, kind in enumerate(("enforcement", "development", "livelihood", "enforcement")):
        clock.now = START + timedelta(hours=i)
        made.append(raise_call(kind=kind, department_ids=[cgzf] if i % 2 else [zrzy]))
    clock.now = START + timedelta(hours=5)
    made.append(raise_call("t2.dispatcher", at=T2_PLACE))
    district = login("d1.dispatcher")
    newest_first = [c["id"] for c in reversed(made)]
    assert ids(client, district) == newest_first

    # Accept the first (arrival within 1 h), reject the second.
    clock.now = START + timedelta(hours=5, minutes=10)
    first = whistle(client, district, made[0], "accept", lead_department_id=zrzy,
                    arrival_due_at=(clock.now + timedelta(hours=1)).isoformat(),
                    completion_due_at=(clock.now + timedelta(hours=8)).isoformat())
    whistle(client, district, made[1], "reject", reason="不属于联合执法事项")

    t1 = str(whistle_world.units["T1"].id)
    assert ids(client, district, f"?township_id={t1}") == newest_first[1:]
    assert ids(client, district, "?kind=enforcement") == [made[4]["id"], made[3]["id"],
                                                          made[0]["id"]]
    assert ids(client, district, "?status=accepted&status=rejected") == [made[1]["id"],
                                                                          made[0]["id"]]
    assert ids(client, district, f"?department_id={cgzf}") == [made[3]["id"], made[1]["id"]]
    frm = (START + timedelta(hours=1)).isoformat().replace("+", "%2B")
    to = (START + timedelta(hours=3)).isoformat().replace("+", "%2B")
    assert ids(client, district, f"?raised_from={frm}&raised_to={to}") == [made[2]["id"],
                                                                            made[1]["id"]]
    assert ids(client, district, "?overdue=true") == []
    clock.advance(hours=2)  # the lead has not arrived by its deadline
    assert ids(client, district, "?overdue=true") == [first["id"]]
    arrival(client, login("d1.zrzy"), first, PLACE)
    assert ids(client, district, "?overdue=true") == []  # late, but there

    # Keyset pages of two, stable and complete.
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/v1/whistle-calls{query}", headers=district).get_json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    response = client.get("/api/v1/whistle-calls?cursor=nonsense", headers=district)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_cursor"
