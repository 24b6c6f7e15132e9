"""The arithmetic of the 三率 and rankings: rates, rounding, the composite, ranks with ties,
bottom-N flags, and which units a case's lead unit rolls up to.

Pure Python. Every rate is an exact ``Fraction``; only ``percent`` rounds, half up to two
decimals, the way the seeds print them (97.01). The composite is computed from the unrounded
rates and rounded once. docs/evaluation.md explains each rule and its source.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from server.org.rules import UnitKind

K = TypeVar("K", bound=Hashable)


class Figure(StrEnum):
    RESPONSE = "response"  # 响应率
    RESOLUTION = "resolution"  # 解决率
    SATISFACTION = "satisfaction"  # 满意率


@dataclass(frozen=True)
class EvaluationSettings:
    """A district's evaluation settings in force for a period.

    Weights are percentages of the composite (summing to 100); ``basic_weight`` is how much a
    基本满意 counts in the satisfaction rate (1 = like 满意, 0 = like 不满意).
    """

    response_weight: Decimal = Decimal("10")
    resolution_weight: Decimal = Decimal("45")
    satisfaction_weight: Decimal = Decimal("45")
    basic_weight: Decimal = Decimal("0.8")
    bottom_townships: int = 2
    bottom_departments: int = 3

    def weight_of(self, figure: Figure) -> Decimal:
        return {Figure.RESPONSE: self.response_weight, Figure.RESOLUTION: self.resolution_weight,
                Figure.SATISFACTION: self.satisfaction_weight}[figure]


DEFAULT_SETTINGS = EvaluationSettings()


def settings_problems(settings: EvaluationSettings) -> dict[str, str]:
    """Field → what is wrong; empty when the settings can be used."""
    problems: dict[str, str] = {}
    weights = [settings.response_weight, settings.resolution_weight, settings.satisfaction_weight]
    if any(w < 0 for w in weights):
        problems["weights"] = "Weights are zero or more."
    elif sum(weights) != 100:
        problems["weights"] = f"Weights add up to 100, not {sum(weights)}."
    if not Decimal(0) <= settings.basic_weight <= Decimal(1):
        problems["basic_weight"] = "The basic-satisfied weight is between 0 and 1."
    for name in ("bottom_townships", "bottom_departments"):
        if getattr(settings, name) < 0:
            problems[name] = "Zero or more."
    return problems


@dataclass(frozen=True)
class Counts:
    """What a unit's figures are computed from; counts add up over units."""

    rated: int = 0  # 考核件: cases counted by their final callback in the period
    resolved: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    rehandled: int = 0  # rated cases handled more than once (二次办理)
    rehandlings: int = 0  # re-handlings before their final callback, summed
    response_due: int = 0  # response deadlines that fell due in the period
    response_met: int = 0  # … met by their due time

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def total(counts: Iterable[Counts]) -> Counts:
    result = Counts()
    for c in counts:
        result = result + c
    return result


@dataclass(frozen=True)
class Rates:
    """Exact rates as fractions of 1, ``None`` without a denominator; composite 0-100."""

    response: Fraction | None
    resolution: Fraction | None
    satisfaction: Fraction | None
    composite: Fraction | None

    def of(self, figure: Figure) -> Fraction | None:
        return getattr(self, figure.value)


def satisfaction_points(counts: Counts, basic_weight: Decimal) -> Fraction:
    """满意 counts 1, 基本满意 ``basic_weight``, 不满意 0."""
    return counts.satisfied + Fraction(basic_weight) * counts.basically_satisfied


def rates(counts: Counts, settings: EvaluationSettings = DEFAULT_SETTINGS) -> Rates:
    response = _ratio(counts.response_met, counts.response_due)
    resolution = _ratio(counts.resolved, counts.rated)
    satisfaction = (None if counts.rated == 0 else
                    satisfaction_points(counts, settings.basic_weight) / counts.rated)
    by_figure = {Figure.RESPONSE: response, Figure.RESOLUTION: resolution,
                 Figure.SATISFACTION: satisfaction}
    composite = None if counts.rated == 0 else composite_score(by_figure, settings)
    return Rates(response, resolution, satisfaction, composite)


def composite_score(by_figure: Mapping[Figure, Fraction | None],
                    settings: EvaluationSettings) -> Fraction | None:
    """Weighted mean of the defined rates, as a 0-100 score.

    A rate without a denominator (no response fell due) drops out and the remaining weights
    are scaled up to 100, so a unit is neither rewarded nor punished for it.
    """
    parts = [(Fraction(settings.weight_of(f)), r) for f, r in by_figure.items() if r is not None]
    weight = sum((w for w, _ in parts), Fraction(0))
    if not parts or weight == 0:
        return None
    return sum((w * r * 100 for w, r in parts), Fraction(0)) / weight


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator, denominator)


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Exact half-up rounding (97.005 → 97.01); no float ever touches the value."""
    scaled = value * 10**places
    sign = -1 if scaled < 0 else 1
    quotient, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        quotient += 1
    return Decimal(sign * quotient).scaleb(-places)


def percent(rate: Fraction | None) -> Decimal | None:
    """A rate of 1 as the seeds print it: 0.970149… → Decimal('97.01')."""
    return None if rate is None else round_half_up(rate * 100)


def score(value: Fraction | None) -> Decimal | None:
    """The composite as published: two decimals, half up."""
    return None if value is None else round_half_up(value)


@dataclass(frozen=True)
class Placing:
    rank: int | None  # None: not ranked (no rated case in the period)
    flagged: bool  # among the bottom N, for 约谈


def rank(scores: Sequence[tuple[K, Decimal | None]], bottom_n: int) -> dict[K, Placing]:
    """Competition ranking ("1224") on the published (rounded) composite, highest first.

    Units with the same published score share a rank: two townships both shown as 97.63
    cannot honestly be ranked apart. The bottom N are flagged by position: a unit is flagged
    when fewer than N ranked units are strictly below it, so a tie at the boundary flags every
    unit in it (the list may be longer than N; nobody escapes the talk by a tie). Units
    without a score are not ranked and never flagged.
    """
    ranked = sorted((s for _, s in scores if s is not None), reverse=True)
    placings: dict[K, Placing] = {}
    for key, value in scores:
        if value is None:
            placings[key] = Placing(None, False)
            continue
        higher = sum(1 for s in ranked if s > value)
        lower = sum(1 for s in ranked if s < value)
        placings[key] = Placing(higher + 1, lower < bottom_n)
    return placings


def rank_change(previous: int | None, current: int | None) -> int | None:
    """Places moved up (positive) or down (negative) since the previous period."""
    if previous is None or current is None:
        return None
    return previous - current


@dataclass(frozen=True)
class UnitNode:
    """What rollup needs of a unit: its place in the tree and its department function."""

    id: uuid.UUID
    kind: UnitKind
    parent_id: uuid.UUID | None
    department_kind: str | None = None


def rollup(units: Iterable[UnitNode], district_id: uuid.UUID) -> dict[uuid.UUID, set[uuid.UUID]]:
    """For each unit of a district, the evaluated units its cases count for (itself included).

    - Every unit counts for the district and for each community/township above it.
    - A department and the units under it count for that department; a department inside a
      township (an outpost, e.g. a 执法队) counts for the district department of the same
      ``department_kind`` (issue 9: "department and its outposts rolled up to it") and not
      for the township: the outpost's work is judged in the department ranking.
    """
    by_id = {u.id: u for u in units}
    district_departments = {
        u.department_kind: u.id for u in by_id.values()
        if u.kind is UnitKind.DEPARTMENT and u.parent_id == district_id and u.department_kind
    }
    owners: dict[uuid.UUID, set[uuid.UUID]] = {}
    for unit in by_id.values():
        chain = _chain(unit, by_id)  # the unit first, up to the district
        if not chain or chain[-1].id != district_id:
            continue
        targets = {district_id, unit.id}
        departments = [u for u in chain if u.kind is UnitKind.DEPARTMENT]
        if departments:
            outermost = departments[-1]
            targets.update(d.id for d in departments)
            if outermost.parent_id != district_id:
                head = district_departments.get(outermost.department_kind)
                if head is not None:
                    targets.add(head)
        else:
            targets.update(u.id for u in chain
                           if u.kind in (UnitKind.TOWNSHIP, UnitKind.COMMUNITY))
        owners[unit.id] = targets
    return owners


def _chain(unit: UnitNode, by_id: Mapping[uuid.UUID, UnitNode]) -> list[UnitNode]:
    chain, current, seen = [], unit, set()
    while current is not None and current.id not in seen:
        seen.add(current.id)
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return chain
