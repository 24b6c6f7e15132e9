"""The served OpenAPI document: valid (openapi-spec-validator), and every operation carries
examples true to its schemas and its error responses with their stable codes.

The walk covers every operation of the document, so a new endpoint without examples fails
here; ``server/api/openapi.py`` says where examples are declared (``EXAMPLE`` on schemas).
"""

from __future__ import annotations

from typing import Any

import pytest
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from openapi_spec_validator import validate

from server.api.error_codes import STATUS_BY_CODE
from server.api.schemas import StrictSchema

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
JSON = "application/json"

# Operations that do not have all their examples yet: this list only shrinks (an entry whose
# operation has its examples now, or no longer exists, fails the walk too).
WITHOUT_EXAMPLES_YET: set[str] = set()


@pytest.fixture
def spec(client) -> dict[str, Any]:  # noqa: ANN001
    return client.get("/api/v1/openapi.json").get_json()


def _operations(spec: dict) -> list[tuple[str, str, dict, list[dict]]]:
    """(method, path, operation, parameters with the path's own) for every operation."""
    found = []
    for path, item in sorted(spec["paths"].items()):
        for method in METHODS:
            if method in item:
                parameters = item.get("parameters", []) + item[method].get("parameters", [])
                found.append((method, path, item[method], parameters))
    return found


def _problems(example: Any, schema: dict, spec: dict, *, write: bool) -> list[str]:
    """Why the example does not fit the schema (refs resolved in the document)."""
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    validator = cls({"allOf": [schema], "components": spec["components"]},
                    format_checker=oas30_format_checker)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}"
            for e in validator.iter_errors(example)]


def _is_binary(media: dict) -> bool:
    return media.get("schema", {}).get("format") == "binary"


def _content_problems(where: str, content: dict, spec: dict, *, write: bool) -> list[str]:
    problems = []
    for media_type, media in content.items():
        if _is_binary(media):
            continue  # bytes (photos, XLSX): nothing to show
        examples = ([media["example"]] if "example" in media else
                    [e["value"] for e in media.get("examples", {}).values()])
        if not examples:
            problems.append(f"{where} {media_type}: no example")
        elif media_type == JSON:
            problems += [f"{where}: {p}" for example in examples
                         for p in _problems(example, media["schema"], spec, write=write)]
    return problems


def _operation_problems(method: str, path: str, operation: dict, parameters: list[dict],
                        spec: dict) -> list[str]:
    problems = []
    for parameter in parameters:
        where = f"parameter {parameter['in']} {parameter['name']}"
        if "example" not in parameter:
            problems.append(f"{where}: no example")
        else:
            problems += [f"{where}: {p}" for p in _problems(
                parameter["example"], parameter.get("schema", {}), spec, write=True)]
    if "requestBody" in operation:
        problems += _content_problems("request", operation["requestBody"]["content"], spec,
                                      write=True)
    successes = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
    if not successes:
        problems.append("no success response")
    for status, response in operation["responses"].items():
        problems += _content_problems(f"response {status}", response.get("content", {}), spec,
                                      write=False)
    return problems


def test_the_served_document_is_valid_openapi(spec):
    validate(spec)  # raises with the first error, naming where it is


def test_every_operation_has_examples_true_to_its_schemas(spec):
    operations = _operations(spec)
    assert len(operations) > 90  # the walk really covers the API
    failures, missing = {}, set()
    for method, path, operation, parameters in operations:
        name = f"{method.upper()} {path}"
        problems = _operation_problems(method, path, operation, parameters, spec)
        only_missing = problems and all(p.endswith("no example") for p in problems)
        if name in WITHOUT_EXAMPLES_YET and only_missing:
            missing.add(name)
        elif problems:
            failures[name] = problems
    assert failures == {}
    assert WITHOUT_EXAMPLES_YET - missing == set()  # has its examples now: strike it off


def _codes(response: dict) -> set[str]:
    examples = response["content"][JSON]["examples"]
    return {e["value"]["code"] for e in examples.values()}


def test_every_operation_documents_its_error_codes(spec):
    failures = []
    for method, path, operation, parameters in _operations(spec):
        if path.startswith("/open311/") or operation.get("x-own-error-shape"):
            continue  # another standard's errors (Open311, STYLE.md §3): test_open311.py
        responses = operation["responses"]
        expected = {"422": {"validation_failed"}}
        if operation.get("security") != []:
            expected["401"] = {"unauthenticated"}
        if any(p["in"] == "path" for p in parameters):
            expected["404"] = {"not_found"}
        if "version" in _body_properties(operation, spec):
            expected["409"] = {"stale_version"}
        for status, codes in expected.items():
            if status not in responses or not codes <= _codes(responses[status]):
                failures.append((method, path, status, sorted(codes)))
        for status, response in responses.items():
            if status.startswith("2"):
                continue
            for code in _codes(response):
                if status != "default" and STATUS_BY_CODE.get(code) is None:
                    failures.append((method, path, status, code))
            for example in response["content"][JSON]["examples"].values():
                value = example["value"]
                if str(value["status"]) != status and status != "default":
                    failures.append((method, path, status, value))
                failures += [(method, path, status, p) for p in _problems(
                    value, response["content"][JSON]["schema"], spec, write=False)]
    assert failures == []


def _body_properties(operation: dict, spec: dict) -> dict:
    schema = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("properties", {})


def _input_schemas() -> list[type]:
    """Every input schema (bodies and query strings are StrictSchemas), loaded by the app."""
    found, todo = set(), [StrictSchema]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def test_every_input_example_loads_with_its_marshmallow_schema(app):
    inputs = [c for c in _input_schemas() if getattr(c, "EXAMPLE", None) is not None]
    failures = {}
    with app.test_request_context():
        for cls in inputs:
            errors = cls().validate(cls.EXAMPLE)
            if errors:
                failures[cls.__name__] = errors
    assert failures == {}
