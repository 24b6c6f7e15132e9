"""Grid kinds and the properties a grid feature must carry."""

from __future__ import annotations

import re
from enum import StrEnum


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
