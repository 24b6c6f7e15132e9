"""Every operation of the served OpenAPI document x every role x an object inside and
outside the caller's scope, against one declared table of answers (``EXPECTED``).

An operation of the document missing from the table fails, and so does a row naming no
operation: a new endpoint cannot slip through. The objects are built once per module
(tests/api/authorisation.py); each request runs in a savepoint that is rolled back, so every
role meets the same objects in the same state. Requests carry the document's examples (query,
headers, body) with the path ids replaced by real ones.

Answers, per role (docs/scope.md):

- ``r`` reads: inside 2xx, outside 404 (as an unknown id: nothing is revealed);
- ``R`` reads both (admins, auditors, and a district dispatcher for a call in another
  township of their district);
- ``w`` passes the access checks: inside the answer is the operation's own (2xx, or a
  4xx about the example body such as 409/422), never 401/403 nor the path object's 404;
  outside 404;
- ``W`` passes them inside and outside;
- ``h`` hidden: 404 inside and outside (not the role's need to know);
- ``d`` denied: 403 inside (outside 403 or 404);
- ``n`` not allowed: 403, 404 or 409 (a call whose state already refuses the action answers
  409 before the role is looked at: admins, auditors and a district's dispatcher
  on the steps of calls they see but do not answer);
- ``p`` public (no token needed): anything but a 5xx.

Operations without a path object are tried once per role (inside only).
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime

import pytest

from server.org.rules import Role
from tests.api.authorisation import USERS, Objects, objects_fixture

SHORT = {"admin": Role.ADMIN, "auditor": Role.AUDITOR, "district": Role.DISTRICT_DISPATCHER,
         "township": Role.TOWNSHIP_DISPATCHER, "leader": Role.GRID_LEADER,
         "worker": Role.GRID_WORKER, "handler": Role.DEPARTMENT_HANDLER,
         "staff": Role.DEPARTMENT_STAFF}
ORDER = ("admin", "auditor", "district", "township", "leader", "worker", "handler", "staff")


def row(spec: str) -> dict[Role, str]:
    """Eight letters, one per role in ``ORDER`` (admin auditor district township leader
    worker handler staff); spaces are ignored."""
    letters = spec.replace(" ", "")
    assert len(letters) == len(ORDER), spec
    assert set(letters) <= set("rRwWhdnp"), spec
    return {SHORT[name]: letter for name, letter in zip(ORDER, letters, strict=True)}


#          admin auditor district township leader worker handler staff
EXPECTED: dict[str, dict[Role, str]] = {
    "DELETE /api/v1/auth/sign-in-locks/{username}": row("w d d d d d d d"),
    "DELETE /api/v1/auth/tokens/{token_id}": row("r r r r r r r r"),
    "DELETE /api/v1/photos/uploads/{upload_id}": row("h h h h h r h h"),
    "DELETE /api/v1/users/{user_id}/devices/{device_id}": row("R d d d d d d d"),
    "GET /api/v1/admin-changes": row("r r d d d d d d"),
    "GET /api/v1/auth/me": row("r r r r r r r r"),
    "GET /api/v1/auth/sign-in-locks": row("w d d d d d d d"),
    "GET /api/v1/auth/tokens": row("r r r r r r r r"),
    "GET /api/v1/cases": row("d d r r d d r d"),
    "GET /api/v1/cases/personal-data-access": row("r r d d d d d d"),
    "GET /api/v1/cases/returns": row("r r r r r r r r"),
    "GET /api/v1/cases/{case_id}": row("R R r r r r r h"),
    "GET /api/v1/cases/{case_id}/supervision": row("R R r r r r r h"),
    "GET /api/v1/cases/{case_id}/timeline": row("R R r r r r r h"),
    "GET /api/v1/catalogue": row("r r r r r r r r"),
    "GET /api/v1/catalogue/export": row("r r r r r r r r"),
    "GET /api/v1/catalogue/{code}": row("r r r r r r r r"),
    "GET /api/v1/compliance": row("r r r r r d r d"),
    "GET /api/v1/evaluation/double-no": row("w w w w w w w w"),
    "GET /api/v1/evaluation/rankings": row("w w w w w w w w"),
    "GET /api/v1/evaluation/repeat-complaints": row("w w w w w w w w"),
    "GET /api/v1/evaluation/scores": row("w w w w w w w w"),
    "GET /api/v1/evaluation/scores/cases": row("w w w w w w w w"),
    "GET /api/v1/evaluation/settings": row("r r r r r d r r"),
    "GET /api/v1/evaluation/trend": row("r r r r r d h h"),
    "GET /api/v1/evaluation/unit-stats": row("w w w w w w w w"),
    "GET /api/v1/evaluation/whistle": row("w w w w w w w w"),
    "GET /api/v1/grids": row("r r r r r r r r"),
    "GET /api/v1/grids/export": row("r r r r r r r r"),
    "GET /api/v1/grids/imports": row("r r d d d d d d"),
    "GET /api/v1/grids/{grid_id}": row("R R r r r r r r"),
    "GET /api/v1/hotspots": row("w w w w w w w w"),
    "GET /api/v1/hotspots/clusters": row("w w w w w w w w"),
    "GET /api/v1/hotspots/rising": row("w w w w w w w w"),
    "GET /api/v1/notifications": row("r r r r r r r r"),
    "GET /api/v1/open311-keys": row("r d d d d d d d"),
    "GET /api/v1/people/{user_id}/track": row("R R r r r r h d"),
    "GET /api/v1/tracks": row("r r r r r r h d"),  # as the single track, for t1.worker
    "GET /api/v1/photos": row("r r r r r r r h"),
    "GET /api/v1/photos/{sha256}": row("R R r r r r r h"),
    "GET /api/v1/photos/{sha256}/status": row("R R R R R R R R"),
    "GET /api/v1/postings": row("r r r r r r r r"),
    "GET /api/v1/postings/{posting_id}": row("R R r r r h h r"),
    "GET /api/v1/reports/grid-counts.geojson": row("w w w w w w w w"),
    "GET /api/v1/sync/rejected": row("r r r r r r r r"),
    "GET /api/v1/sync/status": row("d d r r r r r r"),
    "GET /api/v1/sync/watermelon/pull": row("w w w w w w w w"),
    "GET /api/v1/townships/{code}/topology-audit": row("R R r r r d d d"),
    "GET /api/v1/tracked-problems": row("r r r r r d r r"),
    "GET /api/v1/tracked-problems/{problem_id}": row("R R r r r d r r"),
    "GET /api/v1/units": row("r r r r r r r r"),
    "GET /api/v1/units/boundaries/export": row("r r r r r r r r"),
    "GET /api/v1/units/population-check": row("r r r r r r r r"),
    "GET /api/v1/units/{unit_id}": row("R R r r r r r r"),
    "GET /api/v1/units/{unit_id}/revisions": row("R R d d d d d d"),
    "GET /api/v1/users": row("r r r r r r r r"),
    "GET /api/v1/users/{user_id}": row("R R r r r r h h"),
    "GET /api/v1/whereabouts": row("r r r r r d d d"),
    "GET /api/v1/whereabouts/geojson": row("r r r r r d d d"),
    "GET /api/v1/whistle-calls": row("r r r r r r r r"),
    "GET /api/v1/whistle-calls/evaluation": row("r r r r r r r r"),
    "GET /api/v1/whistle-calls/{call_id}": row("R R R r r h r h"),
    "GET /api/v1/whistle-calls/{call_id}/timeline": row("R R R r r h r h"),
    "GET /open311/v2/discovery.{fmt}": row("r r r r r r r r"),
    "GET /open311/v2/requests.{fmt}": row("r r r r r r r r"),
    "GET /open311/v2/requests/{service_request_id}.{fmt}": row("h h h h h h h h"),
    "GET /open311/v2/services.{fmt}": row("r r r r r r r r"),
    "GET /open311/v2/services/{code}.{fmt}": row("r r r r r r r r"),
    "GET /open311/v2/tokens/{token}.{fmt}": row("h h h h h h h h"),
    "HEAD /api/v1/photos/uploads/{upload_id}": row("h h h h h r h h"),
    "PATCH /api/v1/photos/uploads/{upload_id}": row("d d h h h w h h"),
    "PATCH /api/v1/units/{unit_id}": row("W d d d d d d d"),
    "POST /api/v1/assign": row("r r r r r r r r"),
    "POST /api/v1/assign/batch": row("r r r r r r r r"),
    "POST /api/v1/auth/login": row("p p p p p p p p"),
    "POST /api/v1/auth/logout": row("r r r r r r r r"),
    "POST /api/v1/cases": row("d d h h h h h h"),
    "POST /api/v1/cases/{case_id}/accept": row("d d d d d d r h"),
    "POST /api/v1/cases/{case_id}/arrive": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/callback": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/complete": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/contact": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/dispatch": row("d d w w d d d h"),
    "POST /api/v1/cases/{case_id}/escalate": row("d d r r d d d h"),
    "POST /api/v1/cases/{case_id}/exemption-decision": row("d d w w d d d h"),
    "POST /api/v1/cases/{case_id}/exemption-request": row("d d d d d d r h"),
    "POST /api/v1/cases/{case_id}/extension-decision": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/extension-request": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/hand-down": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/link": row("h h h h h h h h"),
    "POST /api/v1/cases/{case_id}/notes": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/return-approval": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/return-refusal": row("W W w w w w w h"),
    "POST /api/v1/cases/{case_id}/return-request": row("d d d d d d r h"),
    "POST /api/v1/cases/{case_id}/review": row("W W w w w w w h"),
    "POST /api/v1/catalogue/import": row("w d w d d d d d"),
    "POST /api/v1/checkins": row("d d d d w w d w"),
    "POST /api/v1/checkouts": row("d d d d w w d w"),
    "POST /api/v1/grids/import": row("w d d d d d d d"),
    "POST /api/v1/grids/{grid_id}/retire": row("R d r d d d d d"),
    "POST /api/v1/notifications/{notification_id}/ack": row("h d h h h h r h"),
    "POST /api/v1/open311-keys": row("r d d d d d d d"),
    "POST /api/v1/open311-keys/{key_id}/revoke": row("r d d d d d d d"),
    "POST /api/v1/photos/uploads": row("d d r r r r r r"),
    "POST /api/v1/postings": row("w d w w d d w d"),
    "POST /api/v1/postings/import": row("w d w w d d w d"),
    "POST /api/v1/postings/{posting_id}/end": row("R d r r d h h d"),
    "POST /api/v1/sync/pull": row("d d r r r r r r"),
    "POST /api/v1/sync/push": row("r r r r r r r r"),
    "POST /api/v1/sync/watermelon/pull": row("d d r r r r r r"),
    "POST /api/v1/sync/watermelon/push": row("r r r r r r r r"),
    "POST /api/v1/tracked-problems": row("h d h d d d d d"),
    "POST /api/v1/tracks": row("d d d d r r d r"),
    "POST /api/v1/units": row("w d d d d d d d"),
    "POST /api/v1/units/boundaries/import": row("w d d d d d d d"),
    "POST /api/v1/units/import": row("w d d d d d d d"),
    "POST /api/v1/users": row("w d d d d d d d"),
    "POST /api/v1/users/{user_id}/grids": row("W d r r d d d d"),
    "POST /api/v1/whistle-calls": row("d d d h h d h h"),
    "POST /api/v1/whistle-calls/{call_id}/accept": row("n n W w w h w h"),
    "POST /api/v1/whistle-calls/{call_id}/actions": row("n n n d d h r h"),
    "POST /api/v1/whistle-calls/{call_id}/arrivals": row("n n n d d h r h"),
    "POST /api/v1/whistle-calls/{call_id}/close": row("n n n r d h d h"),
    "POST /api/v1/whistle-calls/{call_id}/ratings": row("W W W w w h w h"),
    "POST /api/v1/whistle-calls/{call_id}/reject": row("n n W w w h w h"),
    "POST /api/v1/whistle-calls/{call_id}/unjustified": row("n n n d d h r h"),
    "POST /open311/v2/requests.{fmt}": row("d d d d d d d d"),
    "PUT /api/v1/evaluation/settings": row("h h h h h d h h"),
    "PUT /api/v1/users/{user_id}/roles": row("R d d d d d h h"),
}

# Path parameters -> the kind of object (tests/api/authorisation.py), where not the same name.
PARAMETER_KIND = {"/api/v1/townships/{code}/topology-audit": {"code": "township"},
                  "/api/v1/catalogue/{code}": {"code": "catalogue_code"},
                  "/open311/v2/services/{code}.{fmt}": {"code": "catalogue_code"}}
CONSTANT = {"fmt": "json"}
# Query strings other than the document's examples (whose ids name nothing here), where the
# answer should show the access checks rather than an unknown example: o -> the query.
QUERY = {
    "GET /api/v1/people/{user_id}/track": lambda o: {
        "start": "2026-11-23T00:00:00+00:00", "end": "2026-11-24T00:00:00+00:00"},
    "GET /api/v1/tracks": lambda o: {
        "user": o.inside["user_id"], "start": "2026-11-23T00:00:00+00:00",
        "end": "2026-11-24T00:00:00+00:00"},
    "GET /api/v1/grids": lambda o: {"township": "T1"},
    "GET /api/v1/grids/export": lambda o: {"township": "T1"},
    "GET /api/v1/photos": lambda o: {"subject_type": "case", "subject_id": o.inside["case_id"]},
    "GET /api/v1/units/population-check": lambda o: {"unit": "T1"},
    "GET /api/v1/units/boundaries/export": lambda o: {"kind": "township", "under": "D1"},
    "GET /api/v1/tracked-problems": lambda o: {"district_id": o.inside["district_id"]},
    "GET /api/v1/evaluation/settings": lambda o: {"district_id": o.inside["district_id"]},
    "GET /api/v1/evaluation/trend": lambda o: {"unit_id": o.inside["unit_id"], "months": 1},
}
# Bodies other than the document's examples: (bytes, media type).
BODY = {"PATCH /api/v1/photos/uploads/{upload_id}": lambda o: (
    b"\xff\xd8\xff\xe0" + b"\x42" * 100, "application/offset+octet-stream"),
    "POST /api/v1/users/{user_id}/grids": lambda o: {"grid_id": o.inside["grid_id"]}}
# (The case and whistle-call actions keep their example bodies with the object's real version;
# tests/api/test_case_action_matrix.py walks every case action with bodies that succeed.)


objects = objects_fixture("matrix-photos")


def _operations(spec: dict) -> dict[str, tuple[str, str, dict, dict]]:
    found = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete", "head"):
                found[f"{method.upper()} {path}"] = (method, path, item, operation)
    return found


@pytest.fixture(scope="module")
def spec(app) -> dict:  # noqa: ANN001
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_the_table_names_every_operation_of_the_document_and_no_other(spec):
    served = set(_operations(spec))
    assert sorted(served - set(EXPECTED)) == [], "operations without a row in EXPECTED"
    assert sorted(set(EXPECTED) - served) == [], "rows of EXPECTED naming no operation"


def _request(client, o: Objects, method: str, path: str, item: dict, operation: dict,  # noqa: ANN001, PLR0913
             username: str, where: str):  # noqa: ANN202
    """Send the operation as ``username``; None when there is no object ``where``."""
    kinds = PARAMETER_KIND.get(path, {})
    ids = o.inside if where == "in" else o.outside
    objects = [kinds.get(n, n) for n in re.findall(r"{(\w+)}", path) if n not in CONSTANT]
    if where == "out" and not any(k in o.outside for k in objects):
        return None  # no object, or none outside: tried once
    # The sync endpoints answer phones: a token issued to a device.
    token = o.phones if path.startswith("/api/v1/sync/") else o.tokens
    url, query, headers = path, {}, dict(token[username])
    for parameter in item.get("parameters", []) + operation.get("parameters", []):
        name, place = parameter["name"], parameter["in"]
        if place == "path":
            kind = kinds.get(name, name)
            if name in CONSTANT:
                value = CONSTANT[name]
            elif kind == "token_id":
                value = o.own_tokens[username] if where == "in" else o.outside["token_id"]
            elif kind in ids:
                value = ids[kind]
            elif kind in o.inside:
                return None  # the kind has no outside object
            else:
                value = parameter["example"]
            url = url.replace("{" + name + "}", str(value))
        elif place == "query":
            query[name] = parameter["example"]
        elif place == "header":
            headers[name] = str(parameter["example"])
    if (own_query := QUERY.get(f"{method.upper()} {path}")) is not None:
        query = own_query(o)
    kwargs: dict = {"headers": headers, "query_string": query}
    if (own_body := BODY.get(f"{method.upper()} {path}")) is not None:
        body = own_body(o)
        if isinstance(body, dict):
            kwargs["json"] = body
        else:
            kwargs.update(data=body[0], content_type=body[1])
        return client.open(url, method=method.upper(), **kwargs)
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        if "example" in media:
            example = media["example"]
            if media_type == "application/json":
                kwargs["json"] = dict(example)
                for name in ("case_id", "call_id"):
                    if "version" in example and (ids.get(name) or "") in url:
                        kwargs["json"]["version"] = o.versions[ids[name]]  # the real one
            else:
                kwargs["data"] = example.encode() if isinstance(example, str) else example
                kwargs["content_type"] = media_type
            break
    return client.open(url, method=method.upper(), **kwargs)


def _wrong(letter: str, where: str, response, path: str) -> str | None:  # noqa: ANN001
    """Why ``response`` does not fit the table's letter, or None."""
    status = response.status_code
    if status >= 500:
        return "server error"
    body = response.get_json(silent=True) if response.is_json else None
    code = body.get("code") if isinstance(body, dict) else None
    if letter == "p":
        return None
    if letter == "n":
        ok = status in (403, 404, 409)
    elif letter == "d":
        ok = status == 403 or (where == "out" and status == 404)
    elif letter == "h":
        ok = status == 404
    elif where == "out" and letter in "rw":
        ok = status in (403, 404)  # unknown like a missing one, or refused by role
    elif letter in "rR":
        ok = 200 <= status < 300
    else:  # w, W: the access checks passed, whatever the example body gets
        names_object = "{" in path.replace("{fmt}", "")
        ok = status not in (401, 403) and not (
            names_object and status == 404 and code in PATH_OBJECT_404)
    return None if ok else f"expected {letter}"


# The not-found codes of path objects: for ``w`` inside, one of them means the scope refused.
PATH_OBJECT_404 = frozenset({
    "case_not_found", "whistle_call_not_found", "posting_not_found", "user_not_found",
    "unit_not_found", "grid_not_found", "photo_not_found", "upload_not_found",
    "token_not_found", "notification_not_found", "problem_not_found", "person_not_found",
    "open311_key_not_found", "township_not_found", "device_not_found", "not_found"})


def test_every_operation_answers_every_role_as_the_table_says(app, spec, objects):
    connection, o = objects
    client = app.test_client()
    failures, sent, observed = [], 0, {}
    for label, (method, path, item, operation) in sorted(_operations(spec).items()):
        expected = EXPECTED.get(label)
        letters = []
        for role, username in USERS.items():
            seen = []
            for where in ("in", "out"):
                attempt = connection.begin_nested()
                try:
                    response = _request(client, o, method, path, item, operation, username,
                                        where)
                finally:
                    attempt.rollback()
                    # A sign-out or revocation rolled back: forget what the cache learnt.
                    app.extensions["gridops.tokens"].clear()
                    app.extensions["gridops.grid_index"].mark_stale()
                if response is None:
                    continue
                response.close()  # a photo download streams its file
                sent += 1
                seen.append((where, response))
                if os.environ.get("MATRIX_SHOW") == label:
                    print("SHOW", role.value, where, response.status_code,  # noqa: T201
                          response.get_data()[:200])
                if expected is not None:
                    problem = _wrong(expected[role], where, response, path)
                    if problem:
                        body = response.get_json() if response.is_json else None
                        code = body.get("code") if isinstance(body, dict) else None
                        failures.append(f"{label} as {role.value} {where}: {problem}, got "
                                        f"{response.status_code} {code}")
            letters.append(_letter(seen))
        observed[label] = " ".join(letters)
    if os.environ.get("MATRIX_DRAFT"):
        for label, letters in observed.items():
            print(f'    "{label}": row("{letters}"),')  # noqa: T201
    print(f"matrix: {len(observed)} operations x {len(USERS)} roles, {sent} requests")  # noqa: T201
    assert sent > 1000
    assert failures == []


def _letter(seen: list) -> str:  # noqa: ANN001
    """What the answers look like, as a table letter (for drafting a new row)."""
    statuses = {where: r.status_code for where, r in seen}
    inside, outside = statuses.get("in"), statuses.get("out")
    if inside == 403:
        return "d"
    if inside == 404 and outside in (404, None):
        return "h"
    if inside is not None and 200 <= inside < 300:
        return "R" if outside is not None and 200 <= outside < 300 else "r"
    return "W" if outside is not None and outside != 404 else "w"


def _push(client, headers: dict, *operations: dict) -> list[tuple[str, str | None]]:  # noqa: ANN001
    response = client.post("/api/v1/sync/push", headers=headers, json={
        "sent_at": datetime.now(UTC).isoformat(), "operations": list(operations)})
    assert response.status_code == 200, response.get_json()
    return [(r["status"], r["code"]) for r in response.get_json()["results"]]


def _accept(case_id: str, seq: int, version: int, op_id: str | None = None) -> dict:
    return {"id": op_id or str(uuid.uuid4()), "seq": seq, "name": "accept_case",
            "args": {"case_id": case_id}, "base_version": version,
            "device_time": datetime.now(UTC).isoformat()}


def test_a_phone_reaches_only_its_scope_and_cannot_take_another_devices_operations(
        app, objects):
    """Sync: an operation on a case outside the phone's scope is rejected as unknown; an
    operation id another device used is rejected, never applied as theirs."""
    connection, o = objects
    client = app.test_client()
    attempt = connection.begin_nested()
    try:
        # Market supervision's handler leads the inside case: its phone accepts it.
        handler, stranger = o.phones["d1.handler"], o.phones["t2.worker"]
        case_in, case_out = o.inside["case_id"], o.outside["case_id"]
        mine = _accept(case_in, 1, o.versions[case_in])
        assert _push(client, handler, mine) == [("applied", None)]
        assert _push(client, handler, _accept(case_out, 2, o.versions[case_out])) == [
            ("rejected", "case_not_found")]
        # Another user's phone sends the same operation id (a copied or guessed one).
        assert _push(client, stranger, _accept(case_in, 1, o.versions[case_in], mine["id"])) \
            == [("rejected", "operation_id_taken")]
        # The same device again: a replay, answered from the ledger.
        assert _push(client, handler, mine)[0][0] == "duplicate"
        timeline = client.get(f"/api/v1/cases/{o.inside['case_id']}/timeline",
                              headers=o.tokens["t1.dispatcher"]).get_json()
        assert [e["action"] for e in timeline].count("accept") == 1, timeline
    finally:
        attempt.rollback()
        app.extensions["gridops.tokens"].clear()
