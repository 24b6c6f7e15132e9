"""An assignment as an answer a dispatcher can read: which grids, how, and why."""

from __future__ import annotations

from typing import Any

from geo.assign import Assignment, AssignMethod


def explain(a: Assignment, tolerance_m: float) -> str:
    if a.method is AssignMethod.INSIDE:
        return f"Inside basic grid {a.basic_code}."
    if a.method is AssignMethod.BOUNDARY:
        return (
            f"On the shared border of {', '.join(a.boundary_codes)}: assigned to {a.basic_code}, "
            "the smallest code, so the answer is the same every time."
        )
    if a.method is AssignMethod.NEAREST:
        return (
            f"In no basic grid; {a.distance_m:.2f} m from {a.basic_code}, within the "
            f"{tolerance_m:g} m tolerance. Check the location."
        )
    return f"No basic grid within {tolerance_m:g} m: send to manual triage."


def assignment_as_dict(a: Assignment, lon: float, lat: float, tolerance_m: float) -> dict[str, Any]:
    return {
        "basic_grid": {"id": a.basic, "code": a.basic_code} if a.basic else None,
        "special_grids": [
            {"id": i, "code": c} for i, c in zip(a.special, a.special_codes, strict=True)
        ],
        "method": a.method.value,
        "distance_m": a.distance_m,
        "boundary_grid_codes": list(a.boundary_codes),
        "needs_triage": a.method is AssignMethod.NONE,
        "explanation": explain(a, tolerance_m),
        "wgs84": [float(lon), float(lat)],
    }
