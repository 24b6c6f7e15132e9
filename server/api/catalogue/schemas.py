"""Catalogue item, list, import and export schemas."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema

HOURS = {"type": "number", "nullable": True}


class CatalogueItemSchema(ma.Schema):
    EXAMPLE = {
        "code": "110105001",
        "parent_code": "110105",
        "level": 1,
        "name": "望京街道",
        "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
        "lead": "朝阳区城管执法局",
        "cooperating": ["朝阳区环卫中心"],
        "returnable": True,
        "active": True,
        "dispatchable": True,
        "created_at": "2026-11-05T01:30:00+00:00",
        "updated_at": "2026-11-05T01:30:00+00:00",
    }

    code = fields.String(dump_only=True,
                         metadata={"description": "Hierarchical: 03, 03.02, 03.02.001"})
    parent_code = fields.String(dump_only=True, allow_none=True)
    level = fields.Integer(dump_only=True, metadata={"description": "1 for top-level items"})
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True, allow_none=True)
    lead = fields.String(
        dump_only=True, allow_none=True,
        metadata={"description": "territorial | department:<kind> | unit:<unit code>; "
                                 "none for a category that is not dispatched itself"},
    )
    cooperating = fields.List(fields.String(), dump_only=True)
    response_limit_hours = fields.Raw(dump_only=True, metadata=HOURS)
    completion_limit_hours = fields.Raw(dump_only=True, metadata=HOURS)
    returnable = fields.Boolean(dump_only=True)
    active = fields.Boolean(dump_only=True)
    dispatchable = fields.Boolean(dump_only=True,
                                  metadata={"description": "Active and with a lead"})
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class CatalogueListQuerySchema(StrictSchema):
    EXAMPLE = {"parent": "110105", "q": "垃圾", "active": True, "limit": 50, "cursor": "MDEuMDE="}

    parent = fields.String(
        load_default=None,
        metadata={"description": "Direct children of this code; empty for the top level"},
    )
    q = fields.String(load_default=None, validate=validate.Length(max=100),
                      metadata={"description": "Substring of the name or the code"})
    active = fields.Boolean(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String(load_default=None)


class CataloguePageSchema(ma.Schema):
    EXAMPLE = {
        "items": [
            {
                "code": "110105001",
                "parent_code": "110105",
                "level": 1,
                "name": "望京街道",
                "description": "望京西园三区南门垃圾桶满溢，气味很大，已经两天没人清运。",
                "lead": "朝阳区城管执法局",
                "cooperating": ["朝阳区环卫中心"],
                "returnable": True,
                "active": True,
                "dispatchable": True,
                "created_at": "2026-11-05T01:30:00+00:00",
                "updated_at": "2026-11-05T01:30:00+00:00",
            },
        ],
        "next_cursor": "MDEuMDE=",
    }

    items = fields.List(fields.Nested(CatalogueItemSchema), dump_only=True)
    next_cursor = fields.String(dump_only=True, allow_none=True)


class CatalogueImportQuerySchema(StrictSchema):
    EXAMPLE = {"replace": True, "dry_run": True}

    replace = fields.Boolean(
        load_default=False,
        metadata={"description": "Deactivate active items the file does not list"},
    )
    dry_run = fields.Boolean(load_default=False,
                             metadata={"description": "Check and count; write nothing"})


class CatalogueDocumentSchema(StrictSchema):
    """JSON catalogue: {"items": [{code, name, lead, cooperating, response_limit_hours,
    completion_limit_hours, returnable, active, description}, ...]}. Each item is checked
    by the import, which reports problems per item index (0-based)."""

    EXAMPLE = {"items": []}
    # The route reads these bodies itself (server/api/catalogue/routes.py).
    OTHER_MEDIA_TYPES = ("text/csv",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # Optional here: a text/csv body leaves it empty and the view reads the CSV instead.
    items = fields.List(fields.Raw(), load_default=None)


class ImportCountsSchema(ma.Schema):
    EXAMPLE = {"created": 1, "updated": 1, "unchanged": 1, "deactivated": 1, "dry_run": True}

    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    deactivated = fields.Integer()
    dry_run = fields.Boolean()


class CatalogueExportQuerySchema(StrictSchema):
    EXAMPLE = {"format": "json"}

    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class CatalogueExportSchema(ma.Schema):
    EXAMPLE = {"items": [{}]}

    items = fields.List(fields.Dict())
