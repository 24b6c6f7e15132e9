"""An assignment as an answer a dispatcher can read: which grids, how, and why."""

from __future__ import annotations

from typing import Any

from geo.assign import Assignment, AssignMethod, GridIndex
from geo.crs import CRS, to_wgs84
from server.core.i18n import _


def explain(a: Assignment, tolerance_m: float) -> str:
    if a.method is AssignMethod.INSIDE:
        return _("Inside basic grid {code}.").format(code=a.basic_code)
    if a.method is AssignMethod.BOUNDARY:
        return _("On the shared border of {codes}: assigned to {code}, the smallest code, so the "
                 "answer is the same every time.").format(codes="、".join(a.boundary_codes),
                                                          code=a.basic_code)
    if a.method is AssignMethod.NEAREST:
        return _("In no basic grid; {distance} m from {code}, within the {tolerance} m "
                 "tolerance. Check the location.").format(
            distance=f"{a.distance_m:.2f}", code=a.basic_code, tolerance=f"{tolerance_m:g}")
    return _("No basic grid within {tolerance} m: send to manual triage.").format(
        tolerance=f"{tolerance_m:g}")


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


def point_answer(index: GridIndex, lon: float, lat: float, crs: CRS,
                 tolerance_m: float) -> dict[str, Any]:
    """The answer to "which grids hold this point" from the in-memory index: the one the
    route gives and the one its fast lane gives (server/api/assign/fast_lane.py)."""
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    found = index.assign(float(wgs_lon), float(wgs_lat), tolerance_m=tolerance_m)
    return assignment_as_dict(found, wgs_lon, wgs_lat, tolerance_m)
