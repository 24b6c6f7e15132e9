"""Chaos on PostGIS: phones of several workers queue random operations offline while a
dispatcher moves their cases, then push with duplicated requests, reordered batches and lost
answers. At the end every operation is applied exactly once or rejected and kept, nothing
happened twice, each case is what applying its accepted operations in order gives, and each
phone's last pull holds what the web API shows its user.

Random but replayable: the seed is printed (``pytest -s``) and in every failure message;
``CHAOS_SEED=<n>`` replays the same choices (thread timing still varies).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from server.cases.models import Case
from server.extensions import db
from sync.ledger import OpStatus, SyncOperation
from sync.photos import PhotoLink
from tests.fixtures.cases import CATALOGUE
from tests.fixtures.tus import upload
from tests.fixtures.world import PASSWORD, build_world

SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(2**31))
ROUNDS = 4  # offline, push, pull; per device
OPS_PER_ROUND = (6, 14)
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"

# Where each user's cases are: their grids (workers and the leader) or their township.
GRID_BOXES = {"T1-A1": (116.30, 39.90), "T1-A2": (116.30, 39.91), "T2-A1": (116.40, 39.90)}
DEVICES = (("t1.worker", ("T1-A1", "T1-A2")), ("t1.worker", ("T1-A1", "T1-A2")),
           ("t1.leader", ("T1-A1",)), ("t2.worker", ("T2-A1",)), ("d1.handler", ()))
# The unit each user belongs to, and the units above it (leads(): the unit or one above).
UNIT_OF = {"t1.worker": "T1-C1", "t1.leader": "T1-C1", "t2.worker": "T2-C1",
           "d1.handler": "D1-SCJG", "t1.dispatcher": "T1-CC", "t2.dispatcher": "T2-CC"}
PARENT = {"T1-C1": "T1", "T1-CC": "T1", "T1-SCH": "T1", "T1": "D1", "T2-C1": "T2",
          "T2-CC": "T2", "T2": "D1", "D1-SCJG": "D1", "D1": None}
# Where the dispatcher sends a township's cases: back to the township, to the community,
# away to an owner unit or a department.
REDISPATCH = {"T1": ("T1", "T1-C1", "T1-SCH", "D1-SCJG"), "T2": ("T2", "T2-C1", "D1-SCJG")}
WEIGHTS = {"add_note": 4, "record_contact": 2, "arrive_on_site": 2, "attach_photo": 1,
           "accept_case": 3, "complete_task": 2, "request_return": 1, "request_extension": 1,
           "report_incident": 1}
# What each action needs and does (server/cases/rules.py, restated: this is the model).
SOURCES = {"accept": {"dispatched"}, "contact": {"accepted", "in_progress"},
           "arrive": {"accepted", "in_progress"}, "note": {"accepted", "in_progress"},
           "complete": {"accepted", "in_progress"},
           "request_return": {"dispatched", "accepted"},
           "request_extension": {"accepted", "in_progress"}}
OP_ACTION = {"add_note": "note", "record_contact": "contact", "arrive_on_site": "arrive",
             "accept_case": "accept", "complete_task": "complete",
             "request_return": "request_return", "request_extension": "request_extension"}


WEB_ACTION = {"return_approval": "approve_return", "return_refusal": "refuse_return",
              "extension_decision": "decide_extension"}


def why(message: str) -> str:
    return f"{message} (replay with CHAOS_SEED={SEED})"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Op:
    """An operation as the phone made it, and every answer the phone kept for it."""

    id: str
    seq: int
    name: str
    args: dict[str, Any]
    device_time: datetime
    device: Phone
    answers: list[dict] = field(default_factory=list)
    order: int | None = None  # when the server first answered it, in this device's pushes

    def wire(self) -> dict:
        return {"id": self.id, "seq": self.seq, "name": self.name, "args": self.args,
                "base_version": None, "device_time": self.device_time.isoformat()}


class Phone:
    """One device: a local copy of its scope, a queue of offline operations, a bad network."""

    def __init__(self, app, username: str, grids: tuple[str, ...], index: int,  # noqa: ANN001
                 world_units: dict[str, str]) -> None:
        self.app = app
        self.username = username
        self.grids = grids
        self.rng = random.Random(SEED * 100 + index)
        self.name = f"{username}#{index}"
        self.units = world_units
        self.clock_offset = timedelta(seconds=self.rng.choice((0, 0, 3, -40, 900)))
        self.client = app.test_client()
        self.device_id = str(uuid.uuid4())
        token = self.client.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD, "device_id": self.device_id,
            "device_name": self.name}).get_json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.cursor: int | None = None
        self.db: dict[str, dict[str, dict]] = defaultdict(dict)
        self.shown: dict[str, str] = {}  # a case's status as the phone's own work left it
        self.seq = itertools.count(1)
        self.ops: list[Op] = []
        self.queue: list[Op] = []
        self.reports: list[Op] = []
        self.applied_order = itertools.count()
        self.server_errors = 0
        self.pushes = 0

    # --- pull ---------------------------------------------------------------------------

    def pull(self) -> None:
        self.shown.clear()
        while True:
            response = self.client.post("/api/v1/sync/pull", headers=self.headers,
                                        json={"cursor": self.cursor, "limit": 200})
            assert response.status_code == 200, why(f"{self.name} pull: {response.get_json()}")
            answer = response.get_json()
            if answer["start_over"]:
                self.db.clear()
                self.cursor = None
                continue
            for table, change in answer["changes"].items():
                for record in change["created"] + change["updated"]:
                    self.db[table][record["id"]] = record
                for gone in change["deleted"]:
                    self.db[table].pop(gone, None)
            self.cursor = answer["cursor"]
            if not answer["has_more"]:
                return

    # --- offline work -------------------------------------------------------------------

    def work_offline(self) -> None:
        for _ in range(self.rng.randint(*OPS_PER_ROUND)):
            time.sleep(self.rng.uniform(0, 0.03))  # the dispatcher acts meanwhile
            op = self._make_op()
            if op is not None:
                self.ops.append(op)
                self.queue.append(op)

    def _make_op(self) -> Op | None:
        """Mostly what a worker would do next on a case as the phone last saw it; sometimes
        anything (the phone's copy is old, or the worker taps the wrong button)."""
        op_id = str(uuid.uuid4())
        targets = [c["id"] for c in self.db["cases"].values() if c["status"] != "closed"]
        targets += [r.id for r in self.reports]
        if self.grids and (not targets or self.rng.random() < 0.08):
            west, south = GRID_BOXES[self.rng.choice(self.grids)]
            args = {"appeal_type": "report", "category_code": "01.01",
                    "title": f"巡查发现 {op_id}", "description": "占道经营",
                    "lon": round(west + self.rng.uniform(0.001, 0.009), 6),
                    "lat": round(south + self.rng.uniform(0.001, 0.009), 6)}
            op = Op(op_id, next(self.seq), "report_incident", args, utcnow() + self.clock_offset,
                    self)
            self.reports.append(op)
            return op
        if not targets:
            return None
        case_id = self.rng.choice(targets)
        case = self.db["cases"].get(case_id)
        status = self.shown.get(case_id) or (case["status"] if case else "accepted")
        weights = dict(WEIGHTS, report_incident=0)
        likely = {n: w for n, w in weights.items()
                  if n in OP_ACTION and status in SOURCES[OP_ACTION[n]]}
        if likely and self.rng.random() < 0.75:
            weights = {**likely, "attach_photo": 1}
        names = list(weights)
        name = self.rng.choices(names, [weights[n] for n in names])[0]
        args: dict[str, Any] = {"case_id": case_id}
        if name in ("add_note", "record_contact"):
            args["note"] = f"{name} {op_id}"
        elif name == "complete_task":
            args["result"] = f"done {op_id}"
        elif name in ("request_return", "request_extension"):
            args["reason"] = f"{name} {op_id}"
        if name == "request_extension":
            due = case["completion_due_at"] if case and case["completion_due_at"] else None
            base = datetime.fromisoformat(due) if due else utcnow()
            args["new_due_at"] = (base + timedelta(days=self.rng.randint(1, 5))).isoformat()
        elif name == "arrive_on_site":
            lon, lat = (case["lon"], case["lat"]) if case and case["lon"] else (116.305, 39.905)
            args.update(lon=round(lon + self.rng.uniform(-0.0005, 0.0005), 6),
                        lat=round(lat + self.rng.uniform(-0.0005, 0.0005), 6),
                        accuracy_m=float(self.rng.randint(3, 30)), crs="wgs84")
        elif name == "attach_photo":  # taken and uploaded now; linked by the operation
            data = JPEG_HEAD + op_id.encode() * 40
            sha256 = hashlib.sha256(data).hexdigest()
            answer = upload(self.client, self.headers, data, content_type="image/jpeg")
            assert answer.status_code == 204, why(str(answer.get_json()))
            args["sha256"] = sha256
        if name in OP_ACTION:  # what the phone shows until its next pull
            self.shown[case_id] = {"accept": "accepted", "contact": "in_progress",
                              "arrive": "in_progress", "complete": "completed",
                              "request_return": "return_requested"}.get(OP_ACTION[name], status)
        return Op(op_id, next(self.seq), name, args, utcnow() + self.clock_offset, self)

    # --- push over a bad network --------------------------------------------------------

    def _send(self, batch: list[Op], *, keep: bool, client=None) -> None:  # noqa: ANN001
        """One push request; ``keep`` False: the answer is lost on the way back."""
        while True:
            response = (client or self.client).post(
                "/api/v1/sync/push", headers=self.headers,
                json={"sent_at": (utcnow() + self.clock_offset).isoformat(),
                      "operations": [op.wire() for op in batch]})
            self.pushes += 1
            if response.status_code < 500:
                break
            self.server_errors += 1  # "send again", as docs/sync.md says
        assert response.status_code == 200, why(f"{self.name} push: {response.get_json()}")
        results = response.get_json()["results"]
        assert [r["id"] for r in results] == [op.id for op in batch], why("answer order")
        for op, result in zip(batch, results, strict=True):
            if result["status"] != "duplicate":
                assert op.order is None, why(f"{op.id} answered as new twice: {result}")
                op.order = next(self.applied_order)
            if keep:
                op.answers.append(result)

    def push(self) -> None:
        queue, self.queue = self.queue, []
        batches, i = [], 0
        while i < len(queue):
            size = self.rng.randint(1, 6)
            batches.append(queue[i:i + size])
            i += size
        for j in range(len(batches) - 1):  # reordered batches
            if self.rng.random() < 0.3:
                batches[j], batches[j + 1] = batches[j + 1], batches[j]
        sent: list[list[Op]] = []
        for batch in batches:
            roll = self.rng.random()
            if roll < 0.25:  # lost answer(s): the phone sends the same batch again
                for _ in range(self.rng.randint(1, 2)):
                    self._send(batch, keep=False)
                self._send(batch, keep=True)
            elif roll < 0.45:  # the same request twice at once (a retry racing its original)
                twin = self.app.test_client()
                other = threading.Thread(target=self._send, args=(batch,),
                                         kwargs={"keep": True, "client": twin})
                other.start()
                self._send(batch, keep=True)
                other.join(60)
            else:
                self._send(batch, keep=True)
            sent.append(batch)
            if sent and self.rng.random() < 0.15:  # a stale retry of an earlier batch
                self._send(self.rng.choice(sent), keep=True)
            if self.rng.random() < 0.2 and len(batch) > 1:  # a batch mixing old and new
                self._send(batch[::-1], keep=True)

    def run(self, errors: list) -> None:  # noqa: ANN001
        try:
            for _ in range(ROUNDS):
                self.pull()
                self.work_offline()
                self.push()
            self.pull()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append((self.name, exc))


@dataclass
class DispatcherLog:
    actions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    filed: list[str] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)


def dispatcher(app, world_units: dict[str, str], stop: threading.Event,  # noqa: ANN001
               log: DispatcherLog, errors: list) -> None:
    """Township dispatchers moving cases under the phones: re-dispatch, take back, close..."""
    rng = random.Random(SEED * 100 + 99)
    client = app.test_client()
    heads = {}
    for township, username in (("T1", "t1.dispatcher"), ("T2", "t2.dispatcher"),
                               ("D1", "d1.dispatcher")):
        token = client.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD}).get_json()["token"]
        heads[township] = {"Authorization": f"Bearer {token}"}
    # Approvals and callbacks are the supervising level's: the district's here, since a
    # township may lead the very case (nobody grades their own work).
    decisions = ("return-approval", "return-refusal", "callback", "extension-decision")
    try:
        while not stop.is_set():
            time.sleep(rng.uniform(0.005, 0.04))
            township = rng.choice(("T1", "T1", "T2"))
            headers = heads[township]
            if rng.random() < 0.08:
                west, south = GRID_BOXES["T1-A1" if township == "T1" else "T2-A1"]
                answer = client.post("/api/v1/cases", headers=headers, json={
                    "channel": "internet", "appeal_type": "complaint", "category_code": "01.01",
                    "title": "新诉求", "description": "d",
                    "lon": west + rng.uniform(0.001, 0.009),
                    "lat": south + rng.uniform(0.001, 0.009)})
                assert answer.status_code == 201, answer.get_json()
                log.filed.append(answer.get_json()["id"])
                continue
            page = client.get("/api/v1/cases?limit=200", headers=headers).get_json()["items"]
            cases = [c for c in page if c["township"]["code"] == township]
            if not cases:
                continue
            case = rng.choice(cases)
            status = case["status"]
            body: dict[str, Any] = {"version": case["version"]}
            if status in ("dispatched", "accepted", "in_progress", "received") and \
                    (status == "received" or rng.random() < 0.35):
                lead = rng.choice(REDISPATCH[township])
                action = "dispatch"
                body.update(lead_unit_id=world_units[lead], note="re-dispatch")
            elif status == "return_requested":
                action = rng.choice(("return-approval", "return-refusal"))
                body["note"] = "decided"
                if action == "return-approval":
                    body["with_fault"] = rng.random() < 0.5
            elif status == "completed":
                action = "callback"
                body.update(resolved=True, comment="回访",
                            satisfaction=rng.choice(("satisfied", "satisfied", "dissatisfied")))
            elif case["extension_state"] == "requested" and status in ("accepted", "in_progress"):
                action = "extension-decision"
                body.update(approve=rng.random() < 0.6, note="decided")
            else:
                continue
            if action in decisions:
                headers = heads["D1"]
            answer = client.post(f"/api/v1/cases/{case['id']}/{action}", headers=headers,
                                 json=body)
            if answer.status_code == 200:
                name = action.replace("-", "_")
                log.actions[case["id"]].append(WEB_ACTION.get(name, name))
            else:  # a phone's push got there first (stale version): fine, try another
                assert answer.status_code == 409, answer.get_json()
                log.refused[answer.get_json()["code"]] += 1
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(("dispatcher", exc))


# --- the model: what applying the accepted operations in order gives -----------------------

def ancestors(unit_code: str) -> set[str]:
    chain: set[str] = set()
    code: str | None = unit_code
    while code:
        chain.add(code)
        code = PARENT[code]
    return chain


@dataclass
class Model:
    status: str | None = None
    lead: str | None = None  # unit id
    before_return: str | None = None
    notes: list[str] = field(default_factory=list)
    result: str | None = None
    extension_state: str | None = None
    history: list[tuple[datetime, str, str | None]] = field(default_factory=list)


@pytest.mark.concurrency
def test_chaos_every_operation_once_and_the_state_is_the_accepted_operations_in_order(
        committing_postgis_app, tmp_path):
    print(f"\nCHAOS_SEED={SEED}")
    started = time.monotonic()
    app = committing_postgis_app
    app.config["PHOTO_DIR"] = tmp_path / "photos"
    with app.app_context():
        world = build_world(db.session, app.extensions["gridops.passwords"])
        units = {code: str(unit.id) for code, unit in world.units.items()}
        db.session.commit()
    code_of = {unit_id: code for code, unit_id in units.items()}
    admin = app.test_client()
    token = admin.post("/api/v1/auth/login", json={"username": "admin",
                                                   "password": PASSWORD}).get_json()["token"]
    assert admin.post("/api/v1/catalogue/import", json={"items": CATALOGUE}, headers={
        "Authorization": f"Bearer {token}"}).status_code in (200, 201)
    seed_rng = random.Random(SEED)
    for username, box_code, n in (("t1.dispatcher", "T1-A1", 6), ("t1.dispatcher", "T1-A2", 4),
                                  ("t2.dispatcher", "T2-A1", 4)):
        token = admin.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD}).get_json()["token"]
        west, south = GRID_BOXES[box_code]
        for _ in range(n):
            answer = admin.post("/api/v1/cases", headers={"Authorization": f"Bearer {token}"},
                                json={"channel": "internet", "appeal_type": "complaint",
                                      "category_code": "01.01", "title": "诉求",
                                      "description": "d",
                                      "lon": west + seed_rng.uniform(0.001, 0.009),
                                      "lat": south + seed_rng.uniform(0.001, 0.009)})
            assert answer.status_code == 201, answer.get_json()

    phones = [Phone(app, username, grids, i, units) for i, (username, grids)
              in enumerate(DEVICES)]
    errors: list = []
    stop = threading.Event()
    log = DispatcherLog()
    boss = threading.Thread(target=dispatcher, args=(app, units, stop, log, errors))
    threads = [threading.Thread(target=p.run, args=(errors,)) for p in phones]
    boss.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    stop.set()
    boss.join(30)
    assert not errors, why(f"{errors}")
    ops = {op.id: op for p in phones for op in p.ops}
    # Resending after a 5xx is safe, but none should happen: writers of a case lock it first
    # (a deadlock between a push and a dispatcher used to answer 500 here).
    assert sum(p.server_errors for p in phones) == 0, why("a push answered 5xx")

    # 1. Every operation has exactly one stored outcome, and every answer kept agrees.
    with app.app_context():
        ledger = {str(row.id): row for row in db.session.scalars(sa.select(SyncOperation))}
        reported = Counter(db.session.scalars(sa.select(Case.client_request_id).where(
            Case.client_request_id.in_([o.id for o in ops.values()
                                        if o.name == "report_incident"]))))
        links = Counter(db.session.scalars(sa.select(PhotoLink.sha256)))
        db.session.remove()
    assert set(ledger) == set(ops), why("ledger rows and operations made differ")
    outcome = {}
    for op_id, op in ops.items():
        row = ledger[op_id]
        assert row.status in (OpStatus.APPLIED, OpStatus.REJECTED), why(f"{op_id}: {row.status}")
        assert (row.device_seq, row.name) == (op.seq, op.name)
        assert op.answers, why(f"{op.name} {op_id} never got an answer the phone kept")
        for answer in op.answers:
            first = answer["original_status"] if answer["status"] == "duplicate" \
                else answer["status"]
            assert first == row.status.value, why(f"{op_id}: answered {answer}, stored "
                                                  f"{row.status}")
            assert answer["code"] == row.code
        outcome[op_id] = row
    applied = {i for i, row in outcome.items() if row.status is OpStatus.APPLIED}
    rejected = set(outcome) - applied

    # 2. No effect twice: one case per applied report, one photo link per applied photo.
    for op in ops.values():
        if op.name == "report_incident":
            assert reported[op.id] == (op.id in applied), why(f"report {op.id}")
        if op.name == "attach_photo":
            assert links[op.args["sha256"]] == (op.id in applied), why(f"photo {op.id}")

    # 3. Rejected operations are kept: in the review list of their sender, and in the
    # sending device's pull.
    listed: dict[str, set[str]] = {}
    for p in phones:
        if p.username not in listed:
            listed[p.username], cursor = set(), None
            while True:
                query = f"?limit=200{'&cursor=' + cursor if cursor else ''}"
                page = p.client.get(f"/api/v1/sync/rejected{query}", headers=p.headers)
                assert page.status_code == 200, page.get_json()
                listed[p.username] |= {item["id"] for item in page.get_json()["items"]}
                cursor = page.get_json()["next_cursor"]
                if not cursor:
                    break
        mine = {op.id for op in p.ops if op.id in rejected}
        assert mine <= listed[p.username], why(f"{p.name}: rejected missing from the list")
    assert listed["t1.worker"] == {op.id for op in ops.values() if op.id in rejected
                                   and op.device.username == "t1.worker"}

    # 4. Each case is what its accepted operations give, applied in order.
    dispatcher_head = {"Authorization": "Bearer " + admin.post("/api/v1/auth/login", json={
        "username": "d1.dispatcher", "password": PASSWORD}).get_json()["token"]}
    case_ids: set[str] = set()
    page_cursor = None
    while True:
        query = f"?limit=500{'&cursor=' + page_cursor if page_cursor else ''}"
        page = admin.get(f"/api/v1/cases{query}", headers=dispatcher_head).get_json()
        case_ids |= {c["id"] for c in page["items"]}
        page_cursor = page["next_cursor"]
        if not page_cursor:
            break
    with app.app_context():
        by_report = {str(row.id): str(row.case_id) for row in ledger.values()
                     if row.name == "report_incident" and row.case_id}

    def target(op: Op) -> str | None:
        case_id = op.args.get("case_id")
        return by_report.get(case_id, case_id)

    markers: dict[str, Op] = {}
    for op in ops.values():
        for key in ("note", "result", "reason"):
            if key in op.args:
                markers[op.args[key]] = op
    accepts: Counter = Counter()
    for op_id in applied:
        op, row = ops[op_id], ledger[op_id]
        if op.name == "accept_case" and "already_accepted" not in row.flags:
            accepts[(target(op), op.device.username)] += 1
    arrivals = defaultdict(list)  # (case, user) -> applied arrivals, by accuracy and point
    for op_id in applied:
        op = ops[op_id]
        if op.name == "arrive_on_site":
            arrivals[(target(op), op.device.username, op.args["lon"], op.args["lat"],
                      op.args["accuracy_m"])].append(op)

    seen_ops: set[str] = set()
    seen_accepts: Counter = Counter()
    checked_events = 0
    for case_id in case_ids:
        case = admin.get(f"/api/v1/cases/{case_id}", headers=dispatcher_head).get_json()
        events = admin.get(f"/api/v1/cases/{case_id}/timeline",
                           headers=dispatcher_head).get_json()
        model = Model()
        last_order: dict[str, int] = {}
        web_actions: list[str] = []
        for event in events:
            action, data, user = event["action"], event["data"] or {}, event["actor_username"]
            at = datetime.fromisoformat(event["at"])
            assert event["from_status"] == model.status, why(f"{case['number']} {event}")
            expected_to = model.status
            op = None
            if action == "received":
                expected_to = "received"
            elif action == "dispatch":
                if not data.get("auto"):
                    web_actions.append("dispatch")
                model.lead = data["lead_unit_id"]
                expected_to = "dispatched"
            elif action in ("approve_return", "refuse_return", "callback", "decide_extension"):
                web_actions.append(action)
                if action == "approve_return":
                    model.lead, expected_to = None, "received"
                elif action == "refuse_return":
                    expected_to = model.before_return
                elif action == "callback":
                    expected_to = "closed" if data["satisfaction"] == "satisfied" \
                        else "in_progress"
                else:
                    model.extension_state = "approved" if data["approved"] else "refused"
            else:  # a phone's operation: find it, and judge it as the server should have
                if action == "accept":
                    assert (case_id, user) in accepts, why(f"an accept nobody sent: {event}")
                    seen_accepts[(case_id, user)] += 1
                elif action == "arrive":
                    key = (case_id, user, data["input_lon"], data["input_lat"],
                           data["accuracy_m"])
                    assert arrivals[key], why(f"an arrival nobody sent (or twice): {event}")
                    op = arrivals[key].pop(0)
                else:
                    op = markers.get(data.get("note") or data.get("result") or data.get("reason"))
                    assert op is not None, why(f"an event no operation made: {event}")
                assert op is None or (op.id in applied and op.id not in seen_ops), \
                    why(f"{event} from a rejected operation or twice")
                if op is not None:
                    seen_ops.add(op.id)
                    assert (target(op), OP_ACTION[op.name], op.device.username) == \
                        (case_id, action, user), why(str(event))
                    # A device's operations take effect in the order the server took them.
                    name = op.device.name
                    assert last_order.get(name, -1) < op.order, why(f"out of order: {event}")
                    last_order[name] = op.order
                unit_chain = {units[c] for c in ancestors(UNIT_OF[user])}
                may_now = model.status in SOURCES[action] and model.lead in unit_chain
                if data.get("late"):
                    assert action in ("note", "contact", "arrive"), why(str(event))
                    assert not may_now, why(f"a late fact the case still allowed: {event}")
                    acted_at = datetime.fromisoformat(data["acted_at"])
                    then = [(s, lead) for t, s, lead in model.history if t <= acted_at]
                    assert then, why(f"a late fact from before the case existed: {event}")
                    assert then[-1][0] in SOURCES[action], why(f"not entitled then: {event}")
                    assert then[-1][1] in unit_chain, why(f"not their case then: {event}")
                    assert any(f.endswith("_since") for f in ledger[op.id].flags), why(str(event))
                else:
                    assert may_now, why(f"{action} applied on a {model.status} case led by "
                                        f"{code_of.get(model.lead)}: {event}")
                    expected_to = {"accept": "accepted", "contact": "in_progress",
                                   "arrive": "in_progress", "complete": "completed",
                                   "request_return": "return_requested"}.get(action,
                                                                              model.status)
                if action == "note":
                    model.notes.append(data["note"])
                elif action == "complete":
                    model.result = op.args["result"]
                elif action == "request_return":
                    model.before_return = model.status
                elif action == "request_extension":
                    model.extension_state = "requested"
            assert event["to_status"] == expected_to, why(f"{case['number']}: {event}, "
                                                          f"model says {expected_to}")
            model.status = expected_to
            model.history.append((at, model.status, model.lead))
            checked_events += 1
        assert web_actions == log.actions.get(case_id, []), why(f"{case['number']} dispatcher")
        assert (case["status"], case["result"], case["extension_state"]) == \
            (model.status, model.result, model.extension_state), why(case["number"])
        assert (case["lead_unit"]["id"] if case["lead_unit"] else None) == model.lead
        assert [e["data"]["note"] for e in events if e["action"] == "note"] == model.notes
    # Every applied operation that changes a case left exactly one event; rejected ones none.
    with_event = {i for i in applied if ops[i].name in OP_ACTION
                  and ops[i].name != "accept_case"}
    assert seen_ops == with_event, why(f"applied without event: {with_event - seen_ops}")
    assert seen_accepts == accepts, why("accept events and applied accepts differ")

    # 5. Each phone's last pull converges to the scope the web API shows its user (a pull
    # sends what committed before the cluster's oldest open transaction: wait for it).
    for p in phones:
        deadline = time.monotonic() + 30
        while True:
            p.pull()
            expected = {}
            page_cursor = None
            while True:
                query = f"?limit=500{'&cursor=' + page_cursor if page_cursor else ''}"
                page = p.client.get(f"/api/v1/cases{query}", headers=p.headers).get_json()
                expected |= {c["id"]: (c["status"], c["version"]) for c in page["items"]
                             if c["status"] != "closed" or p.username.endswith("worker")}
                page_cursor = page["next_cursor"]
                if not page_cursor:
                    break
            held = {i: (c["status"], c["version"]) for i, c in p.db["cases"].items()}
            if held == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert held == expected, why(f"{p.name} holds {len(held)} cases, web shows "
                                     f"{len(expected)}")
        for case_id in held:
            timeline = p.client.get(f"/api/v1/cases/{case_id}/timeline",
                                    headers=p.headers).get_json()
            local = sorted((e["seq"], e["action"]) for e in p.db["case_events"].values()
                           if e["case_id"] == case_id)
            assert local == [(e["seq"], e["action"]) for e in timeline], why(p.name)
        assert set(p.db["rejected_operations"]) == {op.id for op in p.ops if op.id in rejected}, \
            why(f"{p.name}: rejected operations in its pull")

    names = Counter((op.name, outcome[op.id].status.value) for op in ops.values())
    codes = Counter(outcome[i].code for i in rejected)
    flags = Counter(f for i in applied for f in ledger[i].flags)
    print(f"{len(ops)} operations from {len(phones)} devices in "
          f"{sum(p.pushes for p in phones)} pushes ({sum(p.server_errors for p in phones)} "
          f"answered 5xx and resent); {len(applied)} applied, {len(rejected)} rejected; "
          f"{checked_events} events replayed on {len(case_ids)} cases; dispatcher: "
          f"{sum(len(v) for v in log.actions.values())} actions, {len(log.filed)} filed, "
          f"refused {dict(log.refused)}; {time.monotonic() - started:.1f} s")
    print(f"  outcomes {dict(sorted(names.items()))}")
    print(f"  rejection codes {dict(codes)}; flags {dict(flags)}")
    # The chaos must have been chaotic: both outcomes were seen.
    assert applied, why("nothing applied")
    assert rejected, why("nothing rejected")
