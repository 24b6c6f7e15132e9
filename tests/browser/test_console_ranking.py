"""The ranking view: the month's 三率 and composite, the bottom N flagged, trend, drill-down."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.conftest import screenshot
from tests.browser.pages import sign_in, wait


def test_the_months_township_ranking_with_flags_trend_and_the_cases_behind_a_figure(
        browser, server):
    district = next(u for u in server.api("wj.dispatcher", "/units") if u["kind"] == "district")
    browser.get(f"{server.url}/console/")
    sign_in(browser, server, "wj.dispatcher")
    browser.get(f"{server.url}/console/ranking")
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.ranking tbody tr"))
    period = browser.find_element(By.NAME, "period").get_attribute("value")
    ranking = server.api("wj.dispatcher", f"/evaluation/rankings?district_id={district['id']}"
                                          f"&kind=township&period={period}")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.ranking tbody tr")
    assert [r.get_attribute("data-unit") for r in rows] == [x["code"] for x in ranking["rows"]]
    flagged = [r.get_attribute("data-unit") for r in rows
               if "flagged" in r.get_attribute("class")]
    assert flagged == [x["code"] for x in ranking["flagged"]]
    # The trend chart is drawn (ECharts renders into a canvas).
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trend canvas"))

    # 望京's satisfaction rate: the demo's called-back case is behind it.
    rated = server.api("wj.dispatcher", "/cases?status=closed")["items"][0]["number"]
    wangjing = next(r for r in rows if r.get_attribute("data-unit") == "110199001")
    wangjing.find_elements(By.CSS_SELECTOR, "button.figure")[2].click()
    wait(browser).until(lambda d: rated in d.find_element(
        By.CSS_SELECTOR, ".explanation").text)
    screenshot(browser, server, "ranking")

    # The download is the API's own XLSX of the table shown (a zip: "PK").
    head = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const page = Alpine.$data(document.querySelector('[x-data="rankingPage()"]'));
        fetch('/api/v1' + page.query('xlsx'), {headers: {Authorization: 'Bearer ' + api.token()}})
          .then((r) => r.arrayBuffer())
          .then((b) => done(Array.from(new Uint8Array(b).slice(0, 2))));""")
    assert head == [0x50, 0x4B]
