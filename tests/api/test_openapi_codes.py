"""The error codes each operation documents include those its view can be seen to raise.

A static reading, three calls deep from each view into server/ and sync/: a ``code="..."``
given to an error, an error class with its own code, or ``actor.require`` (403). It cannot
follow a service passed in as a value (the case and whistle-call action tables document
theirs from their rules), so it is a floor, not the whole truth: a view that raises a code
its OpenAPI entry does not list fails here; declare it with ``@may_answer``.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import types
from functools import cache

from server.api.error_codes import STATUS_BY_CODE
from server.core import errors as domain

DEPTH = 3
PACKAGES = ("server", "sync")
# Reached only through building the answer from stored rows (a whistle call's photo statuses
# re-read hashes that were checked when they were linked): not a refusal of the request.
ANSWER_ONLY = {"invalid_sha256"}


def _class_codes() -> dict[str, str]:
    """Error classes that carry their own code (IllegalTransition, PhotoTooLarge, ...)."""
    found, todo = {}, [domain.DomainError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            found[sub.__name__] = sub.code
    return found


def _callee(function: types.FunctionType, call: ast.Call) -> object:
    module = inspect.getmodule(function)
    if isinstance(call.func, ast.Name):
        return getattr(module, call.func.id, None)
    if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
        base = getattr(module, call.func.value.id, None)
        if isinstance(base, types.ModuleType):
            return getattr(base, call.func.attr, None)
    return None


@cache
def raised_codes(function: types.FunctionType, depth: int = DEPTH) -> frozenset[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError):
        return frozenset()
    classes, found = _class_codes(), set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        given = {k.value.value for k in node.keywords
                 if k.arg == "code" and isinstance(k.value, ast.Constant)}
        found |= given
        # code=<a variable> (sheets.rejection's): its callers pass the constant, found there
        passed_on = any(k.arg == "code" for k in node.keywords)
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name == "require":
            found.add("permission_denied")
        elif name in classes and not passed_on:
            found.add(classes[name])
        callee = _callee(function, node)
        if (depth > 0 and isinstance(callee, types.FunctionType)
                and callee.__module__.startswith(PACKAGES)):
            found |= raised_codes(callee, depth - 1)
    return frozenset(c for c in found if c in STATUS_BY_CODE)


def _documented(operation: dict) -> set[str]:
    return {e["value"]["code"] for status, response in operation["responses"].items()
            if not status.startswith("2")
            for e in response.get("content", {}).get("application/json", {})
            .get("examples", {}).values()}


def test_every_operation_documents_the_codes_its_view_raises(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    failures, checked = {}, 0
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if path not in spec["paths"]:
            continue
        view = app.view_functions[rule.endpoint]
        view = inspect.unwrap(view)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = spec["paths"][path][method.lower()]
            if operation.get("x-own-error-shape"):
                continue
            missing = raised_codes(view) - _documented(operation)
            if path.startswith("/api/v1/whistle-calls/{call_id}/"):
                missing -= ANSWER_ONLY
            checked += 1
            if missing:
                failures[f"{method} {path}"] = sorted(missing)
    assert checked > 90
    assert failures == {}
