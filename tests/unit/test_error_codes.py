"""The catalogue of error codes (server/api/error_codes.py) lists every code the code raises,
with the status its error category answers, so the OpenAPI document can name them."""

from __future__ import annotations

import ast
from pathlib import Path

from server.api.error_codes import OTHER_STATUSES, STATUS_BY_CODE
from server.errors import CODE_BY_STATUS

ROOT = Path(__file__).resolve().parents[2]
# Not answered over HTTP: the CLI's own error, and a push outcome carried inside a 200.
NOT_HTTP = {"not_a_township", "operation_id_taken", "domain_error"}


def _raised_codes() -> set[str]:
    """Every ``code="..."`` keyword, ``code = "..."`` class attribute and case refusal code."""
    found = set()
    for path in [*ROOT.joinpath("server").rglob("*.py"), *ROOT.joinpath("sync").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                found |= {k.value.value for k in node.keywords if k.arg == "code"
                          and isinstance(k.value, ast.Constant)}
                if getattr(node.func, "id", None) == "Refusal":
                    found.add(node.args[1].value)
            if isinstance(node, ast.ClassDef):
                found |= {b.value.value for b in node.body if isinstance(b, ast.Assign)
                          and getattr(b.targets[0], "id", None) == "code"
                          and isinstance(b.value, ast.Constant)}
    return found - NOT_HTTP


def test_every_raised_code_is_in_the_catalogue():
    assert _raised_codes() - set(STATUS_BY_CODE) == set()


def test_the_http_level_codes_are_in_the_catalogue_with_their_status():
    for status, code in CODE_BY_STATUS.items():
        assert STATUS_BY_CODE[code] == status or status in OTHER_STATUSES.get(code, ())


def test_the_catalogue_names_no_code_that_nothing_answers():
    assert set(STATUS_BY_CODE) - _raised_codes() - set(CODE_BY_STATUS.values()) == set()
