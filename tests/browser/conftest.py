"""The console in a real browser: Debian's headless Chromium, driven by Selenium, against the
app served on a port of its own (werkzeug, in a thread) with the demo district loaded.

The server runs on PostgreSQL + PostGIS (a schema of its own, dropped afterwards) and on
SQLite. Without Chromium these tests are skipped with the reason, except under CI, where they
fail. Screenshots go to build/screenshots/ for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from tests.conftest import _make_app, _require_postgis, under_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
PASSWORD = "demo-pass-123"


@dataclass
class Server:
    url: str
    backend: str

    def token(self, username: str) -> str:
        answer = requests.post(f"{self.url}/api/v1/auth/login", timeout=10,
                               json={"username": username, "password": PASSWORD})
        answer.raise_for_status()
        return answer.json()["token"]

    def api(self, username: str, path: str) -> dict | list:
        answer = requests.get(f"{self.url}/api/v1{path}", timeout=10,
                              headers={"Authorization": f"Bearer {self.token(username)}"})
        answer.raise_for_status()
        return answer.json()


def _load_demo(application) -> None:  # noqa: ANN001
    from server.core.clock import now_utc
    from server.demo import load_demo_district
    from server.extensions import db

    with application.app_context():
        upgrade()
        load_demo_district(db.session, application.extensions["gridops.passwords"],
                           password=PASSWORD, now=now_utc())
        db.session.commit()
        db.session.remove()


@pytest.fixture(scope="session", params=("postgis", "sqlite"))
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    from server.console import assets

    absent = assets.missing()
    if absent:
        pytest.fail(f"console assets missing ({', '.join(absent)}): run `npm ci` in "
                    "clients/console and `gridops assets`", pytrace=False)
    cleanup = []
    if request.param == "postgis":
        url = _require_postgis()
        schema = f"browser_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        options = {"connect_args": {"options": f"-csearch_path={schema},public"}}
        application = _make_app(url, options)

        def drop() -> None:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()
        cleanup.append(drop)
    else:
        folder = Path(tempfile.mkdtemp(prefix="gridops-browser-"))
        application = _make_app(f"sqlite:///{folder / 'console.sqlite3'}", {})
        cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    _load_demo(application)
    # Threaded on both backends, as a real server: the page's fetches and the test's own calls
    # overlap. Port 0: a free port of the system's choosing, so parallel runs never collide.
    httpd = make_server("127.0.0.1", 0, application, threaded=True)
    port = httpd.server_port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{port}", request.param)
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        from server.extensions import db

        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        for step in reversed(cleanup):
            step()


def _chromium_problem() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    problem = _chromium_problem()
    if problem:
        if under_ci():
            pytest.fail(problem + " (CI is set: the browser tests must run)", pytrace=False)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gridops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1400,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    # Every request the page makes, from the DevTools protocol's Network events.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requested_urls(driver) -> list[str]:  # noqa: ANN001
    """The URLs of every request sent since the last call (the performance log drains)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def screenshot(driver, server: Server, name: str) -> Path:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{server.backend}.png"
    driver.save_screenshot(str(path))
    return path
