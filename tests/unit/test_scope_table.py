"""docs/scope.md's need-to-know table is server/org/rules.py NEED_TO_KNOW, cell by cell."""

from __future__ import annotations

from pathlib import Path

from server.org.rules import NEED_TO_KNOW, Role, Sight, Subject

DOC = Path(__file__).resolve().parents[2] / "docs" / "scope.md"


def _doc_table() -> dict[str, dict[str, str]]:
    lines = [line for line in DOC.read_text(encoding="utf-8").splitlines()
             if line.startswith("| role |") or (line.startswith("| ") and line.split("|")[1]
                                                .strip() in {r.value for r in Role})]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return table


def test_the_documented_table_is_the_code():
    code = {role.value: {s.value: sight.value for s, sight in row.items()}
            for role, row in NEED_TO_KNOW.items()}
    assert _doc_table() == code


def test_every_role_has_a_sight_of_every_subject():
    assert set(NEED_TO_KNOW) == set(Role)
    for row in NEED_TO_KNOW.values():
        assert set(row) == set(Subject)
        assert set(row.values()) <= set(Sight)
