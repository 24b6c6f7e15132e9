"""Auditors (and admins) read who saw whose personal data, when and why; nobody else does."""

from __future__ import annotations

PHONE = "13900003333"


def _log(client, login, username="auditor", **query):  # noqa: ANN001, ANN003, ANN202
    response = client.get("/api/v1/cases/personal-data-access", query_string=query,
                          headers=login(username))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _seen(client, world, login, file_case):  # noqa: ANN001, ANN202
    led = file_case(category_code="02.01", resident_phone=PHONE)  # shown to t1.dispatcher
    other = file_case()  # shown to t1.dispatcher
    assert client.get(f"/api/v1/cases/{led['id']}",
                      headers=login("d1.dispatcher")).status_code == 200
    found = client.get("/api/v1/cases", query_string={"resident_phone": PHONE},
                       headers=login("d1.handler")).get_json()["items"]
    assert [c["id"] for c in found] == [led["id"]]
    return led, other


def test_the_auditor_reads_who_saw_whose_data_when_and_why(client, world, login, file_case):
    led, other = _seen(client, world, login, file_case)
    items = _log(client, login)["items"]
    seen = sorted((e["user"]["username"], e["case"]["number"], e["purpose"]) for e in items)
    assert seen == sorted([
        ("t1.dispatcher", led["number"], "view"), ("t1.dispatcher", other["number"], "view"),
        ("d1.dispatcher", led["number"], "view"),
        ("d1.handler", led["number"], "lookup"), ("d1.handler", led["number"], "view")])
    entry = next(e for e in items if e["purpose"] == "lookup")
    assert entry["user"]["unit"]["code"] == "D1-SCJG"
    assert entry["resident"] == {"name": "张*", "phone": "139****3333"}
    assert entry["at"].endswith("+00:00")

    by_case = _log(client, login, case_id=other["id"])["items"]
    assert [(e["user"]["username"], e["case"]["id"]) for e in by_case] == [
        ("t1.dispatcher", other["id"])]
    by_user = _log(client, login, "admin", user_id=str(world.users["d1.handler"].id))["items"]
    assert sorted(e["purpose"] for e in by_user) == ["lookup", "view"]
    assert len(_log(client, login, purpose="lookup")["items"]) == 1


def test_the_log_is_keyset_paged_newest_first(client, world, login, file_case):
    _seen(client, world, login, file_case)
    everything = _log(client, login)["items"]
    walked, cursor = [], None
    while True:
        page = _log(client, login, limit=2, **({"cursor": cursor} if cursor else {}))
        walked += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["id"] for e in walked] == [e["id"] for e in everything]
    assert len(walked) == 5
    assert [e["at"] for e in walked] == sorted((e["at"] for e in walked), reverse=True)


def test_nobody_else_reads_the_log(client, world, login, file_case):
    for username in ("t1.dispatcher", "d1.dispatcher", "d1.handler", "t1.worker"):
        response = client.get("/api/v1/cases/personal-data-access", headers=login(username))
        assert response.status_code == 403, username
        assert response.get_json()["code"] == "permission_denied"
