"""docs/cases.md's table of who may do what is the rules code's table: read both, compare."""

from __future__ import annotations

from pathlib import Path

from server.api.cases.routes import ACTIONS
from server.cases.rules import OPEN_STATUSES, TRANSITIONS, Action, Barred, CaseStatus, Party

DOC = Path(__file__).resolve().parents[2] / "docs" / "cases.md"


def _table() -> dict[str, list[str]]:
    """The rows of the table under '## Who may do what', by action."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    table = {c[0].strip("`"): c[1:] for c in cells if c[0].strip("`") in set(Action)}
    assert len(table) == len(rows), "a row names no action"
    return table


def _statuses(cell: str) -> frozenset[CaseStatus]:
    if cell == "any":
        return frozenset(CaseStatus)
    if cell == "open":
        return OPEN_STATUSES
    return frozenset(CaseStatus(s.strip()) for s in cell.split(","))


def test_the_doc_table_lists_every_action_once():
    assert set(_table()) == {a.value for a in Action}


def test_who_may_and_who_may_never_match_the_rules():
    for action, (_, made_by, never_by, *_rest) in _table().items():
        rule = TRANSITIONS[Action(action)]
        assert Party(made_by) is rule.by, action
        barred = frozenset() if never_by == "—" else frozenset(
            Barred(b.strip()) for b in never_by.split(","))
        assert barred == rule.barred, action


def test_from_and_to_match_the_state_machine():
    for action, (_, _, _, sources, target, *_rest) in _table().items():
        rule = TRANSITIONS[Action(action)]
        assert _statuses(sources) == rule.sources, action
        assert (None if target == "—" else CaseStatus(target)) is rule.target, action


def test_every_approval_is_the_supervisors_and_never_the_lead_units():
    approvals = {Action.APPROVE_RETURN, Action.REFUSE_RETURN, Action.DECIDE_EXTENSION,
                 Action.DECIDE_EXEMPTION, Action.CALLBACK}
    table = _table()
    for action in approvals:
        assert table[action.value][1:3][0] == "supervisor"
        assert "lead" in table[action.value][2]
    assert {a for a, t in TRANSITIONS.items() if t.by is Party.SUPERVISOR} == approvals


def test_the_paths_are_the_apis():
    paths = {path for path, *_ in ACTIONS} | {"link"}
    assert {row[0].strip("`") for row in _table().values()} == paths
