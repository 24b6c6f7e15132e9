"""The whistle calls board and who is where, as a township dispatcher sees them."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.pages import sign_in, wait


def test_the_whistle_board_shows_the_raised_call_to_judge(browser, server):
    calls = server.api("wj.dispatcher", "/whistle-calls")["items"]
    assert [c["status"] for c in calls] == ["raised"]  # the demo's call, to be judged
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/whistle")
    row = f"tr[data-call='{calls[0]['id']}']"
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
    text = browser.find_element(By.CSS_SELECTOR, row).text
    assert "待研判" in text
    assert calls[0]["description"] in text


def test_who_is_where_shows_the_months_compliance_by_department(browser, server):
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/whereabouts")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.compliance tbody tr"))
    text = browser.find_element(By.CSS_SELECTOR, "table.compliance").text
    assert "110199-CGZF" in text  # city management patrols WJ-001…WJ-003 in the demo
    assert "0 / 3" in text  # none of its three patrol grids met yet


def test_a_grid_worker_is_told_in_words_that_whereabouts_are_not_theirs(browser, server):
    browser.get(f"{server.url}/console/login")
    browser.execute_script("sessionStorage.clear()")
    browser.find_element(By.NAME, "username").send_keys("wj.worker1")
    browser.find_element(By.NAME, "password").send_keys("demo-pass-123")
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait(browser).until(lambda d: d.current_url.endswith("/console/"))
    browser.get(f"{server.url}/console/whereabouts")
    message = wait(browser).until(lambda d: next(
        (e.text for e in d.find_elements(By.CSS_SELECTOR, "p.error") if e.text), None))
    assert "permission_denied" in message
