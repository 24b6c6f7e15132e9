"""The map's layer of today's tracks of posted staff: off by default, drawn when turned on,
one line per posted person with a track today, asked in one batch (GET /tracks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests
from selenium.webdriver.common.by import By

from tests.browser.pages import sign_in, wait


def _drawn(driver, css: str) -> int:  # noqa: ANN001
    return len(driver.find_elements(By.CSS_SELECTOR, f".leaflet-overlay-pane path.{css}"))


def _walk_in_a_patrol_grid(server) -> None:  # noqa: ANN001
    """cgzf.staff (posted to patrol WJ-001…WJ-003 in the demo) walks for five minutes."""
    grids = server.api("wj.dispatcher", "/grids/export")["features"]
    ring = next(f for f in grids if f["properties"]["code"] == "WJ-001")["geometry"]["coordinates"]
    ring = ring[0] if isinstance(ring[0][0][0], float) else ring[0][0]
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    start = datetime.now(UTC) - timedelta(minutes=6)
    fixes = [{"at": (start + timedelta(seconds=30 * i)).isoformat(), "lon": lon + 0.0002 * i,
              "lat": lat, "accuracy_m": 5} for i in range(10)]
    answer = requests.post(f"{server.url}/api/v1/tracks", timeout=10, json={"fixes": fixes},
                           headers={"Authorization": f"Bearer {server.token('cgzf.staff')}"})
    assert answer.status_code == 200, answer.text


def test_todays_tracks_are_a_layer_off_by_default(browser, server):
    _walk_in_a_patrol_grid(server)
    postings = server.api("wj.dispatcher", "/postings?status=active")["items"]
    staff = {p["staff"]["id"] for p in postings}
    assert staff  # the demo's patrol posting of cgzf.staff
    sign_in(browser, server, "wj.dispatcher")
    wait(browser).until(lambda d: _drawn(d, "grid") > 0)
    assert _drawn(browser, "track-line") == 0  # off by default
    assert not browser.find_element(By.NAME, "tracks").is_selected()

    browser.find_element(By.NAME, "tracks").click()
    wait(browser).until(lambda d: _drawn(d, "track-line") == 1)
    legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
    assert f"在岗下沉人员 {len(staff)} 人，今日轨迹 1 条" in legend
    # One batch request for everyone (GET /tracks), not one request per person.
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)")
    batches = [u for u in asked if "/api/v1/tracks?" in u]
    assert len(batches) == 1
    assert all(f"user={person}" in batches[0] for person in staff)
    assert not [u for u in asked if "/track?" in u and "/people/" in u]

    browser.find_element(By.NAME, "tracks").click()  # off again
    wait(browser).until(lambda d: _drawn(d, "track-line") == 0)


def test_a_grid_worker_sees_no_one_elses_track(browser, server):
    # Postings one may see: a grid worker's own only (none), so no track is asked for.
    assert server.api("wj.worker1", "/postings?status=active")["items"] == []
    browser.get(f"{server.url}/console/login")
    browser.execute_script("sessionStorage.clear()")
    browser.find_element(By.NAME, "username").send_keys("wj.worker1")
    browser.find_element(By.NAME, "password").send_keys("demo-pass-123")
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait(browser).until(lambda d: d.current_url.endswith("/console/"))
    wait(browser).until(lambda d: _drawn(d, "grid") > 0)
    browser.find_element(By.NAME, "tracks").click()
    wait(browser).until(lambda d: "在岗下沉人员 0 人，今日轨迹 0 条" in d.find_element(
        By.CSS_SELECTOR, ".legend").text)
    assert _drawn(browser, "track-line") == 0
