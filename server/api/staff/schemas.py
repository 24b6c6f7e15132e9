"""Staff in grids: postings, check-ins, track uploads, whereabouts and compliance schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.schemas import CURSOR_EXAMPLE, CRSQuerySchema, StrictSchema
from server.staff.rules import PostingMode, VisitPeriod

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="HH:MM, 00:00 to 23:59")
LON = validate.Range(min=-180, max=180)
LAT = validate.Range(min=-90, max=90)


class StaffRefSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
    }

    id = fields.String()
    code = fields.String()
    name = fields.String()


class StaffPersonSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "username": "wangjing.dispatcher",
        "display_name": "王芳",
    }

    id = fields.String()
    username = fields.String()
    display_name = fields.String()


# --- postings --------------------------------------------------------------------------------


class PostingScheduleSchema(StrictSchema):
    EXAMPLE = {"days": [1], "start": "08:30", "end": "08:30"}

    days = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=7)),
        required=True,
        validate=validate.Length(min=1, max=7),
        metadata={"description": "ISO weekdays, 1 = Monday"},
    )
    start = fields.String(required=True, validate=HHMM, metadata={"description": "Local time"})
    end = fields.String(required=True, validate=HHMM)


class PostingVisitsSchema(StrictSchema):
    EXAMPLE = {"required": 1, "per": "week"}

    required = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    per = fields.Enum(VisitPeriod, by_value=True, required=True)


class PostingCreateSchema(StrictSchema):
    EXAMPLE = {
        "staff_user_id": "f2cece50-107d-55c5-8e40-933fe8311522",
        "grid_ids": ["117b4245-fbe4-5d02-8e40-91726cd36162"],
        "mode": "stationed",
        "schedule": {"days": [1], "start": "08:30", "end": "08:30"},
        "visits": {"required": 1, "per": "week"},
        "valid_from": "2026-11-05",
        "valid_to": "2026-11-05",
        "note": "已电话联系居民，约定下午上门。",
    }

    staff_user_id = fields.UUID(required=True)
    grid_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=50))
    mode = fields.Enum(
        PostingMode,
        by_value=True,
        required=True,
        metadata={"description": "stationed (驻格) or patrolling (巡格)"},
    )
    schedule = fields.Nested(
        PostingScheduleSchema,
        load_default=None,
        metadata={"description": "Stationed postings: days and hours"},
    )
    visits = fields.Nested(
        PostingVisitsSchema,
        load_default=None,
        metadata={"description": "Patrolling postings: visits per grid"},
    )
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(load_default=None, metadata={"description": "Last day, inclusive"})
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class PostingSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "staff": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "username": "wangjing.dispatcher",
            "display_name": "王芳",
        },
        "department": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "mode": "replace",
        "grids": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
            },
        ],
        "schedule": {},
        "visits": {},
        "valid_from": "2026-11-05",
        "valid_to": "2026-11-05",
        "note": "已电话联系居民，约定下午上门。",
        "created_at": "2026-11-05T01:30:00+00:00",
        "created_by_user_id": "927955e6-33cc-5c98-afb0-3d5ba95aeaf0",
        "ended_at": "2026-11-05T01:30:00+00:00",
        "end_reason": "调岗",
    }

    id = fields.String()
    staff = fields.Nested(StaffPersonSchema)
    department = fields.Nested(StaffRefSchema)
    mode = fields.String()
    grids = fields.List(fields.Nested(StaffRefSchema))
    schedule = fields.Dict(allow_none=True)
    visits = fields.Dict(allow_none=True)
    valid_from = fields.Date()
    valid_to = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    created_by_user_id = fields.String()
    ended_at = fields.AwareDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)


class PostingPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "staff": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "username": "wangjing.dispatcher",
                    "display_name": "王芳",
                },
                "department": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "mode": "replace",
                "grids": [
                    {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "code": "110105001",
                        "name": "望京街道",
                    },
                ],
                "schedule": {},
                "visits": {},
                "valid_from": "2026-11-05",
                "valid_to": "2026-11-05",
                "note": "已电话联系居民，约定下午上门。",
                "created_at": "2026-11-05T01:30:00+00:00",
                "created_by_user_id": "927955e6-33cc-5c98-afb0-3d5ba95aeaf0",
                "ended_at": "2026-11-05T01:30:00+00:00",
                "end_reason": "调岗",
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    items = fields.List(fields.Nested(PostingSchema))
    next_cursor = fields.String(allow_none=True)


class PostingListQuerySchema(StrictSchema):
    EXAMPLE = {
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "staff_user_id": "f2cece50-107d-55c5-8e40-933fe8311522",
        "grid_id": "117b4245-fbe4-5d02-8e40-91726cd36162",
        "township": "110105001",
        "mode": "stationed",
        "status": "active",
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    department_id = fields.UUID(load_default=None)
    staff_user_id = fields.UUID(load_default=None)
    grid_id = fields.UUID(load_default=None)
    township = fields.String(load_default=None, metadata={"description": "Township code"})
    mode = fields.Enum(PostingMode, by_value=True, load_default=None)
    status = fields.String(
        load_default="active", validate=validate.OneOf(("active", "upcoming", "ended", "all"))
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.String(load_default=None)


class PostingEndSchema(StrictSchema):
    EXAMPLE = {"last_day": "2026-11-05", "reason": "该问题属于市政管理范围，应由城管执法队处置。"}

    last_day = fields.Date(load_default=None, metadata={"description": "Default: today (local)"})
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class PostingImportQuerySchema(StrictSchema):
    EXAMPLE = {"dry_run": True}

    dry_run = fields.Boolean(load_default=False)


class PostingImportResultSchema(ma.Schema):
    EXAMPLE = {
        "imported": 1,
        "dry_run": True,
        "postings": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "staff": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "username": "wangjing.dispatcher",
                    "display_name": "王芳",
                },
                "department": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                },
                "mode": "replace",
                "grids": [
                    {
                        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                        "code": "110105001",
                        "name": "望京街道",
                    },
                ],
                "schedule": {},
                "visits": {},
                "valid_from": "2026-11-05",
                "valid_to": "2026-11-05",
                "note": "已电话联系居民，约定下午上门。",
                "created_at": "2026-11-05T01:30:00+00:00",
                "created_by_user_id": "927955e6-33cc-5c98-afb0-3d5ba95aeaf0",
                "ended_at": "2026-11-05T01:30:00+00:00",
                "end_reason": "调岗",
            },
        ],
    }

    imported = fields.Integer()
    dry_run = fields.Boolean()
    postings = fields.List(fields.Nested(PostingSchema))


# --- check-in / check-out --------------------------------------------------------------------


class FieldCheckArgsSchema(StrictSchema):
    """A check-in or check-out, online or as a sync operation's arguments."""

    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "lon": 116.4736,
        "lat": 39.9968,
        "crs": "wgs84",
        "accuracy_m": 8.0,
        "device_time": "2026-11-05T01:30:00+00:00",
        "grid_id": "117b4245-fbe4-5d02-8e40-91726cd36162",
        "check_in_id": "ef316a8a-2aee-5542-bda2-c85c654a7229",
        "note": "已电话联系居民，约定下午上门。",
    }

    id = fields.UUID(
        required=True,
        metadata={
            "description": "Made by the phone; sending the same id again answers the first record"
        },
    )
    lon = fields.Float(required=True, validate=LON)
    lat = fields.Float(required=True, validate=LAT)
    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84)
    accuracy_m = fields.Float(load_default=None, validate=validate.Range(min=0, max=100_000))
    device_time = fields.AwareDateTime(
        load_default=None, metadata={"description": "The phone's clock, kept as told"}
    )
    grid_id = fields.UUID(
        load_default=None,
        metadata={
            "description": "Default: the nearest of the person's grids (postings, membership)"
        },
    )
    check_in_id = fields.UUID(
        load_default=None, metadata={"description": "Check-outs: the check-in they close"}
    )
    note = fields.String(load_default=None, validate=validate.Length(max=500))


class FieldCheckSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "kind": "basic",
        "user": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "username": "wangjing.dispatcher",
            "display_name": "王芳",
        },
        "grid": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
        },
        "posting_id": "98601764-f033-5902-8021-174ea4dffe1b",
        "check_in_id": "ef316a8a-2aee-5542-bda2-c85c654a7229",
        "inside": True,
        "distance_m": 0.5,
        "tolerance_m": 0.5,
        "accuracy_m": 8.0,
        "flags": [],
        "location": {},
        "device_time": "2026-11-05T01:30:00+00:00",
        "recorded_at": "2026-11-05T01:30:00+00:00",
        "via": "point",
    }

    id = fields.String()
    kind = fields.String()
    user = fields.Nested(StaffPersonSchema)
    grid = fields.Nested(StaffRefSchema, allow_none=True)
    posting_id = fields.String(allow_none=True)
    check_in_id = fields.String(allow_none=True)
    inside = fields.Boolean()
    distance_m = fields.Float(allow_none=True)
    tolerance_m = fields.Float()
    accuracy_m = fields.Float(allow_none=True)
    flags = fields.List(fields.String())
    location = fields.Dict()
    device_time = fields.AwareDateTime(allow_none=True)
    recorded_at = fields.AwareDateTime()
    via = fields.String()


# --- tracks ---------------------------------------------------------------------------------


class TrackFixSchema(StrictSchema):
    EXAMPLE = {
        "at": "2026-11-05T01:30:00+00:00",
        "lon": 116.4736,
        "lat": 39.9968,
        "accuracy_m": 8.0,
        "speed_mps": 0.5,
    }

    at = fields.AwareDateTime(required=True, metadata={"description": "Time of the fix"})
    lon = fields.Float(required=True, validate=LON)
    lat = fields.Float(required=True, validate=LAT)
    accuracy_m = fields.Float(load_default=None, validate=validate.Range(min=0))
    speed_mps = fields.Float(load_default=None, validate=validate.Range(min=0))


class TrackBatchSchema(StrictSchema):
    EXAMPLE = {
        "crs": "wgs84",
        "fixes": [
            {
                "at": "2026-11-05T01:30:00+00:00",
                "lon": 116.4736,
                "lat": 39.9968,
                "accuracy_m": 8.0,
                "speed_mps": 0.5,
            },
        ],
    }

    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84)
    fixes = fields.List(
        fields.Nested(TrackFixSchema), required=True, validate=validate.Length(max=5000)
    )


class TrackIngestResultSchema(ma.Schema):
    EXAMPLE = {
        "received": 1,
        "stored": 1,
        "already_stored": 1,
        "dropped": 1,
        "dropped_by_reason": {},
        "dropped_fixes": [{}],
    }

    received = fields.Integer()
    stored = fields.Integer()
    already_stored = fields.Integer(metadata={"description": "Sent before (same person, time)"})
    dropped = fields.Integer()
    dropped_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    dropped_fixes = fields.List(fields.Dict(), metadata={"description": "index, at, reason"})


class TrackQuerySchema(CRSQuerySchema):
    EXAMPLE = {
        "crs": "wgs84",
        "start": "2026-11-05T01:30:00+00:00",
        "end": "2026-11-05T01:30:00+00:00",
        "tolerance_m": 0.5,
    }

    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    tolerance_m = fields.Float(
        load_default=5.0,
        validate=validate.Range(min=0, max=1000),
        metadata={"description": "Simplification (Douglas-Peucker)"},
    )


class TrackFeatureSchema(ma.Schema):
    EXAMPLE = {"type": "Feature", "geometry": {}, "properties": {}}

    type = fields.String()
    geometry = fields.Dict(allow_none=True)
    properties = fields.Dict()


class WhereaboutsCollectionSchema(ma.Schema):
    EXAMPLE = {
        "type": "Feature",
        "features": [{"type": "Feature", "geometry": {}, "properties": {}}],
    }

    type = fields.String()
    features = fields.List(fields.Nested(TrackFeatureSchema))


# --- whereabouts and compliance ---------------------------------------------------------------


class WhereaboutsQuerySchema(CRSQuerySchema):
    EXAMPLE = {"crs": "wgs84", "since_hours": 0.5}

    since_hours = fields.Float(load_default=12.0, validate=validate.Range(min=0.1, max=24 * 31))


class WhereaboutsSchema(ma.Schema):
    EXAMPLE = {
        "as_of": "2026-11-05T01:30:00+00:00",
        "since": "2026-11-05T01:30:00+00:00",
        "people": [{}],
        "grids": [{}],
    }

    as_of = fields.AwareDateTime()
    since = fields.AwareDateTime()
    people = fields.List(fields.Dict())
    grids = fields.List(fields.Dict())


class ComplianceQuerySchema(StrictSchema):
    EXAMPLE = {
        "start": "2026-11-05",
        "end": "2026-11-05",
        "department_id": "5e8e8229-cf33-5ecd-986b-c59ecdc3827a",
        "township": "110105001",
    }

    start = fields.Date(required=True, metadata={"description": "First local day"})
    end = fields.Date(required=True, metadata={"description": "Last local day, inclusive"})
    department_id = fields.UUID(load_default=None)
    township = fields.String(load_default=None, metadata={"description": "Township code"})

    @ma.validates_schema
    def _order(self, data, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if data["end"] < data["start"]:
            raise ma.ValidationError("end comes before start", "end")
        if (data["end"] - data["start"]).days > 366:
            raise ma.ValidationError("at most 367 days per report", "end")


class ComplianceSchema(ma.Schema):
    EXAMPLE = {
        "period": {},
        "field_days_min": 1,
        "visit_min_minutes": 0.5,
        "stationed": [{}],
        "patrolling": [{}],
        "grid_workers": [{}],
        "by_department": [{}],
        "by_township": [{}],
    }

    period = fields.Dict()
    field_days_min = fields.Integer()
    visit_min_minutes = fields.Float()
    stationed = fields.List(fields.Dict())
    patrolling = fields.List(fields.Dict())
    grid_workers = fields.List(fields.Dict())
    by_department = fields.List(fields.Dict())
    by_township = fields.List(fields.Dict())
