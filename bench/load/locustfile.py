"""A realistic mix of gridops traffic for locust, against a server on this machine only.

Three kinds of user, on the demo district (``gridops demo``; every demo user's password is
``LOAD_PASSWORD``, default ``bench-pass-123``):

- a township dispatcher (``wj.dispatcher``, web): files cases (intake), reads the queue and
  its filters, signs for cases led by the township (签收, assignment of work), and places
  points in grids (``POST /assign``);
- a grid worker's phone (``wj.worker1``, its own device): pulls (incremental, after a first
  sync at start) and pushes operations (notes, contact records) on the open cases it holds;
- a department staff member's phone (``cgzf.staff``, posted to patrol WJ-001..003): checks
  in inside a grid and uploads GPS tracks (a batch of 30 fixes, 10 s apart, each phone on a
  timeline of its own so nothing is refused as a duplicate).

Each simulated user takes a token from ``LOAD_TOKENS`` (a JSON file ``{username: [token,
...]}`` that ``bench/load_test.py`` issues before the run: a city's phones sign in once a
month, not once per sync, and a burst of argon2 sign-ins would be a different test); without
one it signs in (``POST /auth/login``, its own device for a phone).

``GET /auth/me`` (the cheapest signed-in request) runs in the same mix as the baseline that
``bench/load_test.py`` divides by. A request counts as failed when its status is not the one
the API documents, or when a push has an operation rejected.

Only loopback hosts are accepted (the workplace forbids load on any other address):
``locust -f bench/load/locustfile.py --host http://127.0.0.1:19210 --headless -u 24 -r 4
--run-time 60s``; ``bench/load_test.py`` builds the database and the server and runs it.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task

PASSWORD = os.environ.get("LOAD_PASSWORD", "bench-pass-123")
# WJ-001..WJ-003: the demo's first row of 望京 grids (0.01° x 0.008° cells from 116.40, 39.98),
# where the grid worker and the patrolling staff member work; the dispatcher files across
# the whole township (6 x 5 cells).
FIELD = (116.400, 39.980, 116.430, 39.988)
TOWNSHIP = (116.400, 39.980, 116.460, 40.020)
CATEGORIES = ("01.02", "01.04", "01.05", "02.02", "04.01", "04.03")  # led by the township
TITLES = ("楼道堆放杂物", "垃圾清运不及时", "共享单车乱停放", "商铺噪声扰民", "物业服务差",
          "小区停车混乱")
_TOKENS: dict[str, list[str]] = (
    json.loads(Path(os.environ["LOAD_TOKENS"]).read_text(encoding="utf-8"))
    if os.environ.get("LOAD_TOKENS") else {})
_phone_numbers = itertools.count(13_800_000_000)
_timelines = itertools.count(1)


@events.test_start.add_listener
def _loopback_only(environment, **_kwargs) -> None:  # noqa: ANN001
    host = urlsplit(environment.host or "").hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to load {host!r}: loopback addresses only")


def _point(rng: random.Random, area: tuple[float, float, float, float]) -> tuple[float, float]:
    # Keep clear of grid edges (no tie-breaking on every request).
    west, south, east, north = area
    col = rng.randrange(round((east - west) / 0.01))
    row = rng.randrange(round((north - south) / 0.008))
    return (round(west + col * 0.01 + rng.uniform(0.001, 0.009), 6),
            round(south + row * 0.008 + rng.uniform(0.001, 0.007), 6))


class _Signed(FastHttpUser):
    abstract = True
    username = ""
    with_device = False

    def on_start(self) -> None:
        self.rng = random.Random()
        pool = _TOKENS.get(self.username)
        if pool:
            self.auth = {"Authorization": f"Bearer {pool.pop()}"}
            return
        self.device_id = str(uuid.uuid4()) if self.with_device else None
        body = {"username": self.username, "password": PASSWORD}
        if self.device_id:
            body |= {"device_id": self.device_id, "device_name": "load phone"}
        with self.client.post("/api/v1/auth/login", json=body, name="sign in",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"sign-in {response.status_code}: {response.text[:200]}")
                raise RuntimeError(f"{self.username} could not sign in")
            self.auth = {"Authorization": f"Bearer {response.json()['token']}"}

    def _call(self, method: str, path: str, name: str, expect: int = 200, **kwargs):  # noqa: ANN003, ANN202
        with self.client.request(method, path, name=name, headers=self.auth,
                                 catch_response=True, **kwargs) as response:
            if response.status_code != expect:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return None
            return response.json() if response.text else {}

    @task(1)
    def me(self) -> None:
        self._call("GET", "/api/v1/auth/me", "baseline: GET /auth/me")


class Dispatcher(_Signed):
    """The township command centre at its desk."""

    weight = 3
    wait_time = between(0.5, 1.5)
    username = "wj.dispatcher"

    def on_start(self) -> None:
        super().on_start()
        self.to_accept: list[dict] = []

    @task(4)
    def intake(self) -> None:
        lon, lat = _point(self.rng, TOWNSHIP)
        pick = self.rng.randrange(len(CATEGORIES))
        case = self._call("POST", "/api/v1/cases", "intake: POST /cases", 201, json={
            "channel": "city_direct", "appeal_type": "complaint",
            "category_code": CATEGORIES[pick], "title": TITLES[pick],
            "description": f"{TITLES[pick]}，请尽快处理。", "lon": lon, "lat": lat,
            "resident_name": "张先生", "resident_phone": str(next(_phone_numbers)),
            "city_order_number": f"L{uuid.uuid4().hex[:16]}"})
        if case and case["status"] == "dispatched" and "accept" in case["allowed_actions"]:
            self.to_accept.append(case)

    @task(5)
    def queue(self) -> None:
        self._call("GET", "/api/v1/cases", "dispatcher list: GET /cases",
                   params={"limit": 50})

    @task(2)
    def queue_filtered(self) -> None:
        self._call("GET", "/api/v1/cases", "dispatcher list: GET /cases?status&category",
                   params={"status": "dispatched", "category": self.rng.choice(CATEGORIES),
                           "limit": 50})

    @task(2)
    def accept(self) -> None:
        if not self.to_accept:
            return
        case = self.to_accept.pop()
        self._call("POST", f"/api/v1/cases/{case['id']}/accept",
                   "assignment: POST /cases/{id}/accept", json={"version": case["version"]})

    @task(3)
    def assign(self) -> None:
        lon, lat = _point(self.rng, TOWNSHIP)
        self._call("POST", "/api/v1/assign", "assignment: POST /assign",
                   json={"lon": lon, "lat": lat, "crs": "wgs84"})


class GridWorkerPhone(_Signed):
    """A grid worker's phone: syncs often, pushes what the worker did."""

    weight = 4
    wait_time = between(1.0, 3.0)
    username = "wj.worker1"
    with_device = True

    def on_start(self) -> None:
        super().on_start()
        self.cursor = None
        self.cases: dict[str, dict] = {}
        self.seq = 0
        while True:  # the first sync: the phone holds nothing yet
            if not self._pull("first sync: POST /sync/pull"):
                break

    def _pull(self, name: str) -> bool:
        """One pull applied to the phone's cases; True while the server has more."""
        answer = self._call("POST", "/api/v1/sync/pull", name,
                            json={"cursor": self.cursor, "limit": 500})
        if answer is None:
            return False
        cases = answer["changes"]["cases"]
        for record in cases["created"] + cases["updated"]:
            self.cases[record["id"]] = record
        for gone in cases["deleted"]:
            self.cases.pop(gone, None)
        self.cursor = answer["cursor"]
        return answer["has_more"]

    @task(6)
    def pull(self) -> None:
        while self._pull("phone pull: POST /sync/pull"):
            pass

    @task(3)
    def push(self) -> None:
        # Work is recorded on cases the lead unit has signed for (others are refused).
        open_cases = [c for c in self.cases.values()
                      if c["status"] in ("accepted", "in_progress")]
        if not open_cases:
            return
        now = datetime.now(UTC)
        operations = []
        for k in range(5):
            case = self.rng.choice(open_cases)
            self.seq += 1
            name = "add_note" if k % 2 == 0 else "record_contact"
            operations.append({
                "id": str(uuid.uuid4()), "seq": self.seq, "name": name,
                "args": {"case_id": case["id"], "note": f"巡查记录 {self.seq}"},
                "base_version": case["version"],
                "device_time": (now - timedelta(seconds=5 - k)).isoformat()})
        with self.client.post("/api/v1/sync/push", name="phone push: POST /sync/push (5 ops)",
                              headers=self.auth, catch_response=True,
                              json={"sent_at": now.isoformat(),
                                    "operations": operations}) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return
            rejected = [r for r in response.json()["results"] if r["status"] == "rejected"]
            if rejected:
                response.failure(f"{len(rejected)} rejected: {rejected[0]}")


class StaffPhone(_Signed):
    """A patrolling department staff member's phone: check-ins and track uploads."""

    weight = 2
    wait_time = between(1.0, 3.0)
    username = "cgzf.staff"
    with_device = True

    def on_start(self) -> None:
        super().on_start()
        # Each phone on its own stretch of the past, so two phones of one person never send
        # fixes for the same moment; fixes move on 10 s at a time.
        self.clock = datetime.now(UTC) - timedelta(days=2 * next(_timelines))
        self.lon, self.lat = _point(self.rng, FIELD)

    @task(2)
    def check_in(self) -> None:
        lon, lat = _point(self.rng, FIELD)
        self._call("POST", "/api/v1/checkins", "check-in: POST /checkins", 201, json={
            "id": str(uuid.uuid4()), "lon": lon, "lat": lat, "accuracy_m": 15.0,
            "device_time": datetime.now(UTC).isoformat()})

    @task(3)
    def track(self) -> None:
        fixes = []
        for _ in range(30):
            self.clock += timedelta(seconds=10)
            # About 1.3 m/s, kept inside the patrol area.
            self.lon = min(max(self.lon + self.rng.uniform(-1.5e-4, 1.5e-4), FIELD[0]), FIELD[2])
            self.lat = min(max(self.lat + self.rng.uniform(-1.2e-4, 1.2e-4), FIELD[1]), FIELD[3])
            fixes.append({"at": self.clock.isoformat(), "lon": round(self.lon, 6),
                          "lat": round(self.lat, 6), "accuracy_m": 8.0, "speed_mps": 1.3})
        self._call("POST", "/api/v1/tracks", "track upload: POST /tracks (30 fixes)",
                   json={"crs": "wgs84", "fixes": fixes})
