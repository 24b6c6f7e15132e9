"""Unit edits, revisions and boundary import/export schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.grids.schemas import ExportQuerySchema
from server.api.schemas import GeoJSONGeometry, StrictSchema, UnitSchema
from server.org.rules import UnitKind


class UnitUpdateSchema(StrictSchema):
    """Only the fields given change; ``population`` and ``boundary`` may be set to null."""

    name = fields.String(validate=validate.Length(min=1, max=120))
    population = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    parent_code = fields.String(validate=validate.Length(min=1, max=40))
    boundary = GeoJSONGeometry(allow_none=True, metadata={
        "description": "A GeoJSON (Multi)Polygon in `crs`, or null to clear it"})
    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84,
                      metadata={"description": "Coordinate system of `boundary`"})


class UnitRevisionSchema(ma.Schema):
    id = fields.UUID()
    changed_at = fields.AwareDateTime()
    changed_by_user_id = fields.UUID(allow_none=True)
    source = fields.String(metadata={"description": "edit | boundary_import"})
    before = fields.Dict(metadata={"description": "Changed fields before; boundary: 'changed'"})
    after = fields.Dict(metadata={"description": "The same fields after"})
    boundary_before = GeoJSONGeometry(allow_none=True, metadata={"description": "WGS-84"})
    boundary_after = GeoJSONGeometry(allow_none=True, metadata={"description": "WGS-84"})


class BoundaryImportQuerySchema(StrictSchema):
    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84,
                      metadata={"description": "Coordinate system of the file's coordinates"})


class BoundaryImportResultSchema(ma.Schema):
    changed = fields.Integer(metadata={"description": "Units whose boundary changed"})
    units = fields.List(fields.Nested(UnitSchema))


class BoundaryExportQuerySchema(ExportQuerySchema):
    kind = fields.Enum(UnitKind, by_value=True, load_default=None,
                       validate=validate.OneOf([UnitKind.DISTRICT, UnitKind.TOWNSHIP,
                                                UnitKind.COMMUNITY]))
    under = fields.String(load_default=None, metadata={
        "description": "Code of a unit: only its subtree (e.g. a district's townships)"})
