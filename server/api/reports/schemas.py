"""Query arguments of the report files: an area, a Beijing-time period, a grid kind."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from server.grids.rules import GridKind
from server.reports.periods import BadPeriod, PeriodKind, parse


class PeriodArgsSchema(StrictSchema):
    """``period_kind`` and ``period`` (its label); loads ``period`` as a Period."""

    EXAMPLE = {"period_kind": "day", "period": "2026-11"}

    period_kind = fields.Enum(PeriodKind, by_value=True, load_default=PeriodKind.MONTH,
                              metadata={"description": "day | week | month | range"})
    period = fields.String(required=True, metadata={
        "description": "Beijing time: 2026-11-05, 2026-W45, 2026-11 or 2026-11-01/2026-11-15"})

    @ma.post_load
    def _to_period(self, data: dict, **_kw) -> dict:  # noqa: ANN003
        try:
            data["period"] = parse(data["period_kind"], data["period"])
        except BadPeriod as exc:
            raise ma.ValidationError({"period": [str(exc)]}) from exc
        return data


class GridCountsArgsSchema(PeriodArgsSchema):
    EXAMPLE = {
        "period_kind": "day",
        "period": "2026-11",
        "unit_id": "d3a6e611-2ac2-59d0-ae40-fd833dc1b46e",
        "grid_kind": "basic",
        "category": "0301",
    }

    unit_id = fields.UUID(required=True, metadata={
        "description": "The township or district whose grids are mapped"})
    grid_kind = fields.Enum(GridKind, by_value=True, load_default=GridKind.BASIC, metadata={
        "description": "basic (they tile the area) or special (they overlay it)"})
    category = fields.String(load_default=None, validate=validate.Length(min=1, max=40),
                             metadata={"description": "Only cases whose category code starts "
                                                      "so (e.g. 04 or 04.01)"})


class GridCountPropertiesSchema(ma.Schema):
    EXAMPLE = {
        "code": "110105001",
        "name": "望京街道",
        "kind": "basic",
        "township": "110105001",
        "township_name": "望京街道",
        "count": 12,
        "previous_count": 1,
        "change": 1,
        "retired_at": "2026-11-05T01:30:00+00:00",
    }

    code = fields.String()
    name = fields.String()
    kind = fields.String()
    township = fields.String(metadata={"description": "The township's code"})
    township_name = fields.String()
    count = fields.Integer(metadata={"description": "Cases received in the period"})
    previous_count = fields.Integer(metadata={"description": "Cases of the period before"})
    change = fields.Integer(metadata={"description": "count - previous_count"})
    retired_at = fields.String(allow_none=True)


class GridCountFeatureSchema(ma.Schema):
    EXAMPLE = {
        "type": "Feature",
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "geometry": {},
        "properties": {
            "code": "110105001",
            "name": "望京街道",
            "kind": "basic",
            "township": "110105001",
            "township_name": "望京街道",
            "count": 12,
            "previous_count": 1,
            "change": 1,
            "retired_at": "2026-11-05T01:30:00+00:00",
        },
    }

    type = fields.Constant("Feature")
    id = fields.String()
    geometry = fields.Dict(metadata={"description": "(Multi)Polygon, WGS-84 lon/lat"})
    properties = fields.Nested(GridCountPropertiesSchema)


class GridCountsSchema(ma.Schema):
    """An RFC 7946 FeatureCollection (no crs member: WGS-84) with the area and period."""

    EXAMPLE = {
        "type": "FeatureCollection",
        "name": "望京街道",
        "area": {},
        "period": "2026-11",
        "previous_period": "2026-10",
        "category_prefix": "03",
        "features": [
            {
                "type": "Feature",
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "geometry": {},
                "properties": {
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "basic",
                    "township": "110105001",
                    "township_name": "望京街道",
                    "count": 12,
                    "previous_count": 1,
                    "change": 1,
                    "retired_at": "2026-11-05T01:30:00+00:00",
                },
            },
        ],
    }

    type = fields.Constant("FeatureCollection")
    name = fields.String()
    area = fields.Dict()
    period = fields.String()
    previous_period = fields.String()
    category_prefix = fields.String(allow_none=True)
    features = fields.List(fields.Nested(GridCountFeatureSchema))
