"""Populations add up (issue 11): a unit's recorded figure against its children's sum."""

from __future__ import annotations

import uuid

from server.org.rules import PopulationNode, PopulationStatus, UnitKind, check_populations


def node(kind: UnitKind, population: int | None, parent: PopulationNode | None = None):  # noqa: ANN201
    return PopulationNode(uuid.uuid4(), parent.id if parent else None, kind, population)


def by_id(checks):  # noqa: ANN001, ANN201
    return {c.unit_id: c for c in checks}


def test_a_district_of_300000_whose_townships_sum_to_144000_is_a_mismatch():
    district = node(UnitKind.DISTRICT, 300_000)
    towns = [node(UnitKind.TOWNSHIP, p, district) for p in (50_000, 44_000, 50_000)]
    checks = by_id(check_populations([district, *towns]))
    c = checks[district.id]
    assert (c.status, c.children_sum, c.difference) == (PopulationStatus.MISMATCH, 144_000, 156_000)
    assert c.figure_used == "recorded"
    # Townships without communities have nothing to add up.
    assert {checks[t.id].status for t in towns} == {PopulationStatus.NO_CHILDREN}


def test_consistent_incomplete_and_missing():
    town = node(UnitKind.TOWNSHIP, 30_000)
    communities = [node(UnitKind.COMMUNITY, 10_000, town), node(UnitKind.COMMUNITY, 20_000, town)]
    other = node(UnitKind.TOWNSHIP, 5_000)
    partial = [node(UnitKind.COMMUNITY, 5_000, other), node(UnitKind.COMMUNITY, None, other)]
    blank = node(UnitKind.TOWNSHIP, None)
    checks = by_id(check_populations([town, *communities, other, *partial, blank]))
    assert (checks[town.id].status, checks[town.id].difference) == (PopulationStatus.CONSISTENT, 0)
    assert checks[other.id].status is PopulationStatus.CHILDREN_INCOMPLETE
    assert checks[other.id].difference is None  # a partial sum says nothing
    assert (checks[blank.id].status, checks[blank.id].figure_used) == (
        PopulationStatus.MISSING, "none")


def test_command_centres_and_departments_are_not_checked_nor_counted():
    district = node(UnitKind.DISTRICT, 1_000)
    extra = [node(UnitKind.COMMAND_CENTRE, None, district),
             node(UnitKind.DEPARTMENT, None, district),
             node(UnitKind.TOWNSHIP, 1_000, district)]
    checks = check_populations([district, *extra])
    assert [c.unit_id for c in checks] == [district.id, extra[2].id]
    assert checks[0].status is PopulationStatus.CONSISTENT
