"""Grid, import, export and topology-audit schemas."""

from __future__ import annotations

from enum import StrEnum

import marshmallow as ma
from marshmallow import fields, validate

from geo.crs import CRS
from server.api.schemas import (
    CURSOR_EXAMPLE,
    CRSQuerySchema,
    GeoJSONGeometry,
    PopulationCheckSchema,
    StrictSchema,
    UnitRefSchema,
)
from server.grids.rules import GridKind

POLYGON_EXAMPLE = {"type": "Polygon", "coordinates": [[
    [116.4701, 39.9952], [116.4772, 39.9952], [116.4772, 39.9991], [116.4701, 39.9991],
    [116.4701, 39.9952]]]}
FEATURE_COLLECTION_EXAMPLE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "geometry": POLYGON_EXAMPLE,
    "properties": {"code": "110105001-005", "name": "望京西园三区网格", "kind": "basic",
                   "township": "110105001", "community": "110105001-C01"}}]}

# A tiling problem an admin let through with override_topology (FeatureProblem.as_dict()).
OVERLAP_PROBLEM_EXAMPLE = {
    "index": 0, "grid_code": "110105001-005", "field": "geometry", "code": "grid_overlap",
    "reason": "Overlaps basic grid 110105001-006 by 36.4 m² (tolerance 10 m²); an admin may "
              "pass override_topology with a reason to import it anyway.",
    "location": [116.4736, 39.9971], "area_m2": 36.4, "other_grid_code": "110105001-006"}


class GridSummarySchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
        "kind": "basic",
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "community": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "owner_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "area_m2": 0.5,
        "created_at": "2026-11-05T01:30:00+00:00",
        "retired_at": "2026-11-05T01:30:00+00:00",
        "replaces_id": "1f64a5be-e2bb-5fb0-9e91-01aa453a7dd4",
    }

    id = fields.UUID(dump_only=True)
    code = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    kind = fields.Enum(GridKind, by_value=True, dump_only=True)
    township = fields.Nested(UnitRefSchema, dump_only=True)
    community = fields.Nested(UnitRefSchema, dump_only=True, allow_none=True)
    owner_unit = fields.Nested(UnitRefSchema, dump_only=True, allow_none=True)
    special_kind = fields.String(dump_only=True, allow_none=True,
                                 metadata={"description": "special grids: school, hospital..."})
    area_m2 = fields.Float(dump_only=True)
    bbox = fields.Method(
        "_bbox",
        dump_only=True,
        metadata={"description": "[min_lon, min_lat, max_lon, max_lat] in WGS-84"},
    )
    created_at = fields.AwareDateTime(dump_only=True)
    retired_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    replaces_id = fields.UUID(dump_only=True, allow_none=True)
    import_id = fields.UUID(dump_only=True, allow_none=True,
                            metadata={"description": "The import that created this version"})

    def _bbox(self, grid):  # noqa: ANN001, ANN202
        return [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat]


class GridSchema(GridSummarySchema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "code": "110105001",
        "name": "望京街道",
        "kind": "basic",
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "community": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "owner_unit": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "area_m2": 0.5,
        "created_at": "2026-11-05T01:30:00+00:00",
        "retired_at": "2026-11-05T01:30:00+00:00",
        "replaces_id": "1f64a5be-e2bb-5fb0-9e91-01aa453a7dd4",
        "geometry": POLYGON_EXAMPLE,
        "crs": "wgs84",
    }

    geometry = GeoJSONGeometry(
        dump_only=True, metadata={"description": "GeoJSON in the requested crs"}
    )
    crs = fields.Enum(CRS, by_value=True, dump_only=True)


class GridListQuerySchema(StrictSchema):
    EXAMPLE = {
        "township": "110105001",
        "kind": "basic",
        "include_retired": True,
        "limit": 50,
        "cursor": CURSOR_EXAMPLE,
    }

    township = fields.String(load_default=None, metadata={"description": "Township code"})
    kind = fields.Enum(GridKind, by_value=True, load_default=None)
    include_retired = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String(load_default=None)


class GridPageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
                "kind": "basic",
                "township": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "community": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "owner_unit": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "area_m2": 0.5,
                "created_at": "2026-11-05T01:30:00+00:00",
                "retired_at": "2026-11-05T01:30:00+00:00",
                "replaces_id": "1f64a5be-e2bb-5fb0-9e91-01aa453a7dd4",
            },
        ],
        "next_cursor": CURSOR_EXAMPLE,
    }

    items = fields.List(fields.Nested(GridSummarySchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)


class ExportFormat(StrEnum):
    GEOJSON = "geojson"
    CSV = "csv"


class ExportQuerySchema(CRSQuerySchema):
    """GeoJSON is RFC 7946: WGS-84 only. Other systems go out as CSV (``crs`` + ``wkt``)."""

    format = fields.Enum(
        ExportFormat, by_value=True, load_default=ExportFormat.GEOJSON,
        metadata={"description": "geojson (WGS-84 only, RFC 7946) or csv (any crs: a crs "
                                 "column on every row and the geometry as WKT)"},
    )

    @ma.validates_schema
    def _geojson_is_wgs84(self, data, **_):  # noqa: ANN001, ANN003, ANN202
        if data.get("format") is ExportFormat.GEOJSON and data.get("crs") is not CRS.WGS84:
            raise ma.ValidationError(
                "GeoJSON is WGS-84 only (RFC 7946): GIS software reads any other numbers in it "
                "as WGS-84 and misplaces them. Use format=csv for this crs.", "crs")


class GridExportQuerySchema(ExportQuerySchema):
    EXAMPLE = {"format": "geojson", "crs": "wgs84", "township": "110105001", "kind": "basic",
               "include_retired": True}

    township = fields.String(load_default=None)
    kind = fields.Enum(GridKind, by_value=True, load_default=None)
    include_retired = fields.Boolean(load_default=False)


class GridImportQuerySchema(StrictSchema):
    EXAMPLE = {"crs": "wgs84", "repair": True, "replace_existing": True,
               "override_topology": True,
               "override_reason": "与南湖社区网格的重叠为两社区共管的绿地，经街道核实保留。"}

    crs = fields.Enum(CRS, by_value=True, load_default=CRS.WGS84,
                      metadata={"description": "Coordinate system of the file's coordinates"})
    repair = fields.Boolean(
        load_default=False,
        metadata={"description": "Fix invalid rings with make_valid and report the change"},
    )
    replace_existing = fields.Boolean(
        load_default=False,
        metadata={"description": "Retire the active grid of the same code and replace it"},
    )
    override_topology = fields.Boolean(
        load_default=False,
        metadata={"description": "Admins: import despite overlaps or parts outside the "
                                 "township/district (recorded with override_reason)"},
    )
    override_reason = fields.String(
        load_default=None, validate=validate.Length(min=5, max=500),
        metadata={"description": "Why the tiling problems are accepted (required with "
                                 "override_topology)"},
    )

    @ma.validates_schema
    def _reason_with_override(self, data, **_):  # noqa: ANN001, ANN003, ANN202
        if data.get("override_topology") and not data.get("override_reason"):
            raise ma.ValidationError("Say why the tiling problems are accepted.",
                                     "override_reason")
        if data.get("override_reason") and not data.get("override_topology"):
            raise ma.ValidationError("Only with override_topology.", "override_reason")


class FeatureCollectionSchema(ma.Schema):
    """RFC 7946 FeatureCollection; each feature's properties: code, name, kind (basic|special),
    township (code), community (code, optional), owner_unit (code, special grids),
    special_kind (special grids: school, hospital...)."""

    EXAMPLE = FEATURE_COLLECTION_EXAMPLE

    class Meta:
        # RFC 7946 §6.1 allows foreign members (e.g. "name", an old "crs"): tolerate them.
        unknown = ma.EXCLUDE

    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Dict(), required=True)


class ImportRepairSchema(ma.Schema):
    EXAMPLE = {"index": 1, "grid_code": "110105001-005", "changes": ["closed the ring"]}

    index = fields.Integer()
    grid_code = fields.String()
    changes = fields.List(fields.String())


class ImportResultSchema(ma.Schema):
    EXAMPLE = {
        "import_id": "e3d5f7b9-2c4e-4a6b-8d0f-3b5c7d9e1f23",
        "topology_override": True,
        "overridden": [OVERLAP_PROBLEM_EXAMPLE],
        "imported": 1,
        "replaced_codes": ["0301"],
        "repairs": [{"index": 1, "grid_code": "110105001-005", "changes": ["closed the ring"]}],
        "grids": [
            {
                "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                "code": "110105001",
                "name": "望京街道",
                "kind": "basic",
                "township": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "community": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "owner_unit": {
                    "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
                    "code": "110105001",
                    "name": "望京街道",
                    "kind": "township",
                },
                "area_m2": 0.5,
                "created_at": "2026-11-05T01:30:00+00:00",
                "retired_at": "2026-11-05T01:30:00+00:00",
                "replaces_id": "1f64a5be-e2bb-5fb0-9e91-01aa453a7dd4",
            },
        ],
    }

    import_id = fields.UUID(metadata={"description": "The import record (who, when, override)"})
    topology_override = fields.Boolean()
    overridden = fields.List(fields.Dict(), metadata={
        "description": "Tiling problems let through by override_topology (as in the 422)"})
    imported = fields.Integer()
    replaced_codes = fields.List(fields.String())
    repairs = fields.List(fields.Nested(ImportRepairSchema))
    grids = fields.List(fields.Nested(GridSummarySchema))


# format=csv of the grid export: the properties, crs and the geometry as WKT (BOM for Excel).
GRID_CSV_EXAMPLE = (
    "\ufeffcode,name,kind,township,community,owner_unit,area_m2,created_at,retired_at,crs,wkt\r\n"
    "110105001-005,望京西园三区网格,basic,110105001,110105001-C01,,214300.5,"
    "2026-11-05T01:30:00+00:00,,wgs84,"
    "\"POLYGON ((116.4701 39.9952, 116.4772 39.9952, 116.4772 39.9991, 116.4701 39.9991, "
    "116.4701 39.9952))\"\r\n")
# format=geojson of the topology audit: one feature per problem, for QGIS.
AUDIT_GEOJSON_EXAMPLE = {"type": "FeatureCollection", "name": "topology-audit-110105001",
                         "features": [{"type": "Feature", "geometry": POLYGON_EXAMPLE,
                                       "properties": {"problem": "overlap",
                                                      "township": "110105001",
                                                      "area_m2": 36.4,
                                                      "code_a": "110105001-005",
                                                      "code_b": "110105001-006"}}]}


class FeatureCollectionOutSchema(ma.Schema):
    EXAMPLE = FEATURE_COLLECTION_EXAMPLE

    type = fields.String()
    features = fields.List(fields.Dict())


class AreaFeatureSchema(ma.Schema):
    EXAMPLE = {"area_m2": 0.5, "geometry": POLYGON_EXAMPLE}

    area_m2 = fields.Float()
    geometry = GeoJSONGeometry()


class OverlapSchema(AreaFeatureSchema):
    EXAMPLE = {
        "area_m2": 0.5,
        "geometry": POLYGON_EXAMPLE,
        "code_a": "110105001-005",
        "code_b": "110105001-006",
    }

    code_a = fields.String()
    code_b = fields.String()


class GapSchema(AreaFeatureSchema):
    EXAMPLE = {"area_m2": 0.5, "geometry": POLYGON_EXAMPLE, "location": [0.5]}

    location = fields.List(fields.Float())


class ProtrusionSchema(AreaFeatureSchema):
    EXAMPLE = {"area_m2": 0.5, "geometry": POLYGON_EXAMPLE, "code": "110105001"}

    code = fields.String()


class SpecialIssueSchema(ma.Schema):
    EXAMPLE = {
        "code": "110105001",
        "problem": "overlap",
        "reason": "该问题属于市政管理范围，应由城管执法队处置。",
    }

    code = fields.String()
    problem = fields.String()
    reason = fields.String()


class TopologyAuditSchema(ma.Schema):
    EXAMPLE = {
        "township": {
            "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
            "code": "110105001",
            "name": "望京街道",
            "kind": "township",
        },
        "basic_grids": 1,
        "special_grids": 1,
        "clean": True,
        "overlaps": [
            {"area_m2": 0.5, "geometry": POLYGON_EXAMPLE, "code_a": "110105001-005",
             "code_b": "110105001-006"},
        ],
        "gaps": [{"area_m2": 0.5, "geometry": POLYGON_EXAMPLE, "location": [0.5]}],
        "protrusions": [{"area_m2": 0.5, "geometry": POLYGON_EXAMPLE, "code": "110105001"}],
        "special_grid_issues": [
            {
                "code": "110105001",
                "problem": "overlap",
                "reason": "该问题属于市政管理范围，应由城管执法队处置。",
            },
        ],
        "population": PopulationCheckSchema.EXAMPLE,
    }

    township = fields.Nested(UnitRefSchema)
    basic_grids = fields.Integer()
    special_grids = fields.Integer()
    clean = fields.Boolean()
    overlaps = fields.List(fields.Nested(OverlapSchema))
    gaps = fields.List(fields.Nested(GapSchema))
    protrusions = fields.List(fields.Nested(ProtrusionSchema))
    special_grid_issues = fields.List(fields.Nested(SpecialIssueSchema))
    population = fields.Nested(PopulationCheckSchema, metadata={
        "description": "The township's population against its communities' sum"})


class AuditQuerySchema(StrictSchema):
    EXAMPLE = {"format": "json"}

    format = fields.String(
        load_default="json", validate=validate.OneOf(["json", "geojson"]),
        metadata={"description": "json (this schema) or geojson (a FeatureCollection of the "
                                 "overlaps, gaps and protrusions with their m², for QGIS)"},
    )


class GridImportListQuerySchema(StrictSchema):
    EXAMPLE = {"overridden": True, "limit": 50}

    overridden = fields.Boolean(load_default=None, metadata={
        "description": "true: only imports that overrode the tiling checks"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class GridImportRecordSchema(ma.Schema):
    EXAMPLE = {
        "id": "e3d5f7b9-2c4e-4a6b-8d0f-3b5c7d9e1f23",
        "imported_at": "2026-11-18T06:40:00+00:00",
        "imported_by_user_id": "2c7f4e1b-0d66-4a1f-9b2d-7c8b3f6e5d41",
        "source": "api",
        "feature_count": 12,
        "replaced_codes": ["110105001-005"],
        "topology_override": True,
        "override_reason": "与南湖社区网格的重叠为两社区共管的绿地，经街道核实保留。",
        "overridden_problems": [OVERLAP_PROBLEM_EXAMPLE],
    }

    id = fields.UUID()
    imported_at = fields.AwareDateTime()
    imported_by_user_id = fields.UUID(allow_none=True)
    source = fields.String(metadata={"description": "api | cli | demo"})
    feature_count = fields.Integer()
    replaced_codes = fields.List(fields.String())
    topology_override = fields.Boolean()
    override_reason = fields.String(allow_none=True)
    overridden_problems = fields.List(fields.Dict())
