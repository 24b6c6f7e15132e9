"""Unit edits, revisions and boundary import/export schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.grids.schemas import POLYGON_EXAMPLE, ExportQuerySchema
from server.api.schemas import GeoJSONGeometry, StrictSchema, UnitSchema
from server.org.rules import UnitKind


class UnitUpdateSchema(StrictSchema):
    """Only the fields given change; ``population`` and ``boundary`` may be set to null."""

    EXAMPLE = {"name": "望京街道", "population": 121500, "parent_code": "110105",
               "boundary": POLYGON_EXAMPLE, "crs": "wgs84"}

    name = fields.String(validate=validate.Length(min=1, max=120))
    population = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    parent_code = fields.String(validate=validate.Length(min=1, max=40))
    boundary = GeoJSONGeometry(allow_none=True, metadata={
        "description": "A GeoJSON (Multi)Polygon in `crs`, or null to clear it"})
    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84,
                      metadata={"description": "Coordinate system of `boundary`"})


class UnitRevisionSchema(ma.Schema):
    EXAMPLE = {
        "id": "d2c4e6a8-1b3d-4f5a-9c7e-2a4b6c8d0e12",
        "changed_at": "2026-11-20T02:15:00+00:00",
        "changed_by_user_id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41",
        "source": "edit",
        "before": {"population": 120000, "boundary": "changed"},
        "after": {"population": 121500, "boundary": "changed"},
        "boundary_before": None,
        "boundary_after": POLYGON_EXAMPLE,
    }

    id = fields.UUID()
    changed_at = fields.AwareDateTime()
    changed_by_user_id = fields.UUID(allow_none=True)
    source = fields.String(metadata={"description": "edit | boundary_import"})
    before = fields.Dict(metadata={"description": "Changed fields before; boundary: 'changed'"})
    after = fields.Dict(metadata={"description": "The same fields after"})
    boundary_before = GeoJSONGeometry(allow_none=True, metadata={"description": "WGS-84"})
    boundary_after = GeoJSONGeometry(allow_none=True, metadata={"description": "WGS-84"})


class BoundaryImportQuerySchema(StrictSchema):
    EXAMPLE = {"crs": "wgs84"}

    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84,
                      metadata={"description": "Coordinate system of the file's coordinates"})


class BoundaryImportResultSchema(ma.Schema):
    EXAMPLE = {"changed": 1, "units": [UnitSchema.EXAMPLE]}

    changed = fields.Integer(metadata={"description": "Units whose boundary changed"})
    units = fields.List(fields.Nested(UnitSchema))


class BoundaryExportQuerySchema(ExportQuerySchema):
    EXAMPLE = {"format": "geojson", "crs": "wgs84", "kind": "township", "under": "110105"}

    kind = fields.Enum(UnitKind, by_value=True, load_default=None,
                       validate=validate.OneOf([UnitKind.DISTRICT, UnitKind.TOWNSHIP,
                                                UnitKind.COMMUNITY]))
    under = fields.String(load_default=None, metadata={
        "description": "Code of a unit: only its subtree (e.g. a district's townships)"})
