"""Open311 GeoReport v2 through the test client: formats, errors, keys, intake, privacy."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from server.cases.models import Case
from server.open311 import queries
from server.open311.models import Open311Key, Open311Request
from tests.fixtures.cases import NOWHERE, act
from tests.fixtures.open311 import fms_form, xml

V2 = "/open311/v2"


def test_discovery_names_the_endpoint_and_both_formats(client, world):
    doc = xml(client.get(f"{V2}/discovery.xml"))
    [endpoint] = doc.findall("endpoints/endpoint")
    assert endpoint.findtext("url").endswith("/open311/v2")
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    as_json = client.get(f"{V2}/discovery.json").get_json()
    assert as_json["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"


def test_the_services_are_the_dispatchable_items_with_their_group(client, open311_catalogue):
    doc = xml(client.get(f"{V2}/services.xml"))
    services = {s.findtext("service_code"): s for s in doc.findall("service")}
    assert sorted(services) == ["01.01", "01.01.01", "02.01", "03.01"]  # not the groups
    assert services["01.01"].findtext("service_name") == "占道经营"
    assert services["01.01"].findtext("group") == "市容环境"
    assert services["01.01"].findtext("metadata") == "true"  # it has a child
    assert services["02.01"].findtext("metadata") == "false"
    # Parameters of other servers are ignored (clients we do not control), not refused.
    listed = client.get(f"{V2}/services.json?jurisdiction_id=beijing&x=1").get_json()
    assert [s["service_code"] for s in listed] == sorted(services)


def test_a_definition_offers_the_child_items_as_a_subcategory(client, open311_catalogue):
    doc = xml(client.get(f"{V2}/services/01.01.xml"))
    [attribute] = doc.findall("attributes/attribute")
    assert attribute.findtext("code") == "subcategory"
    assert attribute.findtext("datatype") == "singlevaluelist"
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] \
        == [("01.01.01", "早市占道")]
    assert client.get(f"{V2}/services/02.01.json").get_json()["attributes"] == []


def test_errors_come_in_the_spec_shape_with_its_status_codes(client, open311_key):
    missing = client.get(f"{V2}/services/99.xml")
    assert missing.status_code == 404
    [error] = xml(missing).findall("error")
    assert error.findtext("code") == "404"
    assert "unknown_service" in error.findtext("description")
    bad_key = client.post(f"{V2}/requests.json", data=fms_form("not-a-key"))
    assert bad_key.status_code == 403
    assert bad_key.get_json()[0]["code"] == 403
    no_code = client.post(f"{V2}/requests.xml", data={"api_key": open311_key, "lat": "39.9"})
    assert no_code.status_code == 400
    assert "service_code" in xml(no_code).findtext("error/description")
    wide = client.get(f"{V2}/requests.json?start_date=2026-01-01T00:00:00Z"
                      "&end_date=2026-06-01T00:00:00Z")
    assert (wide.status_code, wide.get_json()[0]["code"]) == (400, 400)
    assert client.get(f"{V2}/requests.json?status=pending").status_code == 400


def test_a_fixmystreet_post_becomes_a_dispatched_case_in_the_township_queue(
        client, world, login, open311_key, db_session):
    posted = client.post(f"{V2}/requests.xml", data=fms_form(open311_key))
    assert posted.status_code == 201, posted.data
    number = xml(posted).findtext("request/service_request_id")
    assert xml(posted).findtext("request/token")
    queue = client.get("/api/v1/cases", headers=login("t1.dispatcher")).get_json()["items"]
    [case] = [c for c in queue if c["number"] == number]
    assert (case["channel"], case["status"], case["basic_grid"]["code"]) == \
        ("internet", "dispatched", "T1-A1")
    assert case["special_grids"] == ["T1-S1"]
    assert case["lead_unit"]["code"] == "T1"  # 01.01 is territorial
    full = client.get(f"/api/v1/cases/{case['id']}", headers=login("t1.dispatcher")).get_json()
    assert full["resident"]["name"] == "张三"  # family name first
    assert full["attachments"][0]["url"] == "https://fms.example.cn/photo/1.jpeg"
    stored = db_session.get(Open311Request, db_session.scalar(
        sa.select(Case.id).where(Case.number == number)))
    assert (stored.email, stored.attributes) == (
        "zhangsan@example.cn", {"report_url": ["https://fms.example.cn/report/1"]})


def test_a_retried_post_answers_the_same_request_and_files_one_case(
        client, open311_key, db_session):
    form = fms_form(open311_key, device_id="phone-1", account_id="fms-42")
    first = client.post(f"{V2}/requests.json", data=form)
    again = client.post(f"{V2}/requests.json", data=form)
    other = client.post(f"{V2}/requests.json", data={**form, "device_id": "phone-2"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.get_json() == first.get_json()
    assert other.get_json()[0]["service_request_id"] != first.get_json()[0]["service_request_id"]
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Open311Request)) == 2


def test_the_subcategory_attribute_files_the_child_item(client, login, open311_key):
    chosen = client.post(f"{V2}/requests.json",
                         data=fms_form(open311_key, **{"attribute[subcategory]": "01.01.01"}))
    number = chosen.get_json()[0]["service_request_id"]
    [one] = client.get(f"{V2}/requests/{number}.json").get_json()
    assert (one["service_code"], one["service_name"]) == ("01.01.01", "早市占道")
    wrong = client.post(f"{V2}/requests.json",
                        data=fms_form(open311_key, **{"attribute[subcategory]": "02.01"}))
    assert wrong.status_code == 400


def test_an_address_only_request_waits_in_the_receiving_townships_triage(
        client, login, open311_key):
    form = {k: v for k, v in fms_form(open311_key).items() if k not in ("lat", "long")}
    posted = client.post(f"{V2}/requests.json", data={**form, "address_string": "学院路 1 号"})
    number = posted.get_json()[0]["service_request_id"]
    queue = client.get("/api/v1/cases?needs_triage=true",
                       headers=login("t1.dispatcher")).get_json()["items"]
    assert [c["triage_reason"] for c in queue if c["number"] == number] == ["no_location"]
    nowhere = client.post(f"{V2}/requests.json", data={
        **form, "lat": str(NOWHERE[1]), "long": str(NOWHERE[0])})
    assert nowhere.status_code == 201
    none = client.post(f"{V2}/requests.json", data=form)
    assert none.status_code == 400


def test_get_answers_never_carry_resident_data(client, open311_key):
    form = fms_form(open311_key, device_id="phone-secret", account_id="acct-secret")
    number = client.post(f"{V2}/requests.xml", data=form)
    assert number.status_code == 201
    answers = [client.get(f"{V2}/requests.{f}") for f in ("xml", "json")]
    answers += [client.get(f"{V2}/requests/{xml(number).findtext('request/service_request_id')}"
                           f".{f}") for f in ("xml", "json")]
    answers.append(number)
    for answer in answers:
        text = answer.data.decode()
        for secret in ("张", "13812341234", "zhangsan@", "phone-secret", "acct-secret"):
            assert secret not in text, (secret, text)


def test_the_filters_of_get_requests(client, open311_key, db_session, monkeypatch):
    numbers = [client.post(f"{V2}/requests.json", data=fms_form(
        open311_key, service_code=code, description=f"第 {i} 件")).get_json()[0]
        ["service_request_id"] for i, code in enumerate(["01.01", "02.01", "03.01"])]
    by_id = client.get(f"{V2}/requests.json?service_request_id={numbers[0]},{numbers[2]}"
                       "&service_code=02.01").get_json()  # the ids override other filters
    assert sorted(r["service_request_id"] for r in by_id) == sorted([numbers[0], numbers[2]])
    by_code = client.get(f"{V2}/requests.json?service_code=02.01,03.01").get_json()
    assert sorted(r["service_request_id"] for r in by_code) == sorted(numbers[1:])
    assert client.get(f"{V2}/requests.json?status=closed").get_json() == []
    assert len(client.get(f"{V2}/requests.json?status=open,closed").get_json()) == 3
    # The default window is the last 90 days: a request of 100 days ago is left out...
    old = db_session.scalar(sa.select(Case).where(Case.number == numbers[0]))
    old.received_at -= timedelta(days=100)
    db_session.flush()
    assert numbers[0] not in [r["service_request_id"] for r in
                              client.get(f"{V2}/requests.json").get_json()]
    # ...and found by a range that holds it.
    start = (old.received_at - timedelta(days=1)).isoformat()
    in_range = client.get(f"{V2}/requests.json", query_string={"start_date": start}).get_json()
    assert [r["service_request_id"] for r in in_range] == [numbers[0]]
    monkeypatch.setattr(queries, "MAX_RESULTS", 1)  # the 1,000 cap, scaled down
    assert len(client.get(f"{V2}/requests.json").get_json()) == 1


def test_a_status_change_shows_in_get(client, world, login, open311_key):
    number = client.post(f"{V2}/requests.json", data=fms_form(open311_key)).get_json()[0][
        "service_request_id"]
    [seen] = client.get(f"{V2}/requests/{number}.json").get_json()
    assert (seen["status"], seen["agency_responsible"]) == ("open", "Unit T1")
    queue = client.get("/api/v1/cases", headers=login("t1.dispatcher")).get_json()["items"]
    [listed] = [c for c in queue if c["number"] == number]
    case = client.get(f"/api/v1/cases/{listed['id']}", headers=login("t1.dispatcher")).get_json()
    assert seen["expected_datetime"] == case["completion_due_at"]
    dispatcher = login("t1.dispatcher")
    case = act(client, dispatcher, case, "accept")
    case = act(client, dispatcher, case, "complete", result="已清理")
    [completed] = xml(client.get(f"{V2}/requests/{number}.xml")).findall("request")
    assert (completed.findtext("status"), completed.findtext("status_notes")) == \
        ("open", "已办结，等待回访。")
    act(client, login("d1.dispatcher"), case, "callback", resolved=True,
        satisfaction="satisfied")
    [closed] = client.get(f"{V2}/requests/{number}.json").get_json()
    assert (closed["status"], closed["status_notes"]) == ("closed", "已结案。")
    assert closed["updated_datetime"] > seen["updated_datetime"]


def test_tokens_answer_the_request_id(client, open311_key):
    [made] = client.post(f"{V2}/requests.json", data=fms_form(open311_key)).get_json()
    [found] = xml(client.get(f"{V2}/tokens/{made['token']}.xml")).findall("request")
    assert found.findtext("service_request_id") == made["service_request_id"]
    assert client.get(f"{V2}/tokens/nope.json").status_code == 404


def test_keys_are_issued_by_admins_hashed_listed_and_revoked(client, login, open311_key,
                                                              db_session):
    refused = client.post("/api/v1/open311-keys", headers=login("t1.dispatcher"),
                          json={"name": "x", "unit_code": "T1-CC"})
    assert refused.status_code == 403
    [listed] = client.get("/api/v1/open311-keys", headers=login("admin")).get_json()
    assert "key" not in listed
    assert listed["key_prefix"] == open311_key[:6]
    stored = db_session.scalar(sa.select(Open311Key))
    assert open311_key not in (stored.key_hash, stored.key_prefix)
    revoked = client.post(f"/api/v1/open311-keys/{listed['id']}/revoke", headers=login("admin"))
    assert revoked.get_json()["revoked_at"]
    assert client.post(f"{V2}/requests.xml", data=fms_form(open311_key)).status_code == 403


def test_posts_are_rate_limited_per_key(app, client, login, open311_key, monkeypatch):
    monkeypatch.setitem(app.config, "OPEN311_RATE_LIMIT", "2/hour")
    answers = [client.post(f"{V2}/requests.xml", data=fms_form(
        open311_key, description=f"第 {i} 件")).status_code for i in range(3)]
    assert answers == [201, 201, 429]
    refused = client.post(f"{V2}/requests.xml", data=fms_form(open311_key))
    assert xml(refused).findtext("error/code") == "429"
    assert int(refused.headers["Retry-After"]) > 0
    # Another key has its own budget.
    other = client.post("/api/v1/open311-keys", headers=login("admin"),
                        json={"name": "城市服务 App", "unit_code": "T1-CC"}).get_json()["key"]
    assert client.post(f"{V2}/requests.xml", data=fms_form(other)).status_code == 201


def test_the_openapi_document_shows_open311_errors_in_the_spec_shape(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = [(path, op) for path, item in spec["paths"].items()
                  if path.startswith("/open311/") for op in item.values() if "responses" in op]
    assert len(operations) == 7
    for path, operation in operations:
        responses = operation["responses"]
        assert "422" not in responses, path
        for status in ("400", "429"):
            [example] = responses[status]["content"]["application/json"]["example"]
            assert example["code"] == int(status), path


def test_the_cli_issues_lists_and_revokes_keys(app, client, world, open311_catalogue):
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["open311-key", "issue", "--name", "城市服务 App",
                                 "--unit", "T1-CC"])
    assert issued.exit_code == 0, issued.output
    key_id, key = issued.output.split()[1], issued.output.strip().splitlines()[-1]
    assert client.post(f"{V2}/requests.json", data=fms_form(key)).status_code == 201
    listed = runner.invoke(args=["open311-key", "list"])
    assert f"{key_id}  {key[:6]}…  城市服务 App  T1-CC  active" in listed.output
    assert runner.invoke(args=["open311-key", "revoke", key_id]).exit_code == 0
    assert client.post(f"{V2}/requests.json", data=fms_form(key)).status_code == 403
    unknown = runner.invoke(args=["open311-key", "issue", "--name", "x", "--unit", "NOPE"])
    assert (unknown.exit_code, "unknown_unit" in unknown.output) == (2, True)
