"""Photo input and output schemas: starting an upload, the offset header, status, links."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from sync.photo_rules import PhotoStatus, PhotoSubject


class UploadStartSchema(StrictSchema):
    EXAMPLE = {"size": 245760, "content_type": "image/jpeg"}

    size = fields.Integer(required=True, validate=validate.Range(min=1),
                          metadata={"description": "The whole photo's length in bytes"})
    content_type = fields.String(
        required=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "image/jpeg, image/png, image/webp or image/heic; the bytes "
                                 "are checked on arrival and decide the stored type"})


class UploadOffsetHeaderSchema(ma.Schema):
    """The tus-style header naming where a chunk starts."""

    EXAMPLE = {"Upload-Offset": 1}

    class Meta:
        # Headers carry much besides ours (Authorization, Content-Type...): ignore the rest.
        unknown = ma.EXCLUDE

    upload_offset = fields.Integer(
        required=True, data_key="Upload-Offset", validate=validate.Range(min=0),
        metadata={"description": "The byte this chunk starts at: the offset the server "
                                 "last reported"})


class UploadSchema(ma.Schema):
    EXAMPLE = {
        "upload_id": "754ed5d8-ba2f-5de5-925e-9cab30e68e6b",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "status": "missing",
        "offset": 0,
        "size": 245760,
        "content_type": "image/jpeg",
    }

    upload_id = fields.UUID(dump_only=True, allow_none=True,
                            metadata={"description": "null when the photo is already stored"})
    sha256 = fields.String(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
    offset = fields.Integer(dump_only=True, metadata={
        "description": "Bytes the server holds: send the next chunk from here"})
    size = fields.Integer(dump_only=True)
    content_type = fields.String(dump_only=True)


class OwnUploadSchema(ma.Schema):
    EXAMPLE = {"upload_id": "754ed5d8-ba2f-5de5-925e-9cab30e68e6b", "offset": 0, "size": 245760}

    upload_id = fields.UUID(dump_only=True)
    offset = fields.Integer(dump_only=True)
    size = fields.Integer(dump_only=True)


class PhotoSchema(ma.Schema):
    EXAMPLE = {
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "status": "missing",
        "size": 245760,
        "content_type": "image/jpeg",
        "stored_at": "2026-11-05T01:30:00+00:00",
        "upload": {
            "upload_id": "754ed5d8-ba2f-5de5-925e-9cab30e68e6b",
            "offset": 0,
            "size": 245760,
        },
    }

    sha256 = fields.String(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
    size = fields.Integer(dump_only=True, allow_none=True)
    content_type = fields.String(dump_only=True, allow_none=True)
    stored_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    upload = fields.Nested(OwnUploadSchema, dump_only=True, allow_none=True, metadata={
        "description": "Your own unfinished upload of this photo, to resume it"})


class LinkQuerySchema(StrictSchema):
    EXAMPLE = {"subject_type": "case", "subject_id": "367d0a93-0a75-5089-a393-0487a3bba33c"}

    subject_type = fields.Enum(PhotoSubject, by_value=True, required=True)
    subject_id = fields.UUID(required=True)


class PhotoLinkSchema(ma.Schema):
    EXAMPLE = {
        "id": "a7fec381-3d95-5e05-8e19-842a1a7489d9",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "subject_type": "case",
        "subject_id": "367d0a93-0a75-5089-a393-0487a3bba33c",
        "linked_by_user_id": "46aa7cd4-5737-58d1-98a4-ab0006011de0",
        "linked_at": "2026-11-05T01:30:00+00:00",
        "status": "missing",
    }

    id = fields.UUID(dump_only=True)
    sha256 = fields.String(dump_only=True)
    subject_type = fields.Enum(PhotoSubject, by_value=True, dump_only=True)
    subject_id = fields.UUID(dump_only=True)
    linked_by_user_id = fields.UUID(dump_only=True)
    linked_at = fields.AwareDateTime(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
