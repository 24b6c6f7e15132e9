"""schemathesis sends every operation's documented examples (one request each: the path,
query and header parameters' examples and the body's) and checks each answer against the
document: no 5xx, the status is documented, the body fits that status's schema, the content
type too.

Signed in as the admin; the example ids name nothing here, so most answers are the
documented 404/409/422 in the one error shape, which is what this checks. The requests are
built from the examples directly (hypothesis' explicit-examples phase gives the same
requests, ten times slower).
"""

from __future__ import annotations

import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
LOCATIONS = {"path": "path_parameters", "query": "query", "header": "headers"}


def _bytes_only(definition: dict) -> bool:
    content = definition.get("requestBody", {}).get("content", {})
    return bool(content) and all(m.get("schema", {}).get("format") == "binary"
                                 for m in content.values())


def _case(operation, path_item: dict):  # noqa: ANN001, ANN202
    definition = operation.definition.raw
    parts: dict[str, dict] = {"path_parameters": {}, "query": {}, "headers": {}}
    for parameter in path_item.get("parameters", []) + definition.get("parameters", []):
        value = parameter["example"]
        if parameter["in"] == "header":
            value = str(value)  # on the wire a header is text (Upload-Length: 245760)
        parts[LOCATIONS[parameter["in"]]][parameter["name"]] = value
    content = definition.get("requestBody", {}).get("content", {})
    for media_type, media in content.items():  # the first, JSON where there is JSON
        return operation.Case(**parts, body=media["example"], media_type=media_type)
    return operation.Case(**parts)


def _undocumented(method: str, definition: dict, response) -> str | None:  # noqa: ANN001
    """The status, and an error's code, must be listed (not only covered by 'default')."""
    documented = definition["responses"].get(str(response.status_code))
    if documented is None:
        return "status not documented"
    if response.status_code < 400 or definition.get("x-own-error-shape"):
        return None
    if method.upper() == "HEAD":
        return None  # a HEAD answer has no body (RFC 9110 §9.3.2): the status is all there is
    code = response.json()["code"]
    examples = documented["content"]["application/json"]["examples"]
    if code not in {e["value"]["code"] for e in examples.values()}:
        return f"code {code} not documented"
    return None


def test_every_documented_example_gets_a_documented_answer(app, client, world, login):
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = login("admin")
    failures, sent = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if _bytes_only(operation.definition.raw):
            continue  # photo bytes: tests/api/test_photos.py sends real images
        case = _case(operation, spec["paths"][operation.path])
        response = case.call(headers=headers)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as error:  # FailureGroup is a BaseExceptionGroup,
            # which `except Exception` lets through: the first failure ended the test unlisted.
            found = error.exceptions if isinstance(error, FailureGroup) else (error,)
            failures += [(operation.label, response.status_code, f"{f.title}: {f.message}"[:400])
                         for f in found]
        problem = _undocumented(operation.method, operation.definition.raw, response)
        if problem:
            failures.append((operation.label, response.status_code, problem))
    assert sent > 90
    assert failures == []
