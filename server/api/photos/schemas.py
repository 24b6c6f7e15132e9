"""Photo input and output schemas: starting an upload, the offset header, status, links."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from server.api.schemas import StrictSchema
from sync.photo_rules import PhotoStatus, PhotoSubject


class UploadStartSchema(StrictSchema):
    size = fields.Integer(required=True, validate=validate.Range(min=1),
                          metadata={"description": "The whole photo's length in bytes"})
    content_type = fields.String(
        required=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "image/jpeg, image/png, image/webp or image/heic; the bytes "
                                 "are checked on arrival and decide the stored type"})


class UploadOffsetHeaderSchema(ma.Schema):
    """The tus-style header naming where a chunk starts."""

    class Meta:
        # Headers carry much besides ours (Authorization, Content-Type...): ignore the rest.
        unknown = ma.EXCLUDE

    upload_offset = fields.Integer(
        required=True, data_key="Upload-Offset", validate=validate.Range(min=0),
        metadata={"description": "The byte this chunk starts at: the offset the server "
                                 "last reported"})


class UploadSchema(ma.Schema):
    upload_id = fields.UUID(dump_only=True, allow_none=True,
                            metadata={"description": "null when the photo is already stored"})
    sha256 = fields.String(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
    offset = fields.Integer(dump_only=True, metadata={
        "description": "Bytes the server holds: send the next chunk from here"})
    size = fields.Integer(dump_only=True)
    content_type = fields.String(dump_only=True)


class OwnUploadSchema(ma.Schema):
    upload_id = fields.UUID(dump_only=True)
    offset = fields.Integer(dump_only=True)
    size = fields.Integer(dump_only=True)


class PhotoSchema(ma.Schema):
    sha256 = fields.String(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
    size = fields.Integer(dump_only=True, allow_none=True)
    content_type = fields.String(dump_only=True, allow_none=True)
    stored_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    upload = fields.Nested(OwnUploadSchema, dump_only=True, allow_none=True, metadata={
        "description": "Your own unfinished upload of this photo, to resume it"})


class LinkQuerySchema(StrictSchema):
    subject_type = fields.Enum(PhotoSubject, by_value=True, required=True)
    subject_id = fields.UUID(required=True)


class PhotoLinkSchema(ma.Schema):
    id = fields.UUID(dump_only=True)
    sha256 = fields.String(dump_only=True)
    subject_type = fields.Enum(PhotoSubject, by_value=True, dump_only=True)
    subject_id = fields.UUID(dump_only=True)
    linked_by_user_id = fields.UUID(dump_only=True)
    linked_at = fields.AwareDateTime(dump_only=True)
    status = fields.Enum(PhotoStatus, by_value=True, dump_only=True)
