"""The tracks of many people at once (the console map's layer): bounded, scoped per person."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from marshmallow import fields, validate

from geo.crs import CRS, from_wgs84
from geo.track import segment_lengths_m, simplify
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.staff.schemas import TrackQuerySchema, WhereaboutsCollectionSchema
from server.core.errors import Invalid, TooLarge
from server.core.i18n import _
from server.staff import queries
from server.staff.rules import (
    MAX_TRACK_FIXES,
    MAX_TRACK_PEOPLE,
    MAX_TRACK_WINDOW_S,
    READ_TRACKS,
    local_date,
)

blp = Blueprint("tracks", __name__, url_prefix="",
                description="Department staff in grids (驻格/巡格): many tracks at once")


class TracksQuerySchema(TrackQuerySchema):
    EXAMPLE = {
        "user": ["a7fec381-3d95-5e05-8e19-842a1a7489d9"],
        "crs": "wgs84",
        "start": "2026-11-05T01:30:00+00:00",
        "end": "2026-11-05T09:30:00+00:00",
        "tolerance_m": 5.0,
    }

    user = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1), metadata={
        "description": f"The people (repeat the parameter), at most {MAX_TRACK_PEOPLE}"})


@blp.route("/tracks", methods=["GET"])
@blp.arguments(TracksQuerySchema, location="query")
@blp.response(200, WhereaboutsCollectionSchema)
@may_answer("invalid_period", "too_many_people", "too_many_track_fixes", "permission_denied",
            "person_not_found")
def get_tracks(args):
    """Several people's tracks over one period (at most a day), simplified for a map

    Each person as GET /people/{id}/track allows; at most 100 people and 100,000 fixes."""
    actor, session = ctx.current_actor(), ctx.session()
    start, end, user_ids = args["start"], args["end"], list(dict.fromkeys(args["user"]))
    if any(u != actor.user_id for u in user_ids):
        actor.require(READ_TRACKS, _("read other people's tracks"))
    if end <= start or end - start > timedelta(seconds=MAX_TRACK_WINDOW_S):
        raise Invalid.for_field("end", _("end must follow start, at most {hours} hours later.")
                                .format(hours=MAX_TRACK_WINDOW_S // 3600),
                                location="query", code="invalid_period")
    if len(user_ids) > MAX_TRACK_PEOPLE:
        raise Invalid.for_field("user", _("Ask for at most {count} people at once.")
                                .format(count=MAX_TRACK_PEOPLE),
                                location="query", code="too_many_people")
    people = queries.people_for(session, actor, user_ids, today=local_date(ctx.request_now()))
    count = queries.count_fixes(session, user_ids, start, end)
    if count > MAX_TRACK_FIXES:
        raise TooLarge(_("{count} fixes in this period, at most {limit} at once: ask for fewer "
                         "people or a shorter period.").format(count=count, limit=MAX_TRACK_FIXES),
                       code="too_many_track_fixes")
    fixes_by_user = queries.tracks(session, user_ids, start, end)
    return {"type": "FeatureCollection",
            "features": [_feature(p, fixes_by_user[p.id], args) for p in people]}


def _feature(person, fixes, args) -> dict:  # noqa: ANN001
    lons = np.array([f.lon for f in fixes])
    lats = np.array([f.lat for f in fixes])
    points = simplify(list(lons), list(lats), args["tolerance_m"])
    if args["crs"] is not CRS.WGS84 and points:
        xs, ys = from_wgs84([p[0] for p in points], [p[1] for p in points], args["crs"])
        points = list(zip(map(float, xs), map(float, ys), strict=True))
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in points]}
        if len(points) >= 2 else None,
        "properties": {
            "user_id": str(person.id), "username": person.username,
            "display_name": person.display_name,
            "start": args["start"].isoformat(), "end": args["end"].isoformat(),
            "crs": args["crs"].value, "fixes": len(fixes), "points": len(points),
            "distance_m": round(float(segment_lengths_m(lons, lats).sum()), 1),
            "first_fix_at": fixes[0].fixed_at.isoformat() if fixes else None,
            "last_fix_at": fixes[-1].fixed_at.isoformat() if fixes else None,
        },
    }
