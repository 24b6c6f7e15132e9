"""Department staff in grids over HTTP: postings, check-ins, tracks, whereabouts, compliance."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import numpy as np
from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from geo.crs import CRS, from_wgs84
from geo.track import Fix, segment_lengths_m, simplify
from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.staff import schemas as s
from server.core.errors import Invalid
from server.core.i18n import _
from server.grids.models import Grid
from server.staff import checkins, compliance, postings, queries, track_ingest
from server.staff.models import FieldCheck, Posting
from server.staff.postings_csv import COLUMNS, read_csv, read_xlsx
from server.staff.rules import (
    FIELD_ROLES,
    READ_COMPLIANCE,
    READ_TRACKS,
    READ_WHEREABOUTS,
    CheckKind,
    CheckVia,
    FieldLimits,
    local_date,
    parse_hhmm,
)

blp = Blueprint(
    "staff",
    __name__,
    url_prefix="",
    description="Department staff in grids (驻格/巡格): postings, check-ins, tracks",
)

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_DOC = {
    "content": {
        CSV: {
            "schema": {
                "type": "string",
                "description": "UTF-8 (BOM optional), header row: " + ",".join(COLUMNS),
            },
            "example": ",".join(COLUMNS) + "\n"
            "wangfang,110105001-005;110105001-006,stationed,1-5,08:30,17:30,,,2026-11-01,,驻格\n"
            "lijun,110105001-007,patrolling,,,,2,week,2026-11-01,2026-12-31,\n",
        },
        XLSX: {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "An Excel workbook; its first sheet is read like the CSV",
            }
        },
    }
}


def field_limits() -> FieldLimits:
    """The field rules' settings from config.py (also used by the sync push)."""
    return FieldLimits(
        checkin_buffer_m=ctx.setting("CHECKIN_BUFFER_M"),
        checkin_max_tolerance_m=ctx.setting("CHECKIN_MAX_TOLERANCE_M"),
        fix_max_accuracy_m=ctx.setting("FIX_MAX_ACCURACY_M"),
        fix_max_speed_mps=ctx.setting("FIX_MAX_SPEED_KMH") / 3.6,
        visit_min_minutes=ctx.setting("VISIT_MIN_MINUTES"),
        track_max_gap_s=ctx.setting("TRACK_MAX_GAP_S"),
        field_days_min=ctx.setting("FIELD_DAYS_MIN"),
        fix_max_future_s=ctx.setting("SYNC_MAX_SKEW_S"),
    )


def _person(user) -> dict[str, str]:  # noqa: ANN001
    return {"id": str(user.id), "username": user.username, "display_name": user.display_name}


def posting_view(p: Posting) -> dict[str, Any]:
    return {
        "id": str(p.id),
        "staff": _person(p.staff),
        "department": {
            "id": str(p.department.id),
            "code": p.department.code,
            "name": p.department.name,
        },
        "mode": p.mode.value,
        "grids": [
            {"id": str(g.grid_id), "code": g.grid.code, "name": g.grid.name}
            for g in sorted(p.grid_rows, key=lambda r: r.grid.code)
        ],
        "schedule": {
            "days": p.weekdays,
            "start": p.day_start.strftime("%H:%M"),
            "end": p.day_end.strftime("%H:%M"),
        }
        if p.day_start
        else None,
        "visits": {"required": p.visits_required, "per": p.visit_period.value}
        if p.visit_period
        else None,
        "valid_from": p.valid_from,
        "valid_to": p.valid_to,
        "note": p.note,
        "created_at": p.created_at,
        "created_by_user_id": str(p.created_by_user_id),
        "ended_at": p.ended_at,
        "end_reason": p.end_reason,
    }


def check_view(c: FieldCheck) -> dict[str, Any]:
    grid = None
    if c.grid_id:
        g = ctx.session().get(Grid, c.grid_id)  # loaded by the check-in: the identity map
        grid = {"id": str(g.id), "code": g.code, "name": g.name}
    return {
        "id": str(c.id),
        "kind": c.kind.value,
        "user": _person(c.user),
        "grid": grid,
        "posting_id": str(c.posting_id) if c.posting_id else None,
        "check_in_id": str(c.check_in_id) if c.check_in_id else None,
        "inside": c.inside,
        "distance_m": c.distance_m,
        "tolerance_m": c.tolerance_m,
        "accuracy_m": c.accuracy_m,
        "flags": list(c.flags),
        "location": {
            "lon": c.lon,
            "lat": c.lat,
            "input_crs": c.input_crs,
            "input_lon": c.input_lon,
            "input_lat": c.input_lat,
        },
        "device_time": c.device_time,
        "recorded_at": c.recorded_at,
        "via": c.via.value,
    }


# --- postings --------------------------------------------------------------------------------


@blp.route("/postings", methods=["POST"])
@blp.arguments(s.PostingCreateSchema)
@blp.response(201, s.PostingSchema)
@may_answer("grids_not_postable", "posting_invalid", "posting_overlaps", "staff_not_postable")
def create_posting(body):
    """Post a department's staff member to grids, stationed or patrolling"""
    schedule, visits = body.pop("schedule"), body.pop("visits")
    if schedule:
        body.update(
            weekdays=schedule["days"],
            day_start=parse_hhmm(schedule["start"]),
            day_end=parse_hhmm(schedule["end"]),
        )
    if visits:
        body.update(visits_required=visits["required"], visit_period=visits["per"])
    posting = postings.create_posting(
        ctx.session(), ctx.current_actor(), postings.PostingRequest(**body), now=ctx.request_now()
    )
    return posting_view(posting)


@blp.route("/postings", methods=["GET"])
@blp.arguments(s.PostingListQuerySchema, location="query")
@blp.response(200, s.PostingPageSchema)
@may_answer("invalid_cursor")
def list_postings(args):
    """Postings one may see, newest first, keyset-paginated; status active/upcoming/ended/all"""
    page = queries.list_postings(
        ctx.session(), ctx.current_actor(), today=local_date(ctx.request_now()), **args
    )
    return {"items": [posting_view(p) for p in page.items], "next_cursor": page.next_cursor}


@blp.route("/postings/<uuid:posting_id>", methods=["GET"])
@blp.response(200, s.PostingSchema)
def get_posting(posting_id: uuid.UUID):
    """One posting"""
    return posting_view(queries.get_posting_for(ctx.session(), ctx.current_actor(), posting_id))


@blp.route("/postings/<uuid:posting_id>/end", methods=["POST"])
@blp.arguments(s.PostingEndSchema)
@blp.response(200, s.PostingSchema)
@may_answer("posting_already_ended", "posting_end_invalid")
def end_posting(body, posting_id: uuid.UUID):
    """End a posting: its last day becomes last_day (default today); history is kept"""
    actor = ctx.current_actor()
    posting = queries.get_posting_for(ctx.session(), actor, posting_id)
    return posting_view(
        postings.end_posting(ctx.session(), actor, posting, now=ctx.request_now(), **body)
    )


@blp.route("/postings/import", methods=["POST"])
@blp.arguments(s.PostingImportQuerySchema, location="query")
@blp.response(201, s.PostingImportResultSchema)
@blp.doc(requestBody=CSV_DOC)
@may_answer("posting_import_rejected", "postings_file_empty", "too_many_postings")
def import_postings(args):
    """Create postings from CSV (text/csv) or .xlsx, all or nothing, problems per row"""
    if request.mimetype not in (CSV, XLSX):
        raise UnsupportedMediaType(
            f"Send the postings as CSV ({CSV}) or an Excel workbook ({XLSX}).")
    read = read_csv if request.mimetype == CSV else read_xlsx
    created = postings.import_postings(
        ctx.session(),
        ctx.current_actor(),
        read(request.get_data()),
        dry_run=args["dry_run"],
        now=ctx.request_now(),
    )
    return {
        "imported": len(created),
        "dry_run": args["dry_run"],
        "postings": [posting_view(p) for p in created],
    }


# --- check-in / check-out --------------------------------------------------------------------


def _check(body: dict, kind: CheckKind):  # noqa: ANN202
    check, created = checkins.record_check(
        ctx.session(),
        ctx.current_actor(),
        checkins.CheckRequest(kind=kind, **body),
        limits=field_limits(),
        via=CheckVia.API,
        now=ctx.request_now(),
    )
    return check_view(check), 201 if created else 200


@blp.route("/checkins", methods=["POST"])
@blp.arguments(s.FieldCheckArgsSchema)
@blp.response(201, s.FieldCheckSchema)
@blp.alt_response(200, schema=s.FieldCheckSchema, description="The same id again: the first record")
@may_answer("check_id_taken", "coordinates_outside_china", "grid_not_found:422")
def check_in(body):
    """Check in on site; inside or outside the grid is decided here, outside is flagged"""
    return _check(body, CheckKind.CHECK_IN)


@blp.route("/checkouts", methods=["POST"])
@blp.arguments(s.FieldCheckArgsSchema)
@blp.response(201, s.FieldCheckSchema)
@blp.alt_response(200, schema=s.FieldCheckSchema, description="The same id again: the first record")
@may_answer("check_id_taken", "coordinates_outside_china", "grid_not_found:422")
def check_out(body):
    """Check out; recorded like a check-in"""
    return _check(body, CheckKind.CHECK_OUT)


# --- tracks ---------------------------------------------------------------------------------


@blp.route("/tracks", methods=["POST"])
@blp.arguments(s.TrackBatchSchema)
@blp.response(200, s.TrackIngestResultSchema)
@may_answer("too_many_fixes")
def upload_track(body):
    """Upload a batch of one's own GPS fixes (late, out of order, repeated: all fine)"""
    batch = [Fix(**f) for f in body["fixes"]]
    result = track_ingest.ingest_for(
        ctx.session(),
        ctx.current_actor(),
        batch,
        crs=body["crs"],
        limits=field_limits(),
        now=ctx.request_now(),
    )
    return result.as_dict(batch)


@blp.route("/people/<uuid:user_id>/track", methods=["GET"])
@blp.arguments(s.TrackQuerySchema, location="query")
@blp.response(200, s.TrackFeatureSchema)
@may_answer("invalid_period", "permission_denied", "person_not_found")
def get_track(args, user_id: uuid.UUID):
    """A person's track over a period as a GeoJSON LineString simplified for a map, with
    time inside, distance and visits per grid they work in"""
    actor = ctx.current_actor()
    if user_id != actor.user_id:
        actor.require(READ_TRACKS, _("read other people's tracks"))
    if args["end"] <= args["start"] or args["end"] - args["start"] > timedelta(days=31):
        raise Invalid.for_field(
            "end",
            "end must follow start, at most 31 days later.",
            location="query",
            code="invalid_period",
        )
    session = ctx.session()
    person = queries.get_person_for(session, actor, user_id, today=local_date(ctx.request_now()))
    fixes = queries.track(session, person.id, args["start"], args["end"])
    lons = np.array([f.lon for f in fixes])
    lats = np.array([f.lat for f in fixes])
    times = np.array([f.fixed_at.timestamp() for f in fixes])
    limits = field_limits()
    grids = queries.grids_by_id(
        session, queries.field_grid_ids(session, person, local_date(args["start"]))
    )
    per_grid = compliance.dwell_in_grids(
        times, lons, lats, {g.code: g.boundary for g in grids.values()}, limits=limits
    )
    points = simplify(list(lons), list(lats), args["tolerance_m"])
    if args["crs"] is not CRS.WGS84 and points:
        xs, ys = from_wgs84([p[0] for p in points], [p[1] for p in points], args["crs"])
        points = list(zip(map(float, xs), map(float, ys), strict=True))
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(p) for p in points]}
        if len(points) >= 2
        else None,
        "properties": {
            "user_id": str(person.id),
            "username": person.username,
            "start": args["start"].isoformat(),
            "end": args["end"].isoformat(),
            "crs": args["crs"].value,
            "fixes": len(fixes),
            "points": len(points),
            "distance_m": round(float(segment_lengths_m(lons, lats).sum()), 1),
            "first_fix_at": fixes[0].fixed_at.isoformat() if fixes else None,
            "last_fix_at": fixes[-1].fixed_at.isoformat() if fixes else None,
            "grids": {code: d.as_dict() for code, d in sorted(per_grid.items())},
        },
    }


# --- whereabouts -----------------------------------------------------------------------------


def _whereabouts(args: dict) -> dict[str, Any]:
    actor = ctx.current_actor()
    actor.require(READ_WHEREABOUTS, _("see where field staff are"))
    now = ctx.request_now()
    since = now - timedelta(hours=args["since_hours"])
    session = ctx.session()
    positions = queries.latest_positions(
        session, actor, since=since, today=local_date(now), field_roles=FIELD_ROLES
    )
    index = ctx.grid_index_cache().get(session)
    people, by_grid = [], {}
    for p in positions:
        assignment = index.assign(p.lon, p.lat, tolerance_m=0.0)
        grids = [(assignment.basic, assignment.basic_code)] if assignment.basic else []
        grids += list(zip(assignment.special, assignment.special_codes, strict=True))
        on_site = p.source != CheckKind.CHECK_OUT.value
        lon, lat = from_wgs84(p.lon, p.lat, args["crs"])
        people.append(
            {
                "user": _person(p.user),
                "unit": {
                    "id": str(p.user.unit.id),
                    "code": p.user.unit.code,
                    "name": p.user.unit.name,
                },
                "source": p.source,
                "at": p.at.isoformat(),
                "lon": float(lon),
                "lat": float(lat),
                "accuracy_m": p.accuracy_m,
                "on_site": on_site,
                "grids": [code for _, code in grids],
            }
        )
        if on_site:
            for grid_id, code in grids:
                by_grid.setdefault(grid_id, {"grid_id": grid_id, "code": code, "people": []})[
                    "people"
                ].append(p.user.username)
    return {
        "as_of": now,
        "since": since,
        "crs": args["crs"].value,
        "people": people,
        "grids": sorted(by_grid.values(), key=lambda g: g["code"]),
    }


@blp.route("/whereabouts", methods=["GET"])
@blp.arguments(s.WhereaboutsQuerySchema, location="query")
@blp.response(200, s.WhereaboutsSchema)
@may_answer("permission_denied")
def whereabouts(args):
    """Where every field person one sees is now (latest check-in or fix), and who is in each grid"""
    return _whereabouts(args)


@blp.route("/whereabouts/geojson", methods=["GET"])
@blp.arguments(s.WhereaboutsQuerySchema, location="query")
@blp.response(200, s.WhereaboutsCollectionSchema)
@may_answer("permission_denied")
def whereabouts_geojson(args):
    """The same as a GeoJSON FeatureCollection of points for a command centre's map"""
    found = _whereabouts(args)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                "properties": {k: v for k, v in p.items() if k not in ("lon", "lat")},
            }
            for p in found["people"]
        ],
    }


# --- compliance ------------------------------------------------------------------------------


@blp.route("/compliance", methods=["GET"])
@blp.arguments(s.ComplianceQuerySchema, location="query")
@blp.response(200, s.ComplianceSchema)
@may_answer("permission_denied")
def compliance_report(args):
    """Stationed presence, patrol visits per grid and grid workers' field days, with sums by
    department and by township, for any period"""
    actor = ctx.current_actor()
    actor.require(READ_COMPLIANCE, _("read compliance reports"))
    return compliance.compliance_report(
        ctx.session(),
        actor,
        compliance.Period(args["start"], args["end"]),
        limits=field_limits(),
        department_id=args["department_id"],
        township=args["township"],
    )
