"""Examples and error responses in the OpenAPI document, put there by one apispec hook.

Every marshmallow schema the API speaks declares ``EXAMPLE``: one object in wire form (data
keys, JSON values), written next to its fields. ``ExamplesPlugin`` (our MarshmallowPlugin)
copies it into every operation that uses the schema: request bodies and responses (a list of
one for ``many=True``), each query or header parameter (the example's value under the
parameter's name) and the path parameters (``PATH_EXAMPLES``, by name).

Error responses are built here too, in the one error shape (``server/errors.py``), with one
example per stable ``code`` an operation may answer: the codes every operation of its kind may
answer (``automatic_codes``: 401 signed in, 404 path ids, 409 stale_version on versioned
writes, 413 bodies, 422 validation_failed) plus the ones its view declares with
``@may_answer(...)``. ``tests/api/test_openapi.py`` walks every operation of the served
document: each needs its examples, each example is checked against its schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest import Blueprint

from server.api.error_codes import message_for, parse

EXAMPLE = "EXAMPLE"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
X_CODES = "x-may-answer"
# Open311 answers its errors in GeoReport v2's shape ([{code, description}]), not ours: its
# operations keep the error responses they declare (routes.py) and get none of ours.
X_OWN_ERRORS = "x-own-error-shape"
WRITES = ("post", "put", "patch", "delete")
LOCATIONS = {"querystring": "query", "headers": "header", "files": "formData"}

# Path parameters have no schema of ours: their examples, by name.
PATH_EXAMPLES: dict[str, Any] = {
    "case_id": "5f0c8a52-3c1e-4d7a-9a52-2d1f6e1c0a11",
    "call_id": "8d2b6f10-77a4-4c0e-b7f1-0e6f4b3b9c21",
    "unit_id": "1b6e3d0a-9c55-4f0e-8a1c-6b7a2e5d4c31",
    "user_id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41",
    "device_id": "3d8a5f2c-1e77-4b2a-8c3e-8d9c4a7f6e51",
    "grid_id": "4e9b6a3d-2f88-4c3b-9d4f-9eab5b8a7f61",
    "posting_id": "5fac7b4e-3a99-4d4c-8e5a-afbc6c9b8a71",
    "notification_id": "6abd8c5f-4baa-4e5d-9f6b-b0cd7dac9b81",
    "upload_id": "7bce9d6a-5cbb-4f6e-8a7c-c1de8ebdac91",
    "token_id": "9de0bf8c-7edd-4b8a-8c9e-e3f0a0dfceb1",
    "problem_id": "bf20d1ae-9aff-4dac-8eb0-a5b2c2f1e0d1",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "code": "110105001",
    "key_id": "c0a1b2c3-d4e5-4f60-8a7b-9c8d7e6f5a41",
    "fmt": "json",  # the format of the documented (JSON) examples; .xml answers the same in XML
    "service_request_id": "2026-0000123",
    "token": "5b0e8c1d2a3f4e6b9c7d8e0f1a2b3c4d",
    "username": "wangjing.dispatcher",
}

# The stable code a scoped loader answers for an id it cannot show you, by path parameter
# (``code`` names a township or a catalogue item: those views declare theirs).
NOT_FOUND_BY_PARAM = {
    "case_id": "case_not_found",
    "call_id": "whistle_call_not_found",
    "unit_id": "unit_not_found",
    "user_id": "user_not_found",
    "grid_id": "grid_not_found",
    "posting_id": "posting_not_found",
    "notification_id": "notification_not_found",
    "upload_id": "upload_not_found",
    "token_id": "token_not_found",
    "problem_id": "tracked_problem_not_found",
    "sha256": "photo_not_found",
    "key_id": "unknown_open311_key",
}


def may_answer(*codes: str):  # noqa: ANN201 - a flask-smorest decorator
    """Declare the stable error codes a view may answer beyond its kind's (automatic_codes)."""
    unknown = [c for c in codes if not _known(c)]
    if unknown:
        raise ValueError(f"not in server/api/error_codes.py: {', '.join(unknown)}")
    return Blueprint.doc(**{X_CODES: list(codes)})


def _known(code: str) -> bool:
    try:
        parse(code)
    except (KeyError, ValueError):
        return False
    return True


def own_error_shape(standard: str):  # noqa: ANN201 - a flask-smorest decorator
    """The view answers errors in ``standard``'s shape and documents them itself."""
    return Blueprint.doc(**{X_OWN_ERRORS: standard})


def example_of(schema: Any) -> Any | None:
    """The schema's EXAMPLE (a list of one for many=True), or None."""
    if isinstance(schema, type) and issubclass(schema, ma.Schema):
        return getattr(schema, EXAMPLE, None)
    if isinstance(schema, ma.Schema):
        example = getattr(schema, EXAMPLE, None)
        if example is None:
            return None
        return [example] if schema.many else example
    return None


def _schema_of(schema: Any) -> ma.Schema | None:
    if isinstance(schema, type) and issubclass(schema, ma.Schema):
        return schema()
    return schema if isinstance(schema, ma.Schema) else None


def _add_content_examples(content: Mapping[str, dict]) -> None:
    for media in content.values():
        example = example_of(media.get("schema"))
        if example is not None and "example" not in media and "examples" not in media:
            media["example"] = example


def _parameter_examples(operation: dict) -> dict[str, dict[str, Any]]:
    """Location → parameter name → example, from the query/header schemas (before expansion)."""
    found: dict[str, dict[str, Any]] = {}
    for parameter in operation.get("parameters", []):
        if isinstance(parameter, Mapping) and "schema" in parameter:
            example = example_of(parameter["schema"])
            if isinstance(example, Mapping):
                location = LOCATIONS.get(parameter["in"], parameter["in"])
                found.setdefault(location, {}).update(example)
    return found


def _is_versioned(operation: dict) -> bool:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = _schema_of(media.get("schema"))
        if schema is not None and "version" in schema.fields:
            return True
    return False


def automatic_codes(method: str, operation: dict, path_params: list[str]) -> list[str]:
    """The codes any operation of this kind may answer, known from its shape."""
    # Every operation checks its query string, at least, with the text rules of every input
    # (server/api/blueprint.py): a control character anywhere is an invalid_text.
    codes = ["validation_failed", "invalid_text"]
    if operation.get("security") != []:
        codes += ["unauthenticated", "invalid_token"]
        if method in WRITES:
            codes.append("permission_denied")  # role checks are the services'
    if path_params:
        codes.append("not_found")
        codes += [NOT_FOUND_BY_PARAM[p] for p in path_params if p in NOT_FOUND_BY_PARAM]
    if "requestBody" in operation:
        codes += ["payload_too_large", "unsupported_media_type"]
        if "application/json" in operation["requestBody"].get("content", {}):
            codes.append("json_too_deep")
    if _is_versioned(operation):
        codes.append("stale_version")
    return codes


def error_example(code: str, status: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"code": code, "status": status, "message": message_for(code)}
    if code == "validation_failed":
        payload["errors"] = {"json": {"version": ["Missing data for required field."]}}
    payload["request_id"] = "4f1c2e8a9b7d4c3e8f1a2b3c4d5e6f70"
    return payload


def error_responses(codes: list[str]) -> dict[str, dict]:
    by_status: dict[int, list[str]] = {}
    for code, status in dict.fromkeys(parse(c) for c in codes):
        by_status.setdefault(status, []).append(code)
    responses = {}
    for status, status_codes in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "`code` is one of: " + ", ".join(f"`{c}`" for c in status_codes),
            "content": {"application/json": {"schema": ERROR_REF, "examples": {
                c: {"summary": message_for(c), "value": error_example(c, status)}
                for c in status_codes}}}}
    return responses


def _declares_422(operation: dict) -> bool:
    """Whether the 422 is the view's own (documented with an example), not flask-smorest's."""
    response = operation.get("responses", {}).get(422) or operation.get("responses", {}).get("422")
    return isinstance(response, Mapping) and any(
        "example" in media or "examples" in media
        for media in response.get("content", {}).values())


class ExamplesPlugin(MarshmallowPlugin):
    """The MarshmallowPlugin, plus the examples and error responses of every operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._path_params: list[str] = []

    def path_helper(self, path=None, operations=None, parameters=None,  # noqa: ANN001, ANN206
                    **kwargs):
        # Runs after the Flask plugin listed the path parameters, before operation_helper.
        self._path_params = [p["name"] for p in parameters or [] if p.get("in") == "path"]
        for parameter in parameters or []:
            if parameter.get("in") == "path" and parameter["name"] in PATH_EXAMPLES:
                parameter.setdefault("example", PATH_EXAMPLES[parameter["name"]])
        return None

    def operation_helper(self, path=None, operations=None, **kwargs):  # noqa: ANN001, ANN206
        operations = operations or {}
        pending = {}
        for method, operation in operations.items():
            declared = operation.pop(X_CODES, [])
            codes = automatic_codes(method, operation, self._path_params) + declared
            pending[method] = (_parameter_examples(operation), codes)
            _add_content_examples(operation.get("requestBody", {}).get("content", {}))
            for response in operation.get("responses", {}).values():
                if isinstance(response, Mapping):
                    _add_content_examples(response.get("content", {}))
        super().operation_helper(path=path, operations=operations, **kwargs)
        for method, operation in operations.items():
            examples, codes = pending[method]
            for parameter in operation.get("parameters", []):
                value = examples.get(parameter.get("in"), {}).get(parameter.get("name"))
                if value is not None:
                    parameter.setdefault("example", value)
            responses = operation.setdefault("responses", {})
            if operation.get(X_OWN_ERRORS):
                # The marker stays (the error-code tests skip these); the view's own error
                # responses stay; flask-smorest's bare 422 (our shape, never answered) goes.
                if not _declares_422(operation):
                    for status in (422, "422"):
                        responses.pop(status, None)
                continue
            for status in [s for s in responses if str(s)[:1] == "4"]:
                del responses[status]  # flask-smorest's bare 422: replaced by ours
            responses.update(error_responses(codes))
            responses["default"] = error_responses(["internal_error"])["500"]
            responses["default"]["description"] = "Unexpected: `internal_error`, logged"
