"""GPS tracks, pure: drop impossible fixes, time and distance inside grids, visits, simplification.

A track is a sequence of fixes (time, lon, lat in WGS-84, accuracy in metres, speed). Phones
upload them late, in batches and out of order, so everything here works on fixes sorted by
time and takes the neighbours already stored as trusted context.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.crs import in_china
from geo.measure import distance_m, distances_m, path_lengths_m

_METRES_PER_DEG_LAT = 111_320.0


class DropReason(StrEnum):
    ACCURACY = "accuracy_too_low"  # the phone says the fix is worse than the limit
    TOO_FAST = "too_fast"  # reaching it needs a speed no vehicle in a city has
    DUPLICATE = "duplicate_time"  # a second fix with the same time in the same batch
    FUTURE = "in_future"  # later than the server's clock allows
    OUTSIDE_CHINA = "outside_china"  # no grid can hold it (a GPS cold start reports 0, 0)


@dataclass(frozen=True)
class Fix:
    at: datetime
    lon: float
    lat: float
    accuracy_m: float | None = None
    speed_mps: float | None = None


@dataclass(frozen=True)
class Dropped:
    index: int  # position in the uploaded batch
    reason: DropReason


def implied_speed_mps(a: Fix, b: Fix) -> float:
    """The slowest speed that explains going from ``a`` to ``b``: the distance less both
    fixes' accuracy radii (the true positions may be that much closer), over the time."""
    gap_s = max(abs((b.at - a.at).total_seconds()), 1.0)
    slack_m = (a.accuracy_m or 0.0) + (b.accuracy_m or 0.0)
    return max(0.0, distance_m(a.lon, a.lat, b.lon, b.lat) - slack_m) / gap_s


def anchors_needed(known: Sequence[Fix], first: datetime, last: datetime) -> list[Fix]:
    """Of the stored fixes around a batch whose times span [first, last], the ones
    :func:`filter_fixes` can be swayed by, in time order: every one inside the span, the
    last one before it and the first one after it. The speed rule compares a new fix only
    with the fix kept just before it (and a leading fix with the one just after it), so a
    stored fix with another stored fix between it and the batch changes no outcome.
    Storage reads just these (``server.staff.track_ingest``)."""
    before = [f for f in known if f.at < first]
    after = [f for f in known if f.at > last]
    inside = sorted((f for f in known if first <= f.at <= last), key=lambda f: f.at)
    return ([max(before, key=lambda f: f.at)] if before else []) + inside + (
        [min(after, key=lambda f: f.at)] if after else [])


def filter_fixes(
    batch: Sequence[Fix],
    known: Sequence[Fix] = (),
    *,
    max_accuracy_m: float,
    max_speed_mps: float,
    latest_allowed: datetime | None = None,
) -> tuple[list[int], list[Dropped]]:
    """Which fixes of ``batch`` to keep (their indexes, in time order) and which to drop, why.

    ``known`` are fixes already stored around the batch's times: they are trusted and serve
    as anchors, so a batch that arrives late is judged against the track it fills a hole in.
    A fix with the same time as a known one is neither kept nor dropped (it is stored).

    The speed rule walks the merged track in time order and compares each new fix with the
    last fix kept before it; a fix needing more than ``max_speed_mps`` is a jump and dropped.
    The very first fix of a track has no anchor: it is dropped when the next fix cannot be
    reached from it but the one after that can be reached from the next (it is the spike).
    """
    dropped: list[Dropped] = []
    known_times = {f.at for f in known}
    n = len(batch)
    # The per-fix checks on whole arrays; only the time sets are walked fix by fix.
    lons = np.fromiter((f.lon for f in batch), np.float64, n)
    lats = np.fromiter((f.lat for f in batch), np.float64, n)
    accuracy = np.fromiter(
        (math.nan if f.accuracy_m is None else f.accuracy_m for f in batch), np.float64, n
    )
    reason: list[DropReason | None] = [None] * n
    if latest_allowed is not None:
        for i, fix in enumerate(batch):
            if fix.at > latest_allowed:
                reason[i] = DropReason.FUTURE
    for i in np.flatnonzero(~in_china(lons, lats)).tolist():
        reason[i] = reason[i] or DropReason.OUTSIDE_CHINA
    for i in np.flatnonzero(accuracy > max_accuracy_m).tolist():  # NaN (no accuracy) passes
        reason[i] = reason[i] or DropReason.ACCURACY
    seen: set[datetime] = set()
    candidates: list[int] = []
    for i, fix in enumerate(batch):
        if reason[i] is not None:
            dropped.append(Dropped(i, reason[i]))
        elif fix.at in known_times:
            continue
        elif fix.at in seen:
            dropped.append(Dropped(i, DropReason.DUPLICATE))
        else:
            seen.add(fix.at)
            candidates.append(i)

    # (time, fix, batch index or -1 for a known fix)
    merged = sorted(
        [(f.at, f, -1) for f in known] + [(batch[i].at, batch[i], i) for i in candidates],
        key=lambda item: item[0],
    )
    speeds = _consecutive_speeds(merged)
    if (speeds <= max_speed_mps).all():  # the usual batch: no jump at all
        dropped.sort(key=lambda d: d.index)
        return [index for _, _, index in merged if index >= 0], dropped
    kept: list[int] = []
    anchor: Fix | None = None
    anchor_position = -1
    for position, (_, fix, index) in enumerate(merged):
        if index < 0:
            anchor, anchor_position = fix, position
            continue
        if anchor is None:
            if _is_leading_spike(merged, position, max_speed_mps):
                dropped.append(Dropped(index, DropReason.TOO_FAST))
                continue
        elif (
            speeds[position - 1] if anchor_position == position - 1  # the pair measured above
            else implied_speed_mps(anchor, fix)
        ) > max_speed_mps:
            dropped.append(Dropped(index, DropReason.TOO_FAST))
            continue
        kept.append(index)
        anchor, anchor_position = fix, position
    dropped.sort(key=lambda d: d.index)
    return kept, dropped


def _consecutive_speeds(merged: list[tuple[datetime, Fix, int]]) -> np.ndarray:
    """:func:`implied_speed_mps` of each fix from the one before it, on whole arrays
    (length n - 1): the walk below needs no other pair unless it drops a fix."""
    n = len(merged)
    if n < 2:
        return np.zeros(0)
    seconds = np.fromiter((f.at.timestamp() for _, f, _ in merged), np.float64, n)
    slack = np.fromiter((f.accuracy_m or 0.0 for _, f, _ in merged), np.float64, n)
    lons = np.fromiter((f.lon for _, f, _ in merged), np.float64, n)
    lats = np.fromiter((f.lat for _, f, _ in merged), np.float64, n)
    metres = path_lengths_m(lons, lats)
    gaps = np.maximum(np.abs(np.diff(seconds)), 1.0)
    return np.maximum(0.0, metres - slack[:-1] - slack[1:]) / gaps


def _is_leading_spike(
    merged: list[tuple[datetime, Fix, int]], position: int, max_speed_mps: float
) -> bool:
    if position + 1 >= len(merged):
        return False
    fix, following = merged[position][1], merged[position + 1]
    if implied_speed_mps(fix, following[1]) <= max_speed_mps:
        return False
    if following[2] < 0 or position + 2 >= len(merged):
        return True  # a trusted fix cannot be reached from it; or two fixes and no tiebreak
    return implied_speed_mps(following[1], merged[position + 2][1]) <= max_speed_mps


# --- time, distance and visits inside grids ----------------------------------------------------


@dataclass(frozen=True)
class Visit:
    start: float  # seconds (the caller's epoch)
    end: float


@dataclass(frozen=True)
class Dwell:
    seconds_inside: float
    distance_m: float
    visits: tuple[Visit, ...]  # entering and staying at least min_visit_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds_inside": round(self.seconds_inside, 1),
            "distance_m": round(self.distance_m, 1),
            "visits": len(self.visits),
        }


def segment_lengths_m(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Geodesic metres between consecutive positions (length n - 1), from ``geo.measure``."""
    return path_lengths_m(lons, lats)


def dwell(
    seconds: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    geometry: BaseGeometry,
    *,
    max_gap_s: float,
    min_visit_s: float,
    segments_m: np.ndarray | None = None,
    inside: np.ndarray | None = None,
) -> Dwell:
    """Time inside ``geometry``, distance travelled inside it, and the visits, from a track
    sorted by time (``seconds`` since any epoch).

    A fix on the boundary is inside. Between two consecutive fixes both inside, the whole
    interval and segment count; with one inside, half of each (the crossing lies somewhere
    between). An interval longer than ``max_gap_s`` (signal lost, phone off) counts nothing
    and ends a visit. A visit is a run of inside fixes lasting at least ``min_visit_s``.
    """
    n = len(seconds)
    if n == 0:
        return Dwell(0.0, 0.0, ())
    # Prepared, the point-in-polygon test of a day's fixes is several times faster; preparing
    # is cached on the geometry, so a grid measured for many people is prepared once.
    if inside is None:  # which fixes are in it (given by dwell_by_grid, which needs them too)
        shapely.prepare(geometry)
        inside = shapely.intersects_xy(geometry, lons, lats)
    if not inside.any():
        return Dwell(0.0, 0.0, ())
    if segments_m is None:
        segments_m = segment_lengths_m(lons, lats)
    gaps = np.diff(seconds)
    usable = gaps <= max_gap_s
    weight = (inside[:-1].astype(np.float64) + inside[1:].astype(np.float64)) / 2.0 * usable
    # A run of inside fixes: consecutive fixes both inside with a usable interval between
    # them are linked; a run starts at an inside fix not linked to the one before and ends at
    # one not linked to the one after (whole-array, not a loop per fix).
    linked = inside[:-1] & inside[1:] & usable
    starts = np.flatnonzero(inside & ~np.concatenate(([False], linked)))
    ends = np.flatnonzero(inside & ~np.concatenate((linked, [False])))
    long_enough = seconds[ends] - seconds[starts] >= min_visit_s
    visits = tuple(
        Visit(float(a), float(b))
        for a, b in zip(seconds[starts[long_enough]].tolist(),
                        seconds[ends[long_enough]].tolist(), strict=True)
    )
    return Dwell(float((weight * gaps).sum()), float((weight * segments_m).sum()), visits)


def dwell_by_grid(
    seconds: np.ndarray,
    lons: np.ndarray,
    lats: np.ndarray,
    grids: Mapping[Any, BaseGeometry],
    *,
    max_gap_s: float,
    min_visit_s: float,
) -> dict[Any, Dwell]:
    """:func:`dwell` for several grids, measuring the track's segments once, and only those
    with an end inside one of the grids (the others weigh nothing)."""
    segments_m = np.zeros(max(len(lons) - 1, 0))
    insides = {}
    for key, geometry in grids.items():
        shapely.prepare(geometry)
        insides[key] = shapely.intersects_xy(geometry, lons, lats)
    if len(lons) >= 2 and insides:
        touched = np.logical_or.reduce(list(insides.values()))
        wanted = np.flatnonzero(touched[:-1] | touched[1:])
        if len(wanted):
            segments_m[wanted] = distances_m(
                lons[wanted], lats[wanted], lons[wanted + 1], lats[wanted + 1])
    return {
        key: dwell(
            seconds,
            lons,
            lats,
            geometry,
            max_gap_s=max_gap_s,
            min_visit_s=min_visit_s,
            segments_m=segments_m,
            inside=insides[key],
        )
        for key, geometry in grids.items()
    }


# --- a track for a map -------------------------------------------------------------------------


def simplify(
    lons: Sequence[float], lats: Sequence[float], tolerance_m: float
) -> list[tuple[float, float]]:
    """Douglas-Peucker in a local plane true to scale at the track's middle latitude: no point
    of the original is farther than ``tolerance_m`` from the simplified line. Keeps the ends."""
    if len(lons) < 3 or tolerance_m <= 0:
        return list(zip(lons, lats, strict=True))
    mid_lat = (min(lats) + max(lats)) / 2.0
    x_scale = _METRES_PER_DEG_LAT * math.cos(math.radians(mid_lat))
    x0, y0 = lons[0], lats[0]
    line = shapely.LineString(
        [
            ((lon - x0) * x_scale, (lat - y0) * _METRES_PER_DEG_LAT)
            for lon, lat in zip(lons, lats, strict=True)
        ]
    )
    simple = shapely.simplify(line, tolerance_m, preserve_topology=False)
    return [(x / x_scale + x0, y / _METRES_PER_DEG_LAT + y0) for x, y in simple.coords]
