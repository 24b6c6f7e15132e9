"""Schemas several areas share: the base with unknown=RAISE, points and GPS fixes, versioned
actions, units, users, CRS, GeoJSON."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.org.rules import Role, UnitKind
from server.reports.periods import BadPeriod, PeriodKind, parse

# A page cursor as the lists hand them out (opaque to clients: send back next_cursor).
CURSOR_EXAMPLE = "MjAyNi0xMS0wNVQwMTozMDowMCswMDowMHwzZjFiMmM0ZDVlNmY0YTdiOGM5ZDBlMWYyYTNiNGM1ZA=="


class StrictSchema(ma.Schema):
    """Unknown fields are an error: a misspelt field must not be silently ignored."""

    class Meta:
        unknown = ma.RAISE


class LonLatSchema(StrictSchema):
    EXAMPLE = {"lon": 116.4736, "lat": 39.9968}

    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))


class PointSchema(LonLatSchema):
    """A point as a client sends it: lon, lat, and the system they are in."""

    EXAMPLE = {"lon": 116.4736, "lat": 39.9968, "crs": "wgs84"}

    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84)


class GpsFixSchema(PointSchema):
    """A phone's position: the point and the accuracy its GPS reports."""

    EXAMPLE = {"lon": 116.4736, "lat": 39.9968, "crs": "wgs84", "accuracy_m": 8.0}

    accuracy_m = fields.Float(load_default=None, validate=validate.Range(min=0),
                              metadata={"description": "The GPS accuracy, metres"})


class VersionedSchema(StrictSchema):
    EXAMPLE = {"version": 3}

    version = fields.Integer(required=True, metadata={"description": "The version you read; "
                                                      "a stale one answers 409 stale_version"})


class ReasonSchema(VersionedSchema):
    EXAMPLE = {"version": 3, "reason": "该问题属于市政管理范围，应由城管执法队处置。"}

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CRSQuerySchema(StrictSchema):
    EXAMPLE = {"crs": "wgs84"}

    crs = fields.Enum(
        CRS,
        by_value=True,
        load_default=CRS.WGS84,
        metadata={"description": "Coordinate system of coordinates in the answer"},
    )


class GeoJSONGeometry(fields.Dict):
    """A GeoJSON geometry object (RFC 7946); geometry rules are checked by the geo layer."""


class UnitRefSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
        "kind": "township",
    }

    id = fields.UUID(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.Enum(UnitKind, by_value=True, dump_only=True)


class UnitSchema(UnitRefSchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
        "kind": "township",
        "parent_id": "589a42f4-5663-5bc5-a47b-ad4a6dd34f7a",
        "population": 120000,
        "department_kind": None,
        "created_at": "2026-11-05T01:30:00+00:00",
    }

    parent_id = fields.UUID(dump_only=True, allow_none=True)
    population = fields.Integer(dump_only=True, allow_none=True)
    department_kind = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)


class PopulationCheckSchema(ma.Schema):
    """A unit's recorded population against the sum of its children's (万人诉求比's divisor)."""

    EXAMPLE = {
        "unit": {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9", "code": "110105001",
                 "name": "望京街道", "kind": "township"},
        "kind": "township",
        "population": 120000,
        "children": 2,
        "children_with_population": 2,
        "children_sum": 118500,
        "difference": 1500,
        "status": "mismatch",
        "figure_used": "recorded",
    }

    unit = fields.Nested(UnitRefSchema)
    kind = fields.String(metadata={"description": "district, township, community..."})
    population = fields.Integer(allow_none=True, metadata={"description": "recorded"})
    children = fields.Integer(metadata={"description": "territorial children (next kind down)"})
    children_with_population = fields.Integer()
    children_sum = fields.Integer(metadata={"description": "sum of the recorded children's"})
    difference = fields.Integer(allow_none=True,
                                metadata={"description": "population - children_sum"})
    status = fields.String(metadata={"description": "consistent | mismatch | "
                                     "children_incomplete | missing | no_children"})
    figure_used = fields.String(metadata={
        "description": "What the 万人诉求比 divides by: recorded (the unit's own), or none"})


class PopulationReportSchema(ma.Schema):
    EXAMPLE = {"units": [PopulationCheckSchema.EXAMPLE], "problems": 1}

    units = fields.List(fields.Nested(PopulationCheckSchema))
    problems = fields.Integer(metadata={
        "description": "Units whose figures do not add up or are missing (reported, not refused)"})


class PopulationQuerySchema(StrictSchema):
    EXAMPLE = {"unit": "110105001"}

    unit = fields.String(load_default=None, metadata={
        "description": "Code of the unit to check with its subtree (default: all you see)"})


class UnitImportQuerySchema(StrictSchema):
    EXAMPLE = {"dry_run": True}

    dry_run = fields.Boolean(load_default=False, metadata={"description": "Check and count only"})


class UnitImportResultSchema(ma.Schema):
    EXAMPLE = {"created": 2, "unchanged": 1, "dry_run": True}

    created = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "Rows identical to a stored unit"})
    dry_run = fields.Boolean()


class UnitCreateSchema(StrictSchema):
    EXAMPLE = {
        "code": "110105001",
        "name": "望京街道",
        "kind": "township",
        "parent_code": "110105",
        "population": 120000,
        "department_kind": None,
    }

    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.Enum(UnitKind, by_value=True, required=True)
    parent_code = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    population = fields.Integer(load_default=None, validate=validate.Range(min=0))
    department_kind = fields.String(load_default=None, validate=validate.Length(max=40))


class UnitQuerySchema(StrictSchema):
    EXAMPLE = {"kind": "township", "parent_id": "589a42f4-5663-5bc5-a47b-ad4a6dd34f7a"}

    kind = fields.Enum(UnitKind, by_value=True, load_default=None)
    parent_id = fields.UUID(load_default=None)


class UserRefSchema(ma.Schema):
    EXAMPLE = {"id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
               "username": "wangjing.dispatcher", "display_name": "王芳"}

    id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)


class UserSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "username": "wangjing.dispatcher",
        "display_name": "王芳",
        "unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "roles": ["township_dispatcher"],
        "is_active": True,
    }

    id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    unit = fields.Nested(UnitRefSchema, dump_only=True)
    roles = fields.Method("_roles", dump_only=True, metadata={"type": "array"})
    is_active = fields.Boolean(dump_only=True)

    def _roles(self, user):  # noqa: ANN001, ANN202
        return sorted(r.value for r in user.roles)


class UserCreateSchema(StrictSchema):
    EXAMPLE = {
        "username": "wangjing.dispatcher",
        "password": "Wangjing-2026!",
        "display_name": "王芳",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "roles": ["grid_worker"],
    }

    username = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_.\-]{3,64}$", error="3-64 letters, digits, . _ -"),
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    unit_id = fields.UUID(required=True)
    roles = fields.List(fields.Enum(Role, by_value=True), required=True)


class UserQuerySchema(StrictSchema):
    EXAMPLE = {"unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e"}

    unit_id = fields.UUID(load_default=None)


def period_kind_of(text: str) -> PeriodKind:
    """The kind a period's label is written in: 2026-11-05, 2026-W45, 2026-11, a/b."""
    if "/" in text:
        return PeriodKind.RANGE
    if "W" in text:
        return PeriodKind.WEEK
    return PeriodKind.MONTH if len(text.strip()) == 7 else PeriodKind.DAY


class PeriodQuerySchema(StrictSchema):
    """A period in Beijing time, written as its label; loads as a ``Period`` (or None)."""

    EXAMPLE = {"period": "2026-11"}

    period = fields.String(load_default=None, metadata={
        "description": "2026-11 (month), 2026-W45 (ISO week), 2026-11-05 (day) or "
                       "2026-11-01/2026-11-15 (range, both days included); Beijing time"})

    @ma.post_load
    def _parse_period(self, data, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if data["period"] is not None:
            try:
                data["period"] = parse(period_kind_of(data["period"]), data["period"])
            except BadPeriod as exc:
                raise ma.ValidationError(str(exc), field_name="period") from exc
        return data
