"""Grid kinds and the properties a grid feature must carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class GridKind(StrEnum):
    BASIC = "basic"  # 基础网格: tile a township without overlap
    SPECIAL = "special"  # 专属网格: overlay basic grids, managed by an owner unit


GRID_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


def grid_code_problem(code: object) -> str | None:
    """Why ``code`` cannot be a grid code, or None. Codes appear in URLs and exports."""
    if not isinstance(code, str) or not code:
        return "is required"
    if not GRID_CODE_PATTERN.match(code):
        return "must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit"
    return None


@dataclass(frozen=True)
class FeatureProblem:
    """One problem of one feature of an import, as the 422's ``details`` lists it."""

    index: int
    grid_code: str | None
    field: str  # "geometry" or "properties.<name>"
    code: str
    reason: str
    location: tuple[float, float] | None = None
    area_m2: float | None = None  # tiling problems: the overlap or the part outside, m²
    other_grid_code: str | None = None  # overlaps: the grid overlapped

    def as_dict(self) -> dict[str, Any]:
        found = {
            "index": self.index,
            "grid_code": self.grid_code,
            "field": self.field,
            "code": self.code,
            "reason": self.reason,
            "location": list(self.location) if self.location else None,
        }
        if self.area_m2 is not None:  # a tiling problem: both keys, the code null if unnamed
            found["area_m2"] = round(self.area_m2, 1)
            found["other_grid_code"] = self.other_grid_code
        return found


# What a special grid is for: school, hospital, market, construction_site... Free words in
# the catalogue's form, so that a rule "special_grid_owner:school" can name them.
SPECIAL_KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def special_kind_problem(value: object, kind: GridKind) -> str | None:
    """Why ``value`` cannot be the special kind of a grid of ``kind``, or None (absent is fine)."""
    if value is None:
        return None
    if kind is not GridKind.SPECIAL:
        return "Only special grids have a special_kind."
    if not isinstance(value, str) or not SPECIAL_KIND_PATTERN.match(value):
        return ("special_kind is lowercase letters, digits and '_' "
                "(e.g. school, hospital, market, construction_site).")
    return None
