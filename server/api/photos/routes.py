"""Photos over HTTP: status, download, links (uploads are tus 1.0: server/api/photos/tus.py)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.photos import schemas as s
from sync import photos
from sync.photo_rules import PhotoLimits, PhotoStatus, PhotoType
from sync.storage import LocalDiskStore, PhotoStore

blp = Blueprint("photos", __name__, url_prefix="photos",
                description="Photos, named by the SHA-256 of their bytes")

PHOTO_BYTES = "The photo's bytes (Range and If-None-Match work)"
# A stored photo never changes (its name is its hash); "private" keeps it out of shared
# caches because only some users may see it.
CACHE_SECONDS = 365 * 24 * 3600


def photo_store() -> PhotoStore:
    return LocalDiskStore(ctx.setting("PHOTO_DIR"))


def photo_limits() -> PhotoLimits:
    return PhotoLimits(max_bytes=ctx.setting("PHOTO_MAX_BYTES"),
                       types=frozenset(PhotoType(t) for t in ctx.setting("PHOTO_TYPES")))


def _photo_view(photo: photos.Photo) -> dict[str, Any]:
    return {"sha256": photo.sha256, "status": PhotoStatus.AVAILABLE, "size": photo.size,
            "content_type": photo.content_type.value, "stored_at": photo.stored_at,
            "upload": None}


@blp.route("/<string:sha256>/status", methods=["GET"])
@blp.response(200, s.PhotoSchema)
@may_answer("invalid_sha256")
def photo_status(sha256: str):
    """Whether a photo is missing, partly uploaded or available"""
    info = photos.describe_photo(ctx.session(), photo_store(), ctx.current_actor(), sha256)
    if info.photo is not None:
        return _photo_view(info.photo)
    own = info.own_upload
    return {"sha256": sha256.lower(), "status": info.status, "size": None,
            "content_type": None, "stored_at": None, "upload": None if own is None else {
                "upload_id": own.upload.id, "offset": own.offset, "size": own.upload.size}}


@blp.route("/<string:sha256>", methods=["GET"])
# The doc's 200 replaces the response's, so it repeats the description (OpenAPI needs one).
@blp.response(200, description=PHOTO_BYTES)
@blp.doc(responses={"200": {"description": PHOTO_BYTES, "content": {t.value: {"schema": {
    "type": "string", "format": "binary"}} for t in PhotoType}}})
@may_answer("invalid_sha256", "photo_not_uploaded")
def download_photo(sha256: str):
    """Download a photo you uploaded or that belongs to a case you can see"""
    photo = photos.get_photo_for(ctx.session(), ctx.current_actor(), sha256)
    response = Response(wrap_file(request.environ, photo_store().open(photo.sha256)),
                        mimetype=photo.content_type.value, direct_passthrough=True)
    response.content_length = photo.size
    response.set_etag(photo.sha256)
    response.cache_control.private = True
    response.cache_control.max_age = CACHE_SECONDS
    response.cache_control.immutable = True
    try:
        return response.make_conditional(request, accept_ranges=True,
                                         complete_length=photo.size)
    except RequestedRangeNotSatisfiable:
        response.close()
        raise


@blp.route("", methods=["GET"])
@blp.arguments(s.LinkQuerySchema, location="query")
@blp.response(200, s.PhotoLinkSchema(many=True))
@may_answer("not_found", "invalid_sha256")
def list_links(args: dict[str, Any]):
    """The photos linked to a case you can see, with whether each has arrived"""
    session = ctx.session()
    links = photos.visible_links_for(session, ctx.current_actor(), args["subject_type"],
                                     args["subject_id"])
    status = photos.statuses(session, (link.sha256 for link in links))
    return [{**{n: getattr(link, n) for n in ("id", "sha256", "subject_type", "subject_id",
                                               "linked_by_user_id", "linked_at")},
             "status": status[link.sha256]} for link in links]
