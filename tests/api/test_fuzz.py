"""schemathesis fuzzes the served OpenAPI document as several roles, with real ids.

Every operation gets generated requests (valid ones, with the path ids of real objects inside
and outside the caller's scope, or generated ids; and invalid ones), sent as a township
dispatcher, a grid worker and a department handler in turn; then the stateful phase chains
operations along the links schemathesis infers from the document (an id a response gives is
used by the next request). Each request, and each stateful scenario, runs in a savepoint that
is rolled back, against the objects of tests/api/authorisation.py (built once per module).

Checks: no 5xx, and every answer fits its documented schema and content type. Bounded in the
normal suite (a few examples per operation); a longer run:

    FUZZ_EXAMPLES=500 FUZZ_STEPS=50 CI=true .venv/bin/pytest tests/api/test_fuzz.py -k sqlite

(docs/scope.md). Runs are derandomised: the same code gets the same requests.
"""

from __future__ import annotations

import os
import re

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from tests.api.authorisation import objects_fixture

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))  # per operation
STEPS = int(os.environ.get("FUZZ_STEPS", "6"))  # per stateful scenario
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "10"))  # stateful scenarios per role
ROLES = ("t1.dispatcher", "t1.worker", "d1.handler")
KIND = {"code": "township", "fmt": None}
# The photo bytes and tus chunks: tests/api/test_photos.py and test_tus_clients.py send real
# ones; fuzzing them means random bytes answered 415, which says nothing more.
# A photo download streams a file: tests/api/test_photos.py and the matrix read them.
SKIP = re.compile(r"^(PATCH /api/v1/photos/uploads/|POST /api/v1/postings/import"
                  r"|POST /api/v1/units/import|GET /api/v1/photos/\{sha256\}$)")


fuzz_objects = objects_fixture("fuzz-photos")


def _settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        stateful_step_count=STEPS)


def _problem(case, response) -> str | None:  # noqa: ANN001
    try:
        case.validate_response(response, checks=CHECKS)
    except (Failure, FailureGroup) as error:  # FailureGroup is a BaseExceptionGroup
        found = error.exceptions if isinstance(error, FailureGroup) else (error,)
        return "; ".join(f"{f.title}: {f.message}"[:300] for f in found)
    return None


def _forget(app) -> None:  # noqa: ANN001
    app.extensions["gridops.tokens"].clear()
    app.extensions["gridops.grid_index"].mark_stale()


def test_fuzzing_every_operation_as_three_roles_finds_no_5xx_and_no_answer_off_schema(
        app, fuzz_objects):
    connection, o = fuzz_objects
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: dict[str, str] = {}
    sent = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        if SKIP.match(operation.label):
            continue
        names = re.findall(r"{(\w+)}", operation.path)
        real = [{n: "json" if n == "fmt" else ids.get(KIND.get(n, n)) for n in names}
                for ids in (o.inside, o.outside)]
        real = [r for r in real if r and all(v is not None for v in r.values())]
        # The format extension picks the route (discovery.json): another one is another URL,
        # answered by the app's 404, not this operation's.
        fixed = {"fmt": "json"} if "fmt" in names else None
        strategies = [operation.as_strategy(path_parameters=fixed),
                      operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed)]
        strategies += [operation.as_strategy(path_parameters=r) for r in real]

        @hypothesis.given(case=st.one_of(strategies), user=st.sampled_from(ROLES))
        @_settings(EXAMPLES * len(ROLES))
        def fuzz(case, user: str) -> None:  # noqa: ANN001
            nonlocal sent
            attempt = connection.begin_nested()
            try:
                response = case.call(headers={**(case.headers or {}), **o.tokens[user]})
            finally:
                attempt.rollback()
                _forget(app)
            sent += 1
            problem = _problem(case, response)
            label = case.operation.label
            if problem and label not in failures:
                failures[label] = f"as {user}: {response.status_code} {problem}"

        fuzz()
    print(f"fuzz: {sent} requests")  # noqa: T201
    assert sent > 300
    assert failures == {}


@pytest.mark.parametrize("user", ["t1.dispatcher", "d1.handler"])
def test_stateful_fuzzing_along_the_documents_links(app, fuzz_objects, user):
    connection, o = fuzz_objects
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []

    steps = 0

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.attempt = connection.begin_nested()

        def teardown(self) -> None:
            self.attempt.rollback()
            _forget(app)

        def get_call_kwargs(self, case) -> dict:  # noqa: ANN001
            return {"headers": {**(case.headers or {}), **o.tokens[user]}}

        def validate_response(self, response, case, **kwargs) -> None:  # noqa: ANN001, ANN003
            nonlocal steps
            steps += 1
            problem = None if SKIP.match(case.operation.label) else _problem(case, response)
            if problem:
                failures.append(f"{case.operation.label}: {response.status_code} {problem}")

    Machine.run(settings=_settings(SCENARIOS))
    print(f"stateful as {user}: {steps} steps")  # noqa: T201
    assert steps >= SCENARIOS
    assert failures == []
