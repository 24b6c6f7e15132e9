"""Case views name the category beside its code; the timeline names units, and credits an
automatic dispatch to the catalogue item whose rule it used."""

from __future__ import annotations

from tests.fixtures.cases import act


def test_a_case_shows_its_category_name_from_the_catalogue(client, login, file_case):
    case = file_case(category_code="02.01")
    assert case["category"] == {"code": "02.01", "name": "食品安全"}
    headers = login("t1.dispatcher")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=headers).get_json()[
        "category"] == {"code": "02.01", "name": "食品安全"}
    [listed] = client.get(f"/api/v1/cases?number={case['number']}",
                          headers=headers).get_json()["items"]
    assert listed["category"] == {"code": "02.01", "name": "食品安全"}
    assert file_case(category_code=None)["category"] is None


def test_the_timeline_names_units_and_the_rule_of_the_automatic_dispatch(
        client, world, login, file_case):
    case = file_case(category_code="01.01")  # territorial lead, market supervision cooperates
    headers = login("t1.dispatcher")
    act(client, headers, case, "dispatch", lead_unit_id=str(world.units["D1-CGZF"].id),
        cooperating_unit_ids=[str(world.units["D1-SCJG"].id)])
    received, auto, manual = client.get(f"/api/v1/cases/{case['id']}/timeline",
                                        headers=headers).get_json()

    assert received["actor_unit"] == {"id": str(world.units["T1-CC"].id), "code": "T1-CC",
                                      "name": "Unit T1-CC"}
    assert (auto["action"], auto["actor_username"], auto["actor_unit"]) == (
        "dispatch", "system", None)
    assert auto["dispatch_rule"] == {"code": "01.01", "name": "占道经营"}
    assert auto["lead_unit"]["code"] == case["lead_unit"]["code"]
    assert auto["lead_unit"]["name"] == case["lead_unit"]["name"]
    assert [u["name"] for u in auto["cooperating_units"]] == ["Unit D1-SCJG"]

    assert manual["dispatch_rule"] is None
    assert manual["actor_unit"]["name"] == "Unit T1-CC"
    assert manual["lead_unit"] == {"id": str(world.units["D1-CGZF"].id), "code": "D1-CGZF",
                                   "name": "Unit D1-CGZF"}
    assert [u["code"] for u in manual["cooperating_units"]] == ["D1-SCJG"]
