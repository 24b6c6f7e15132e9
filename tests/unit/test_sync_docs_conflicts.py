"""docs/sync.md keeps up with the code: every case operation has a row in the conflict table, and
every rejection code an operation can produce is listed with the message the worker reads."""

from __future__ import annotations

import re
from pathlib import Path

from sync.conflicts import _WHAT_HAPPENED, Moved, rejection_code
from sync.operations import OPERATIONS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sync.md").read_text(encoding="utf-8")

# Codes raised by the push machinery, the handlers and the services they call.
OTHER_CODES = {"invalid_arguments", "unknown_operation", "sequence_reused", "operation_id_taken",
               "internal_error", "case_not_found", "illegal_transition", "not_lead_unit",
               "permission_denied", "case_not_returnable", "extension_not_later",
               "coordinates_outside_china", "location_incomplete", "unknown_category",
               "idempotency_key_reused"}


def _section(title: str) -> str:
    start = DOC.index(f"### {title}\n")
    end = DOC.index("\n### ", start + 1)
    return DOC[start:end]


def _rows(section: str) -> dict[str, list[str]]:
    rows = {}
    for line in section.splitlines():
        if match := re.match(r"^\| `([a-z_]+)` \|(.*)\|$", line):
            rows[match[1]] = [cell.strip() for cell in match[2].split("|")]
    return rows


def test_every_rejection_code_is_listed_with_its_message():
    rows = _rows(_section("Rejection codes"))
    expected = {rejection_code(how) for how in Moved} | OTHER_CODES
    assert set(rows) == expected
    for how in Moved:
        message = rows[rejection_code(how)][1]
        assert message == (_WHAT_HAPPENED[how].format(number="{number}")
                           + " Your {what} was not applied; your dispatcher can see it.")


def test_the_conflict_table_has_every_operation_and_the_four_changes():
    section = _section("Conflicts: the case changed while the phone was offline")
    header = next(line for line in section.splitlines() if line.startswith("| operation |"))
    for column in ("re-dispatched to another unit", "closed", "taken back (return approved)",
                   "deadline extended"):
        assert f"| {column} |" in header
    rows = _rows(section)
    # The case operations (sync/operations.py); other areas' operations document their own.
    assert set(rows) == {name for name, op in OPERATIONS.items()
                         if op.handler.__module__ == "sync.operations"}
    assert all(len(cells) == header.count("|") - 2 for cells in rows.values())
    codes = set(re.findall(r"`(case_[a-z_]+)`", section))
    assert {rejection_code(how) for how in Moved} - {"case_not_accepted"} <= codes
