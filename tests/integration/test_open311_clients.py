"""Real Open311 clients against a running server on PostGIS whose requests really commit.

Reads: the ``georeport`` client from PyPI (0.3.1; it has no discovery, token or POST call),
in both of its formats. Writes: form-encoded POSTs exactly as FixMyStreet's Open311 sender
makes them (perllib/Open311.pm: ``api_key`` and ``jurisdiction_id`` in the body, the name
split in two, ``attribute[...]`` fields, several ``media_url``; it reads the XML answer's
``request/service_request_id``). Then the case is in the township's queue on the right grid
and unit, and each status change shows in what georeport reads.
"""

from __future__ import annotations

import threading
from xml.etree import ElementTree as ET

import pytest
import requests
from georeport import GeoReport
from werkzeug.serving import make_server

from server.extensions import db
from tests.fixtures.cases import IN_T1_B2
from tests.fixtures.open311 import OPEN311_CATALOGUE, fms_form
from tests.fixtures.world import PASSWORD, build_world


@pytest.fixture
def served(committing_postgis_app):  # noqa: ANN001, ANN201
    """The app over real HTTP on a free port (a threaded werkzeug server)."""
    server = make_server("127.0.0.1", 0, committing_postgis_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class Site:
    """The seeded server: the world, the catalogue, a key; sign-ins over HTTP."""

    def __init__(self, app, base: str) -> None:  # noqa: ANN001
        with app.app_context():
            build_world(db.session, app.extensions["gridops.passwords"])
            db.session.commit()
            db.session.remove()
        self.base = base
        self.http = requests.Session()
        self.headers: dict[str, dict[str, str]] = {}
        assert self.api("post", "/catalogue/import", "admin",
                        json={"items": OPEN311_CATALOGUE}).status_code in (200, 201)
        issued = self.api("post", "/open311-keys", "admin",
                          json={"name": "FixMyStreet", "unit_code": "T1-CC"})
        assert issued.status_code == 201, issued.text
        self.key = issued.json()["key"]

    def api(self, method: str, path: str, user: str, **kw) -> requests.Response:  # noqa: ANN003
        if user not in self.headers:
            answer = self.http.post(f"{self.base}/api/v1/auth/login",
                                    json={"username": user, "password": PASSWORD})
            assert answer.status_code == 201, answer.text
            self.headers[user] = {"Authorization": f"Bearer {answer.json()['token']}"}
        return self.http.request(method, f"{self.base}/api/v1{path}",
                                 headers=self.headers[user], **kw)

    def act(self, case: dict, action: str, user: str, **body) -> dict:  # noqa: ANN003
        answer = self.api("post", f"/cases/{case['id']}/{action}", user,
                          json={"version": case["version"], **body})
        assert answer.status_code == 200, answer.text
        return answer.json()


def _as_list(value):  # noqa: ANN001, ANN202 - xmltodict gives a dict for one element
    return value if isinstance(value, list) else [value]


def test_fixmystreet_posts_and_georeport_reads(committing_postgis_app, served):
    site = Site(committing_postgis_app, served)
    v2 = f"{served}/open311/v2"
    # FixMyStreet: form-encoded, key and jurisdiction in the body, XML answer.
    fms = fms_form(site.key, jurisdiction_id="beijing", media_url=[
        "https://fms.example.cn/photo/1.jpeg", "https://fms.example.cn/photo/2.jpeg"])
    posted = requests.post(f"{v2}/requests.xml", data=fms, timeout=30)
    assert posted.status_code == 201, posted.text
    assert posted.headers["Content-Type"].startswith("text/xml")
    xml_id = ET.fromstring(posted.content).findtext("request/service_request_id")
    retried = requests.post(f"{v2}/requests.xml", data=fms, timeout=30)  # its retry
    assert ET.fromstring(retried.content).findtext("request/service_request_id") == xml_id
    # The same sender, JSON this time, another service and another grid.
    as_json = requests.post(f"{v2}/requests.json", timeout=30, data=fms_form(
        site.key, service_code="02.01", lat=f"{IN_T1_B2[1]:.6f}", long=f"{IN_T1_B2[0]:.6f}",
        description="餐馆后厨卫生很差"))
    assert as_json.status_code == 201, as_json.text
    json_id = as_json.json()[0]["service_request_id"]

    # Both are in the township's queue, on the right grid, with the catalogue's lead.
    queue = {c["number"]: c for c in site.api("get", "/cases", "t1.dispatcher").json()["items"]}
    assert (queue[xml_id]["basic_grid"]["code"], queue[xml_id]["lead_unit"]["code"],
            queue[xml_id]["channel"]) == ("T1-A1", "T1", "internet")
    assert (queue[json_id]["basic_grid"]["code"], queue[json_id]["lead_unit"]["code"]) == \
        ("T1-B2", "D1-SCJG")
    assert len([n for n in queue if n in (xml_id, json_id)]) == 2  # the retry filed nothing

    for fmt in ("xml", "json"):
        client = GeoReport(v2, output_format=fmt)
        services = {s["service_code"]: s for s in client.get_service_list()}
        assert services["01.01"]["service_name"] == "占道经营"
        assert services["01.01"]["group"] == "市容环境"
        definition = client.get_service_definition("01.01")
        attributes = definition["attributes"]
        attribute = _as_list(attributes["attribute"] if fmt == "xml" else attributes)[0]
        assert attribute["code"] == "subcategory"
        values = attribute["values"]["value"] if fmt == "xml" else attribute["values"]
        assert _as_list(values)[0]["key"] == "01.01.01"
        found = _as_list(client.get_service_requests(service_request_id=f"{xml_id},{json_id}"))
        assert {r["service_request_id"] for r in found} == {xml_id, json_id}
        by_code = _as_list(client.get_service_requests(service_code="02.01", status="open"))
        assert [r["service_request_id"] for r in by_code] == [json_id]
        one = client.get_service_request(xml_id)
        assert (one["status"], one["agency_responsible"]) == ("open", "Unit T1")
        assert one["media_url"] == "https://fms.example.cn/photo/1.jpeg"
        assert "13812341234" not in str(one)
        assert "zhangsan" not in str(one)

    # The case loop moves; georeport sees each step.
    reader = GeoReport(v2, output_format="xml")
    case = site.api("get", f"/cases/{queue[xml_id]['id']}", "t1.dispatcher").json()
    case = site.act(case, "accept", "t1.dispatcher")
    assert reader.get_service_request(xml_id)["status_notes"] == "承办单位已签收。"
    case = site.act(case, "complete", "t1.dispatcher", result="摊位已清理")
    assert reader.get_service_request(xml_id)["status"] == "open"  # awaiting the callback
    site.act(case, "callback", "d1.dispatcher", resolved=True, satisfaction="satisfied")
    closed = reader.get_service_request(xml_id)
    assert (closed["status"], closed["status_notes"]) == ("closed", "已结案。")
    assert [r["service_request_id"] for r in
            _as_list(reader.get_service_requests(status="closed"))] == [xml_id]

    # What georeport cannot call: discovery and tokens, by plain HTTP.
    token = ET.fromstring(posted.content).findtext("request/token")
    answer = requests.get(f"{v2}/tokens/{token}.json", timeout=30).json()
    assert answer == [{"service_request_id": xml_id, "token": token}]
    assert requests.get(f"{v2}/discovery.json", timeout=30).json()["endpoints"][0]["url"] == v2


def test_the_same_post_sent_twice_at_once_files_one_case(committing_postgis_app, served):
    site = Site(committing_postgis_app, served)
    form = fms_form(site.key, device_id="phone-1", account_id="fms-7")
    barrier = threading.Barrier(4)
    answers: list[requests.Response] = []

    def post() -> None:
        barrier.wait()
        answers.append(requests.post(f"{served}/open311/v2/requests.json", data=form,
                                     timeout=60))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], \
        [a.text for a in answers]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    queue = site.api("get", "/cases", "t1.dispatcher").json()["items"]
    assert len(queue) == 1
