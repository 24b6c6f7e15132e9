"""Photos over HTTP: one-request and resumable (tus-like) uploads, status, download, links."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from flask import Response, request, url_for
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wsgi import wrap_file

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.photos import schemas as s
from server.errors import error_payload
from sync import photos
from sync.photo_rules import PhotoLimits, PhotoStatus, PhotoType, PhotoTypeUnsupported
from sync.storage import LocalDiskStore, PhotoStore

blp = Blueprint("photos", __name__, url_prefix="photos",
                description="Photos, named by the SHA-256 of their bytes")

IMAGE_BODY = {"required": True, "content": {t.value: {"schema": {
    "type": "string", "format": "binary"}} for t in PhotoType}}
CHUNK_BODY = {"required": True, "content": {"application/offset+octet-stream": {"schema": {
    "type": "string", "format": "binary"}}}}
OFFSET_HEADERS = {
    "Upload-Offset": {"description": "Bytes the server holds: the next chunk starts here",
                      "schema": {"type": "integer"}},
    "Upload-Length": {"description": "The photo's declared size", "schema": {"type": "integer"}},
}
PHOTO_BYTES = "The photo's bytes (Range and If-None-Match work)"
# A stored photo never changes (its name is its hash); "private" keeps it out of shared
# caches because only some users may see it.
CACHE_SECONDS = 365 * 24 * 3600


def _store() -> PhotoStore:
    return LocalDiskStore(ctx.setting("PHOTO_DIR"))


def _limits() -> PhotoLimits:
    return PhotoLimits(max_bytes=ctx.setting("PHOTO_MAX_BYTES"),
                       types=frozenset(PhotoType(t) for t in ctx.setting("PHOTO_TYPES")))


def _body() -> BinaryIO:
    """The raw request body, read lazily by the store.

    Photos have their own limit (GRID_PHOTO_MAX_MB), enforced by the service with its own
    error code, so Flask's MAX_CONTENT_LENGTH must not cut the stream first. The store never
    reads more than the limit plus one byte, and werkzeug still stops at Content-Length.
    """
    request.max_content_length = None
    return request.stream


@blp.errorhandler(PhotoTypeUnsupported)
def _unsupported_type(error: PhotoTypeUnsupported) -> tuple[dict[str, Any], int]:
    # The one error shape, with the status HTTP has for "not a type I accept".
    return error_payload(415, error.code, error.message, error.errors, error.details), 415


def _offset_headers(state: photos.UploadState) -> dict[str, str]:
    headers = {"Upload-Offset": str(state.offset), "Cache-Control": "no-store"}
    if state.upload is not None:
        headers["Upload-Length"] = str(state.upload.size)
        headers["Location"] = url_for("photos.get_upload", upload_id=state.upload.id)
    return headers


def _upload_view(state: photos.UploadState, sha256: str) -> dict[str, Any]:
    photo, upload = state.photo, state.upload
    return {"upload_id": upload.id if upload else None, "sha256": sha256,
            "status": state.status, "offset": state.offset,
            "size": photo.size if photo else upload.size,
            "content_type": (photo or upload).content_type.value}


def _photo_view(photo: photos.Photo) -> dict[str, Any]:
    return {"sha256": photo.sha256, "status": PhotoStatus.AVAILABLE, "size": photo.size,
            "content_type": photo.content_type.value, "stored_at": photo.stored_at,
            "upload": None}


@blp.route("/<string:sha256>", methods=["PUT"])
@blp.response(201, s.PhotoSchema)
@blp.alt_response(200, schema=s.PhotoSchema,
                  description="Already stored (by anyone): the body was not read")
@blp.doc(requestBody=IMAGE_BODY)
@may_answer("invalid_sha256", "photo_hash_mismatch", "photo_too_large", "photo_type_unsupported")
def put_photo(sha256: str):
    """Upload a whole photo in one request; the server checks its hash and type"""
    photo, created = photos.put_photo(
        ctx.session(), _store(), ctx.current_actor(), sha256=sha256,
        content_type=request.mimetype, data=_body(), length=request.content_length,
        limits=_limits(), now=ctx.request_now())
    return _photo_view(photo), 201 if created else 200


@blp.route("/<string:sha256>/uploads", methods=["POST"])
@blp.arguments(s.UploadStartSchema)
@blp.response(201, s.UploadSchema, headers=OFFSET_HEADERS)
@blp.alt_response(200, schema=s.UploadSchema, description="Your unfinished upload of this "
                  "photo (resume from 'offset'), or the photo is already stored")
@may_answer("invalid_sha256", "photo_too_large", "photo_type_unsupported")
def start_upload(body: dict[str, Any], sha256: str):
    """Start (or find again) a resumable upload of a photo"""
    state = photos.start_upload(
        ctx.session(), _store(), ctx.current_actor(), sha256=sha256, size=body["size"],
        content_type=body["content_type"], limits=_limits(), now=ctx.request_now())
    return (_upload_view(state, sha256.lower()), 201 if state.created else 200,
            _offset_headers(state))


@blp.route("/uploads/<uuid:upload_id>", methods=["PATCH"])
@blp.arguments(s.UploadOffsetHeaderSchema, location="headers")
@blp.response(204, description="Chunk stored; the photo is available once Upload-Offset "
              "equals its size", headers=OFFSET_HEADERS)
@blp.doc(requestBody=CHUNK_BODY)
@may_answer("offset_mismatch", "photo_hash_mismatch", "photo_type_unsupported",
            "upload_exceeds_size")
def append_chunk(headers: dict[str, int], upload_id: uuid.UUID):
    """Send the next chunk of a resumable upload, from the offset the server holds"""
    state = photos.append_chunk(
        ctx.session(), _store(), ctx.current_actor(), upload_id=upload_id,
        offset=headers["upload_offset"], data=_body(), length=request.content_length,
        limits=_limits(), now=ctx.request_now())
    return Response(status=204, headers=_offset_headers(state))


@blp.route("/uploads/<uuid:upload_id>", methods=["GET"])
@blp.response(200, s.UploadSchema, headers=OFFSET_HEADERS)
def get_upload(upload_id: uuid.UUID):
    """Where one's upload stands (HEAD gives the same headers): resume from 'offset'"""
    state = photos.get_upload(ctx.session(), _store(), ctx.current_actor(), upload_id)
    return _upload_view(state, state.upload.sha256), 200, _offset_headers(state)


@blp.route("/<string:sha256>/status", methods=["GET"])
@blp.response(200, s.PhotoSchema)
@may_answer("invalid_sha256")
def photo_status(sha256: str):
    """Whether a photo is missing, partly uploaded or available"""
    info = photos.describe_photo(ctx.session(), _store(), ctx.current_actor(), sha256)
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
    response = Response(wrap_file(request.environ, _store().open(photo.sha256)),
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
