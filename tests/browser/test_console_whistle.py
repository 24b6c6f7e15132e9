"""The whistle board's actions: a township command centre judges a raised call (a judgement the
API refuses is shown in words first), closes it and rates a department, all from the board."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.pages import sign_in, wait


def _raise_call(server) -> dict:  # noqa: ANN001
    units = server.api("district.dispatcher", "/units?kind=department")
    ids = {u["code"].rsplit("-", 1)[-1]: u["id"] for u in units}
    answer = requests.post(f"{server.url}/api/v1/whistle-calls", timeout=10, headers={
        "Authorization": f"Bearer {server.token('wj.dispatcher')}"}, json={
        "kind": "enforcement", "description": f"桥下占道堆物 {uuid.uuid4().hex[:6]}",
        "lon": 116.405, "lat": 39.984, "department_ids": [ids["CGZF"], ids["SCJG"]]})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _local(moment: datetime) -> str:
    """A datetime-local input's value (minutes), on the browser's own wall clock."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _set(driver, form, name: str, value: str) -> None:  # noqa: ANN001
    element = form.find_element(By.NAME, name)
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", element, value)


def _form(driver, row: str, action: str):  # noqa: ANN001, ANN202
    box = f"{row} [data-action='whistle_{action}']"
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, box))
    driver.find_element(By.CSS_SELECTOR, f"{box} > button").click()
    form = driver.find_element(By.CSS_SELECTOR, f"{box} form")
    wait(driver).until(lambda d: form.is_displayed())
    return form


def _status(server, call_id: str) -> dict:  # noqa: ANN001
    return server.api("wj.dispatcher", f"/whistle-calls/{call_id}")


def test_a_township_command_centre_judges_closes_and_rates_a_call(browser, server):
    call = _raise_call(server)
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/whistle")
    row = f"tr[data-call='{call['id']}']"

    # Judge it with the completion deadline before the arrival deadline: the API's refusal,
    # in words, with the field at fault and the code.
    form = _form(browser, row, "accept")
    assert form.find_element(By.NAME, "lead_department_id").get_attribute("value") \
        == call["departments"][0]["department"]["id"]  # pre-filled from the request
    offset = browser.execute_script("return new Date().getTimezoneOffset()")
    now = datetime.now(UTC) - timedelta(minutes=offset)  # the browser's wall clock
    _set(browser, form, "arrival_due_at", _local(now + timedelta(hours=3)))
    _set(browser, form, "completion_due_at", _local(now + timedelta(hours=1)))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    message = wait(browser).until(lambda d: next(
        (e.text for e in form.find_elements(By.CSS_SELECTOR, "p.error") if e.text), None))
    assert "judgement_invalid" in message
    assert "completion_due_at" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)  # the Chinese message
    assert _status(server, call["id"])["status"] == "raised"

    # The arrival radius: empty says the server's default; 350 m is stored on the call.
    radius = form.find_element(By.NAME, "arrival_radius_m")
    assert radius.get_attribute("value") == ""
    assert "200" in radius.get_attribute("placeholder")
    _set(browser, form, "arrival_radius_m", "350")
    _set(browser, form, "completion_due_at", _local(now + timedelta(hours=8)))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"{row} [data-action='whistle_close']"))
    judged = _status(server, call["id"])
    assert judged["status"] == "accepted"
    assert judged["arrival_radius_m"] == 350
    roles = {d["department"]["code"].rsplit("-", 1)[-1]: d["role"] for d in judged["departments"]}
    assert roles == {"CGZF": "lead", "SCJG": "cooperating"}

    form = _form(browser, row, "close")
    form.find_element(By.NAME, "result").send_keys("堆物已清理")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"{row} [data-action='whistle_rate']"))
    assert _status(server, call["id"])["status"] == "closed"

    form = _form(browser, row, "rate")
    lead = next(d for d in judged["departments"] if d["role"] == "lead")
    Select(form.find_element(By.NAME, "department_id")).select_by_value(lead["department"]["id"])
    Select(form.find_element(By.NAME, "satisfaction")).select_by_value("basically_satisfied")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: "1 / 2" in d.find_element(By.CSS_SELECTOR, row).text)
    rated = {d["department"]["id"]: d["rating"] for d in _status(server, call["id"])["departments"]}
    assert rated[lead["department"]["id"]]["satisfaction"] == "basically_satisfied"


def test_the_judge_form_offers_the_departments_serving_the_township(browser, server):
    # A township calls the district's departments (吹哨报到): its judge form offers every one
    # of them, not only those the call requested, and a judgement may name another.
    units = server.api("district.dispatcher", "/units?kind=department")
    district = {u["id"] for u in units}
    assert {u["id"] for u in server.api("wj.dispatcher", "/units?kind=department")} >= district
    call = _raise_call(server)
    requested = {d["department"]["id"] for d in call["departments"]}
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/whistle")
    row = f"tr[data-call='{call['id']}']"
    form = _form(browser, row, "accept")
    lead = Select(form.find_element(By.NAME, "lead_department_id"))
    offered = {o.get_attribute("value") for o in lead.options} - {""}
    assert offered >= district
    other = sorted(district - requested)[0]
    cooperating = Select(form.find_element(By.NAME, "cooperating_department_ids"))
    cooperating.select_by_value(other)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, f"{row} [data-action='whistle_close']"))
    judged = _status(server, call["id"])
    named = {d["department"]["id"]: d["role"] for d in judged["departments"] if d["role"]}
    assert named[other] == "cooperating"
    assert judged["arrival_radius_m"] == 200  # left empty: the server's default
