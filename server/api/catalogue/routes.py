"""The dispatch catalogue: list, read, import (JSON, CSV or .xlsx, all or nothing), export."""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, request
from werkzeug.exceptions import UnsupportedMediaType

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.catalogue.schemas import (
    CatalogueDocumentSchema,
    CatalogueExportQuerySchema,
    CatalogueExportSchema,
    CatalogueImportQuerySchema,
    CatalogueItemSchema,
    CatalogueListQuerySchema,
    CataloguePageSchema,
    ImportCountsSchema,
)
from server.api.openapi import may_answer
from server.catalogue import formats, queries, services
from server.core.errors import Invalid
from server.core.i18n import _
from server.org.rules import MANAGE_CATALOGUE

blp = Blueprint("catalogue", __name__, url_prefix="", description="The dispatch catalogue")

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_DOC = {"content": {CSV: {"schema": {"type": "string", "description":
    "UTF-8 (BOM optional), header row: " + ",".join(formats.COLUMNS)},
    "example": ",".join(formats.COLUMNS) + "\n01,市容环境,,,,,,,\n"
               "01.01,占道经营,department:city_management,territorial,24,168,true,true,"
               "流动摊贩、店外经营\n"}}}
IMPORT_DOC = {"content": {**CSV_DOC["content"], XLSX: {"schema": {
    "type": "string", "format": "binary",
    "description": "An Excel workbook; its first sheet is read like the CSV"}}}}


@blp.route("/catalogue", methods=["GET"])
@blp.arguments(CatalogueListQuerySchema, location="query")
@blp.response(200, CataloguePageSchema)
@may_answer("invalid_cursor")
def list_items(args):
    """Catalogue items by code, keyset-paginated; filter by parent, text, active"""
    ctx.current_actor()  # any signed-in user may read the catalogue
    page = queries.list_items(ctx.session(), **args)
    return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/catalogue/<string:code>", methods=["GET"])
@blp.response(200, CatalogueItemSchema)
@may_answer("unknown_category:404")
def get_item(code: str):
    """One catalogue item by code"""
    ctx.current_actor()
    return queries.get_item(ctx.session(), code)


@blp.route("/catalogue/export", methods=["GET"])
@blp.arguments(CatalogueExportQuerySchema, location="query")
@blp.response(200, CatalogueExportSchema)
@blp.doc(responses={"200": {"description": "The catalogue file", "content": {
    "application/json": {"schema": CatalogueExportSchema}, **CSV_DOC["content"]}}})
def export_catalogue(args):
    """The whole catalogue, inactive items too, as a file the import accepts (JSON or CSV)"""
    ctx.current_actor()
    specs = queries.all_specs(ctx.session())
    if args["format"] == "csv":
        return Response(formats.write_csv(specs), mimetype=CSV,
                        headers={"Content-Disposition": 'attachment; filename="catalogue.csv"'})
    return {"items": [formats.spec_as_json(s) for s in specs]}


@blp.route("/catalogue/import", methods=["POST"])
@blp.arguments(CatalogueImportQuerySchema, location="query")
@blp.arguments(CatalogueDocumentSchema, required=False)
@blp.response(200, ImportCountsSchema)
@blp.doc(requestBody=IMPORT_DOC)
@may_answer("catalogue_file_empty", "catalogue_import_rejected", "too_many_items")
def import_catalogue(args, body):
    """Create or update items from JSON, CSV or .xlsx, all or nothing, problems per row"""
    actor = ctx.current_actor()
    actor.require(MANAGE_CATALOGUE, _("import the dispatch catalogue"))
    counts = services.import_catalogue(
        ctx.session(), _catalogue_file(body), replace_all=args["replace"],
        dry_run=args["dry_run"], now=ctx.request_now(), actor=actor,
    )
    return {**asdict(counts), "dry_run": args["dry_run"]}


def _catalogue_file(body: dict) -> formats.CatalogueFile:
    if request.mimetype == CSV:
        return formats.read_csv(request.get_data())
    if request.mimetype == XLSX:
        return formats.read_xlsx(request.get_data())
    if not request.is_json:
        raise UnsupportedMediaType(
            f"Send JSON {{\"items\": [...]}}, CSV with Content-Type {CSV} or an Excel "
            f"workbook with Content-Type {XLSX}."
        )
    if body["items"] is None:
        raise Invalid.for_field("items", "Missing data for required field.",
                                code="validation_failed")
    return formats.read_json_items(body["items"])
