"""Sign in as a township dispatcher and see the township on the map; the docs page offline."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import requested_urls, screenshot
from tests.browser.pages import sign_in, wait


def _drawn(driver, css: str) -> int:  # noqa: ANN001
    return len(driver.find_elements(By.CSS_SELECTOR, f".leaflet-overlay-pane path.{css}"))


def test_dispatcher_sees_the_townships_grids_by_kind_and_its_cases(browser, server):
    grids = server.api("wj.dispatcher", "/grids?limit=500")["items"]
    basic = sum(g["kind"] == "basic" for g in grids)
    special = len(grids) - basic
    cases = server.api("wj.dispatcher", "/cases?limit=500")["items"]
    assert basic == 30
    assert special >= 3
    assert all(g["township"]["code"] == "110199001" for g in grids if g["kind"] == "basic")

    sign_in(browser, server, "wj.dispatcher")
    wait(browser).until(lambda d: _drawn(d, "grid") == len(grids))
    assert _drawn(browser, "grid-basic") == basic
    assert _drawn(browser, "grid-special") == special
    located = [c for c in cases if c["location"]]
    wait(browser).until(lambda d: _drawn(d, "case-point") == len(located) > 0)
    screenshot(browser, server, "map")

    # Click a grid: its cases (from the API's grid filter) and who is in it.
    target = next(c for c in located if c["basic_grid"])
    code = target["basic_grid"]["code"]
    browser.execute_script(
        "document.querySelector(`path[data-grid='${arguments[0]}']`)"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))", code)
    wait(browser).until(lambda d: target["number"] in d.find_element(
        By.CSS_SELECTOR, ".grid-detail").text)
    assert code in browser.find_element(By.CSS_SELECTOR, ".grid-detail h2").text


def test_the_api_docs_page_renders_with_nothing_from_outside(browser, server):
    requested_urls(browser)  # drain what earlier pages asked for
    browser.get(f"{server.url}/api/v1/docs")
    wait(browser, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock .opblock-summary-path"))
    assert browser.execute_script("return window.ui.specSelectors.operations().size") > 50
    # Swagger UI 5 renders a large document virtualised (only what is near the viewport is in
    # the DOM), so the page is scrolled through and what it drew on the way is collected.
    paths: set[str] = set()

    def drawn_on_scrolling(d) -> bool:  # noqa: ANN001
        paths.update(e.text for e in d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
        d.execute_script("window.scrollBy(0, 600)")
        return len(paths) > 50 and any("/api/v1/cases" in p for p in paths)

    WebDriverWait(browser, 60, poll_frequency=0.1).until(drawn_on_scrolling)
    urls = requested_urls(browser)
    assert any(u.endswith("/openapi.json") for u in urls)
    assert any("swagger-ui-bundle.js" in u for u in urls)
    outside = [u for u in urls
               if not (u.startswith("data:") or urlsplit(u).hostname == "127.0.0.1")]
    assert outside == []


def test_the_pages_gcj02_shift_is_the_projects_transform(browser, server):
    from geo.crs import CRS, from_wgs84

    sign_in(browser, server, "wj.dispatcher")
    shifted = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        gcj02Shifter([116.38, 39.97, 116.45, 40.01]).then((shift) => done(
            [shift(116.405, 39.984), shift(116.428, 39.997)]));""")
    for (lon, lat), got in zip([(116.405, 39.984), (116.428, 39.997)], shifted, strict=True):
        expected = from_wgs84(lon, lat, CRS.GCJ02)
        assert abs(got[0] - expected[0]) < 1e-6  # about 0.1 m
        assert abs(got[1] - expected[1]) < 1e-6
        assert abs(got[0] - lon) > 1e-3  # and it did move the point (hundreds of metres)
