"""The arithmetic of the 三率: exact rates, half-up rounding, the composite, ranks with ties."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.org.rules import UnitKind
from server.reports.scoring import (
    Counts,
    EvaluationSettings,
    UnitNode,
    percent,
    rank,
    rank_change,
    rates,
    rollup,
    round_half_up,
    score,
    settings_problems,
    total,
)


@pytest.mark.parametrize(("value", "expected"), [
    (Fraction(97005, 1000), "97.01"), (Fraction(97004999, 1000000), "97.00"),
    (Fraction(2, 3) * 100, "66.67"), (Fraction(1, 8), "0.13"), (Fraction(100), "100.00"),
])
def test_rounding_is_half_up_and_exact(value, expected):  # noqa: ANN001
    assert round_half_up(value) == Decimal(expected)


@given(st.integers(0, 10**6), st.integers(1, 10**6))
def test_rounding_agrees_with_decimal_half_up(numerator, denominator):  # noqa: ANN001
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 50
        exact = Decimal(numerator) * 100 / Decimal(denominator)
        expected = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert percent(Fraction(numerator, denominator)) == expected


def test_a_worked_month_by_hand():
    # 7 rated: 6 resolved; 4 满意, 2 基本满意, 1 不满意; 5 responses due, 4 met.
    counts = Counts(rated=7, resolved=6, satisfied=4, basically_satisfied=2, dissatisfied=1,
                    response_due=5, response_met=4)
    r = rates(counts)
    assert percent(r.response) == Decimal("80.00")
    assert percent(r.resolution) == Decimal("85.71")  # 6/7 = 85.714…
    assert percent(r.satisfaction) == Decimal("80.00")  # (4 + 0.8*2)/7 = 5.6/7
    # 0.10*80 + 0.45*600/7 + 0.45*80 = 8 + 38.5714… + 36 = 82.5714… (unrounded rates)
    assert r.composite == Fraction(8) + Fraction(45, 100) * Fraction(600, 7) + 36
    assert score(r.composite) == Decimal("82.57")


def test_without_a_response_due_the_composite_uses_the_other_two_weights():
    r = rates(Counts(rated=2, resolved=1, satisfied=2))
    assert r.response is None
    assert r.composite == (45 * Fraction(50) + 45 * Fraction(100)) / 90
    assert rates(Counts(response_due=3, response_met=3)).composite is None  # nothing rated


def test_the_basic_weight_and_weights_are_settings():
    settings = EvaluationSettings(response_weight=Decimal(20), resolution_weight=Decimal(40),
                                  satisfaction_weight=Decimal(40), basic_weight=Decimal("1"))
    r = rates(Counts(rated=2, resolved=2, basically_satisfied=2, response_due=1), settings)
    assert percent(r.satisfaction) == Decimal("100.00")
    assert score(r.composite) == Decimal("80.00")
    assert settings_problems(settings) == {}
    bad = EvaluationSettings(response_weight=Decimal(20), basic_weight=Decimal("1.2"),
                             bottom_townships=-1)
    assert set(settings_problems(bad)) == {"weights", "basic_weight", "bottom_townships"}


def test_counts_add_up():
    assert total([Counts(rated=1, resolved=1), Counts(rated=2, response_due=4)]) == \
        Counts(rated=3, resolved=1, response_due=4)


def test_ties_share_a_rank_and_a_tie_at_the_boundary_is_flagged_whole():
    scores = [("a", Decimal("99.10")), ("b", Decimal("98.00")), ("c", Decimal("98.00")),
              ("d", Decimal("97.50")), ("e", Decimal("96.00")), ("f", None)]
    placings = rank(scores, bottom_n=2)
    assert {k: p.rank for k, p in placings.items()} == \
        {"a": 1, "b": 2, "c": 2, "d": 4, "e": 5, "f": None}
    assert {k for k, p in placings.items() if p.flagged} == {"d", "e"}
    tied_bottom = rank([("a", Decimal(99)), ("b", Decimal(98)), ("c", Decimal(98)),
                        ("d", Decimal(98))], bottom_n=2)
    assert {k for k, p in tied_bottom.items() if p.flagged} == {"b", "c", "d"}
    assert not any(p.flagged for p in rank(scores, bottom_n=0).values())


@given(st.lists(st.one_of(st.none(), st.integers(0, 20).map(Decimal)), max_size=30),
       st.integers(0, 5))
def test_ranking_properties(values, bottom_n):  # noqa: ANN001
    placings = rank(list(enumerate(values)), bottom_n)
    ranked = [(values[k], p) for k, p in placings.items() if p.rank is not None]
    for value, placing in ranked:
        assert placing.rank == 1 + sum(1 for v, _ in ranked if v > value)
    flagged = [p for _, p in ranked if p.flagged]
    assert len(flagged) >= min(bottom_n, len(ranked))
    assert all(p.rank is not None for p in placings.values() if p.flagged)
    if ranked and bottom_n:
        worst = min(v for v, _ in ranked)
        assert all(p.flagged for v, p in ranked if v == worst)


def test_rank_change_is_places_moved_up():
    assert rank_change(5, 2) == 3
    assert rank_change(1, 3) == -2
    assert rank_change(None, 1) is None


def test_outposts_roll_up_to_their_district_department_not_the_township():
    ids = {name: uuid.uuid4() for name in ("D", "T", "C", "CC", "DEP", "OUT", "TEAM", "LONE")}
    nodes = [
        UnitNode(ids["D"], UnitKind.DISTRICT, None),
        UnitNode(ids["T"], UnitKind.TOWNSHIP, ids["D"]),
        UnitNode(ids["C"], UnitKind.COMMUNITY, ids["T"]),
        UnitNode(ids["CC"], UnitKind.COMMAND_CENTRE, ids["T"]),
        UnitNode(ids["DEP"], UnitKind.DEPARTMENT, ids["D"], "city_management"),
        UnitNode(ids["OUT"], UnitKind.DEPARTMENT, ids["T"], "city_management"),
        UnitNode(ids["TEAM"], UnitKind.DEPARTMENT, ids["OUT"], None),
        UnitNode(ids["LONE"], UnitKind.DEPARTMENT, ids["T"], "water"),
    ]
    owners = rollup(nodes, ids["D"])
    name = {v: k for k, v in ids.items()}
    assert {k: {name[i] for i in owners[ids[k]]} for k in ids} == {
        "D": {"D"}, "T": {"D", "T"}, "C": {"D", "T", "C"}, "CC": {"D", "T", "CC"},
        "DEP": {"D", "DEP"}, "OUT": {"D", "OUT", "DEP"}, "TEAM": {"D", "TEAM", "OUT", "DEP"},
        "LONE": {"D", "LONE"},
    }
