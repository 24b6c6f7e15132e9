"""The queue and the case page: dispatch from the queue, the timeline, a foreign case refused."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import screenshot
from tests.browser.pages import sign_in, visible_text, wait


def _case(server, username: str, title: str) -> dict:  # noqa: ANN001
    """A demo case by its title (numbers carry the year the demo was loaded)."""
    return next(c for c in server.api(username, "/cases?limit=100")["items"]
                if c["title"] == title)


def test_dispatcher_dispatches_a_case_from_the_queue_and_reads_its_timeline(browser, server):
    sign_in(browser, server, "wj.dispatcher")
    before = _case(server, "wj.dispatcher", "学校门口占道经营")  # category 01.01
    assert "dispatch" in before["allowed_actions"]
    units = server.api("wj.dispatcher", "/units")
    township = next(u for u in units if u["code"] == "110199001")

    browser.get(f"{server.url}/console/queue")
    row = f"tr[data-case='{before['number']}']"
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
    browser.find_element(By.CSS_SELECTOR, f"{row} button.open-dispatch").click()
    # The form starts from the catalogue's suggestion: 01.01 is led by city management (the
    # unit intake dispatched it to), with the township cooperating (territorial).
    assert before["lead_unit"]["name"] == "城市管理综合执法局"
    lead = Select(browser.find_element(By.CSS_SELECTOR, f"{row} select[name=lead_unit_id]"))
    wait(browser).until(lambda d: lead.first_selected_option.get_attribute("value"))
    assert lead.first_selected_option.get_attribute("value") == before["lead_unit"]["id"]
    # Every department serving the township is a choice (GET /units lists them for a township
    # command centre), not only the case's current lead.
    departments = {u["id"] for u in server.api("district.dispatcher", "/units?kind=department")}
    assert {o.get_attribute("value") for o in lead.options} >= departments
    cooperating = Select(browser.find_element(
        By.CSS_SELECTOR, f"{row} select[name=cooperating_unit_ids]"))
    assert [o.get_attribute("value") for o in cooperating.all_selected_options] == [
        township["id"]]
    cooperating.deselect_all()
    # The dispatcher sends it to the township itself instead, with a note.
    lead.select_by_value(township["id"])
    browser.find_element(By.CSS_SELECTOR, f"{row} textarea[name=note]").send_keys("属地先行处置")
    screenshot(browser, server, "queue")
    browser.find_element(By.CSS_SELECTOR, f"{row} form.dispatch button[type=submit]").click()
    wait(browser).until(lambda d: township["name"] in d.find_element(
        By.CSS_SELECTOR, f"{row} td.lead").text)
    assert "已完成操作" in visible_text(browser, "p.ok")
    after = _case(server, "wj.dispatcher", before["title"])
    assert after["lead_unit"]["id"] == township["id"]
    assert after["version"] > before["version"]

    browser.find_element(By.CSS_SELECTOR, f"{row} a").click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".timeline li")) >= 2)
    events = server.api("wj.dispatcher", f"/cases/{before['id']}/timeline")
    items = browser.find_elements(By.CSS_SELECTOR, ".timeline li")
    assert len(items) == len(events)
    assert "属地先行处置" in items[-1].text
    assert township["name"] in items[-1].text
    assert before["number"] in browser.find_element(By.CSS_SELECTOR, "h1").text
    screenshot(browser, server, "case")


def test_a_wrong_action_shows_the_apis_error_in_words(browser, server):
    sign_in(browser, server, "wj.dispatcher")
    case = _case(server, "wj.dispatcher", "小区电梯困人")
    browser.get(f"{server.url}/console/cases/{case['id']}")
    form = "div[data-action=escalate]"
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, form))
    browser.find_element(By.CSS_SELECTOR, f"{form} > button").click()
    # A stale version (someone else changed the case meanwhile): the API's 409, in words.
    browser.execute_script("""
        const root = document.querySelector('[x-data^="casePage"]');
        Alpine.$data(root).c.version -= 1;""")
    browser.find_element(By.CSS_SELECTOR, f"{form} textarea[name=reason]").send_keys("需区级协调")
    browser.find_element(By.CSS_SELECTOR, f"{form} form button[type=submit]").click()
    message = visible_text(browser, f"{form} p.error")
    assert "stale_version" in message or "version" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)  # the API's Chinese message


def test_a_foreign_townships_case_is_refused_in_words(browser, server):
    foreign = server.api("sy.dispatcher", "/cases?limit=50")["items"]
    target = next(c for c in foreign if c["township"] and c["township"]["code"] == "110199002")
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/cases/{target['id']}")
    message = visible_text(browser, "p.case-error")
    assert "case_not_found" in message or "not_found" in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert target["title"] not in browser.page_source
