"""Photo uploads over tus 1.0: core protocol, creation, checksum and termination.

OPTIONS tells a client what the server speaks; POST creates an upload (the photo's SHA-256 and
type in Upload-Metadata); PATCH appends a chunk at Upload-Offset; HEAD says where an upload
stands (resume after a cut); DELETE ends it. Every answer carries Tus-Resumable, errors in the
one JSON shape. Authentication is the bearer token, as everywhere (tus clients send headers).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from flask import Response, request, url_for

from server.api import context as ctx
from server.api.blueprint import Blueprint
from server.api.openapi import may_answer
from server.api.photos import schemas as s
from server.api.photos.routes import photo_limits, photo_store
from server.api.throttle import photo_uploads_per_device
from server.errors import error_payload
from sync import photos
from sync import tus_rules as tus
from sync.photo_rules import PhotoTypeUnsupported

blp = Blueprint("tus", __name__, url_prefix="photos/uploads",
                description="Photo uploads, tus 1.0 (creation, checksum, termination)")
photo_uploads_per_device(blp)


def _header(name: str, description: str, example: Any, *, required: bool = True,  # noqa: ANN401
            schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"in": "header", "name": name, "required": required, "description": description,
            "schema": schema or {"type": "string"}, "example": example}


SHA256_EXAMPLE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
TUS_RESUMABLE = _header("Tus-Resumable", "The protocol version: 1.0.0 (else 412)",
                        tus.TUS_VERSION, schema={"type": "string", "enum": [tus.TUS_VERSION]})
ANSWER_HEADERS = {"Tus-Resumable": {"description": "Always 1.0.0",
                                    "schema": {"type": "string"}}}
OFFSET_HEADERS = {
    **ANSWER_HEADERS,
    "Upload-Offset": {"description": "Bytes the server holds: the next chunk starts here",
                      "schema": {"type": "integer"}},
    "Upload-Length": {"description": "The photo's size", "schema": {"type": "integer"}},
    "Cache-Control": {"description": "no-store", "schema": {"type": "string"}},
}
CHUNK_BODY = {"required": True, "content": {tus.CHUNK_CONTENT_TYPE: {"schema": {
    "type": "string", "format": "binary"}}}}


@blp.before_request
def _check_version() -> None:
    if request.method != "OPTIONS":
        tus.check_version(request.headers.get("Tus-Resumable"))


@blp.after_request
def _tus_resumable(response: Response) -> Response:
    response.headers["Tus-Resumable"] = tus.TUS_VERSION
    return response


@blp.errorhandler(tus.TusError)
def _tus_error(error: tus.TusError) -> tuple[dict[str, Any], int, dict[str, str]]:
    headers = {"Tus-Version": tus.TUS_VERSION} if error.status == 412 else {}
    return (error_payload(error.status, error.code, error.message, error.errors,
                          error.details), error.status, headers)


@blp.errorhandler(PhotoTypeUnsupported)
def _unsupported_type(error: PhotoTypeUnsupported) -> tuple[dict[str, Any], int]:
    # The one error shape, with the status HTTP has for "not a type I accept".
    return error_payload(415, error.code, error.message, error.errors, error.details), 415


def _state_headers(state: photos.UploadState) -> dict[str, str]:
    return {"Upload-Offset": str(state.offset), "Upload-Length": str(state.upload.size),
            "Cache-Control": "no-store"}


@blp.route("", methods=["OPTIONS"])
@blp.response(204, description="What this server speaks", headers={
    **ANSWER_HEADERS,
    "Tus-Version": {"description": "1.0.0", "schema": {"type": "string"}},
    "Tus-Extension": {"description": "creation,checksum,termination",
                      "schema": {"type": "string"}},
    "Tus-Max-Size": {"description": "The largest photo in bytes (GRID_PHOTO_MAX_MB)",
                     "schema": {"type": "integer"}},
    "Tus-Checksum-Algorithm": {"description": "sha256,sha1", "schema": {"type": "string"}}})
@blp.doc(security=[])
@may_answer("rate_limited")
def discover():
    """tus discovery: version, extensions, largest size, checksum algorithms (no token)"""
    return Response(status=204, headers=tus.discovery_headers(photo_limits().max_bytes))


@blp.route("", methods=["POST"])
@blp.response(201, s.UploadSchema, description="Created; PATCH its Location from "
              "Upload-Offset (the photo's size when it is already stored: nothing to send)",
              headers={**OFFSET_HEADERS, "Location": {
                  "description": "The upload's URL (relative)", "schema": {"type": "string"}}})
@blp.doc(parameters=[
    TUS_RESUMABLE, _header("Upload-Length", "The photo's size in bytes", 245760,
                           schema={"type": "integer", "minimum": 1}),
    _header("Upload-Metadata", "Comma-separated 'key base64(value)': 'sha256' (the SHA-256 of "
            "the bytes, hex) and 'filetype' (image/jpeg, image/png, image/webp, image/heic); "
            "other keys are ignored",
            f"sha256 {base64.b64encode(SHA256_EXAMPLE.encode()).decode()},"
            f"filetype {base64.b64encode(b'image/jpeg').decode()}")])
@may_answer("tus_version_unsupported", "tus_header_invalid", "invalid_sha256:400",
             "invalid_text", "permission_denied", "photo_too_large", "photo_type_unsupported",
             "rate_limited")
def create_upload():
    """tus creation: start uploading a photo named by its SHA-256"""
    size = tus.parse_creation_length(request.headers.get("Upload-Length"),
                                     request.headers.get("Upload-Defer-Length"))
    sha256, filetype = tus.photo_metadata(
        tus.parse_metadata(request.headers.get("Upload-Metadata")))
    state = photos.create_upload(
        ctx.session(), photo_store(), ctx.current_actor(), sha256=sha256, size=size,
        content_type=filetype, limits=photo_limits(), now=ctx.request_now())
    upload = state.upload
    body = {"upload_id": upload.id, "sha256": upload.sha256, "status": state.status,
            "offset": state.offset, "size": upload.size,
            "content_type": upload.content_type.value}
    return body, 201, {**_state_headers(state),
                       "Location": url_for("tus.upload", upload_id=upload.id)}


@blp.route("/<uuid:upload_id>", methods=["HEAD"], endpoint="upload")
@blp.response(200, description="Where the upload stands (no body): resume from "
              "Upload-Offset", headers=OFFSET_HEADERS)
@blp.doc(parameters=[TUS_RESUMABLE])
@may_answer("rate_limited", "tus_version_unsupported", "upload_not_found")
def upload_offset(upload_id: uuid.UUID):
    """tus HEAD: the offset to resume one's upload from"""
    state = photos.get_upload(ctx.session(), photo_store(), ctx.current_actor(), upload_id)
    return Response(status=200, headers=_state_headers(state))


@blp.route("/<uuid:upload_id>", methods=["PATCH"])
@blp.response(204, description="Chunk stored; the photo is available once Upload-Offset "
              "equals its size", headers=OFFSET_HEADERS)
@blp.doc(requestBody=CHUNK_BODY, parameters=[
    TUS_RESUMABLE, _header("Upload-Offset", "The byte this chunk starts at: the offset the "
                           "server last reported", 0, schema={"type": "integer", "minimum": 0}),
    _header("Upload-Checksum", "'sha256 <base64 digest>' (or sha1) of this chunk; a mismatch "
            "is 460 and nothing of the chunk is kept",
            "sha256 n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", required=False)])
@may_answer("tus_version_unsupported", "tus_header_invalid", "chunk_type_unsupported",
             "checksum_algorithm_unsupported", "checksum_mismatch", "permission_denied",
             "upload_not_found", "offset_mismatch", "upload_exceeds_size",
             "photo_type_unsupported", "photo_hash_mismatch", "rate_limited")
def append_chunk(upload_id: uuid.UUID):
    """tus PATCH: send the next chunk, from the offset the server holds"""
    tus.check_chunk_type(request.content_type)
    offset = tus.parse_length(request.headers.get("Upload-Offset"), name="Upload-Offset")
    checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
    # Photos have their own limit (GRID_PHOTO_MAX_MB), enforced by the service with its own
    # code, so Flask's MAX_CONTENT_LENGTH must not cut the stream first. The store never reads
    # more than the upload's rest plus one byte, and werkzeug stops at Content-Length.
    request.max_content_length = None
    state = photos.append_chunk(
        ctx.session(), photo_store(), ctx.current_actor(), upload_id=upload_id, offset=offset,
        data=request.stream, length=request.content_length, limits=photo_limits(),
        now=ctx.request_now(), checksum=checksum)
    return Response(status=204, headers=_state_headers(state))


@blp.route("/<uuid:upload_id>", methods=["DELETE"])
@blp.response(204, description="The upload and its bytes are gone (a stored photo stays); "
              "later requests on it are 404", headers=ANSWER_HEADERS)
@blp.doc(parameters=[TUS_RESUMABLE])
@may_answer("rate_limited", "tus_version_unsupported", "upload_not_found")
def terminate_upload(upload_id: uuid.UUID):
    """tus termination: abandon one's upload"""
    photos.terminate_upload(ctx.session(), photo_store(), ctx.current_actor(), upload_id)
    return Response(status=204)
