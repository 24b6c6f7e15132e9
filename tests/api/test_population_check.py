"""GET /units/population-check and the township audit's population line (issue 11)."""

from __future__ import annotations

from tests.api.test_auth import assert_error


def _rows(body):  # noqa: ANN001, ANN202
    return {row["unit"]["code"]: row for row in body["units"]}


def test_the_district_and_its_townships_are_reported_not_refused(client, world, login):
    # D1 records 200,000; its townships T1 (50,000) and T2 (30,000) sum to 80,000.
    response = client.get("/api/v1/units/population-check", headers=login("admin"))
    assert response.status_code == 200, response.get_json()
    rows = _rows(response.get_json())
    d1 = rows["D1"]
    assert (d1["status"], d1["population"], d1["children_sum"], d1["difference"]) == (
        "mismatch", 200_000, 80_000, 120_000)
    assert d1["figure_used"] == "recorded"
    # T1 records 50,000, its one community 10,000; T2-C1 has none recorded.
    assert (rows["T1"]["status"], rows["T1"]["difference"]) == ("mismatch", 40_000)
    assert rows["T2"]["status"] == "children_incomplete"
    assert (rows["D2"]["status"], rows["D2"]["figure_used"]) == ("missing", "none")
    assert "D1-CC" not in rows  # command centres have no residents
    assert response.get_json()["problems"] >= 4


def test_a_township_dispatcher_sees_its_subtree_only(client, world, login):
    body = client.get("/api/v1/units/population-check", headers=login("t1.dispatcher")).get_json()
    assert set(_rows(body)) == {"T1", "T1-C1"}
    assert_error(client.get("/api/v1/units/population-check", query_string={"unit": "T2"},
                            headers=login("t1.dispatcher")), 404, "unit_not_found")


def test_a_unit_and_its_subtree(client, world, login):
    body = client.get("/api/v1/units/population-check", query_string={"unit": "T1"},
                      headers=login("admin")).get_json()
    assert set(_rows(body)) == {"T1", "T1-C1"}


def test_the_topology_audit_has_a_population_line(client, world, login):
    response = client.get("/api/v1/townships/T1/topology-audit", headers=login("admin"))
    assert response.status_code == 200, response.get_json()
    line = response.get_json()["population"]
    assert (line["unit"]["code"], line["status"]) == ("T1", "mismatch")
    assert line["children_sum"] == 10_000
