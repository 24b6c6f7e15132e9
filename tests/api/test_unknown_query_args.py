"""No endpoint silently ignores a query parameter: every GET of the served OpenAPI document
answers 422 validation_failed, naming the parameter, in the one error shape.

Except Open311 (``/open311/v2``): its callers are clients we do not control, which send
parameters of other servers (``jurisdiction_id``…), so it is a Tolerant Reader by design
(STYLE.md §4; tests/api/test_open311.py checks it ignores them)."""

from __future__ import annotations

import re
import uuid

from tests.fixtures.cases import IN_T1_A1


def _fill(path: str, item: dict) -> str:
    """The path with each parameter given a value of its type (a UUID nobody has, or a word)."""
    parameters = item.get("parameters", []) + item["get"].get("parameters", [])
    types = {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "path"}

    def value(match: re.Match) -> str:
        schema = types.get(match.group(1), {})
        if schema.get("format") == "uuid":
            return str(uuid.uuid4())
        return "1" if schema.get("type") == "integer" else "X1"

    return re.sub(r"\{(\w+)\}", value, path)


def _get_operations(spec: dict) -> list[tuple[str, dict]]:
    return [(path, item) for path, item in sorted(spec["paths"].items())
            if "get" in item and not path.startswith("/open311/")]


def test_every_get_endpoint_refuses_a_query_parameter_it_does_not_know(client, world, login):
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = _get_operations(spec)
    assert len(operations) > 30  # the walk really covers the API
    headers = login("admin")
    failures = []
    for path, item in operations:
        response = client.get(_fill(path, item), query_string={"no_such_filter": "1"},
                              headers=headers)
        body = response.get_json(silent=True) or {}
        if (response.status_code != 422 or body.get("code") != "validation_failed"
                or "no_such_filter" not in body.get("errors", {}).get("query", {})
                or not {"status", "message", "request_id"} <= set(body)):
            failures.append((path, response.status_code, body))
    assert failures == []


def test_a_misspelt_case_filter_is_an_error_not_the_whole_list(client, login, file_case):
    file_case(at=IN_T1_A1)
    response = client.get("/api/v1/cases", query_string={"numbr": "2026-0000001"},
                          headers=login("t1.dispatcher"))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert body["errors"] == {"query": {"numbr": ["Unknown field."]}}
    # The known filters still work.
    assert client.get("/api/v1/cases?status=dispatched",
                      headers=login("t1.dispatcher")).status_code == 200
