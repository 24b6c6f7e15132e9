"""Photo schemas: a tus creation's answer, status, links."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from server.api.schemas import StrictSchema
from sync.photo_rules import PhotoStatus, PhotoSubject


class UploadSchema(ma.Schema):
    """The body of a tus creation's answer (tus clients read only its headers)."""

    upload_id = fields.UUID(dump_only=True)
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
