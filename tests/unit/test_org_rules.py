"""Roles, reach and the administrative tree's rules, without app or database."""

from __future__ import annotations

from datetime import datetime

import pytest

from server.core.db import UTCDateTime
from server.grids.rules import grid_code_problem
from server.org.rules import ALLOWED_PARENTS, Reach, Role, UnitKind, widest_reach


def test_every_role_has_a_reach():
    assert {widest_reach(frozenset({role})) for role in Role} == set(Reach)


def test_a_user_with_several_roles_sees_the_widest_territory():
    assert widest_reach(frozenset({Role.GRID_WORKER, Role.TOWNSHIP_DISPATCHER})) is Reach.TOWNSHIP
    assert widest_reach(frozenset({Role.GRID_LEADER, Role.AUDITOR})) is Reach.ALL
    assert widest_reach(frozenset()) is Reach.OWN_GRIDS


def test_townships_sit_only_in_districts_and_communities_only_in_townships():
    assert ALLOWED_PARENTS[UnitKind.TOWNSHIP] == {UnitKind.DISTRICT}
    assert ALLOWED_PARENTS[UnitKind.COMMUNITY] == {UnitKind.TOWNSHIP}
    assert None in ALLOWED_PARENTS[UnitKind.DISTRICT]


@pytest.mark.parametrize("code", ["WJ-001", "110105009-G12", "a.b_c"])
def test_good_grid_codes(code):
    assert grid_code_problem(code) is None


@pytest.mark.parametrize("code", ["", None, 12, "-lead", "has space", "x" * 41, "网格1"])
def test_bad_grid_codes(code):
    assert grid_code_problem(code)


def test_naive_datetimes_are_refused_at_the_database_boundary():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), None)  # noqa: DTZ001
