"""Every stable error ``code`` the API may answer, with its HTTP status.

The domain raises its codes where the condition is known (``server/core/errors.py`` and the
services); this table only lets the OpenAPI document list them per operation
(``server/api/openapi.py``). ``tests/unit/test_error_codes.py`` keeps it complete: a code
raised anywhere in server/ or sync/ and missing here fails it. A code answered with two
statuses (e.g. ``unknown_unit``: 404 for a path, 422 for a body field) is listed with its usual
one; ``may_answer("unknown_unit:404")`` names the other.
"""

from __future__ import annotations

from server.errors import MESSAGE_BY_STATUS

STATUS_BY_CODE: dict[str, int] = {
    # 400
    "bad_request": 400,
    "checksum_algorithm_unsupported": 400,  # tus (sync/tus_rules.py)
    "json_too_deep": 400,
    "tus_header_invalid": 400,
    # Open311 (its own error shape, docs/open311.md): invalid input answers 400 there.
    "date_range_invalid": 400,
    "location_required": 400,
    "unknown_subcategory": 400,
    # 401
    "invalid_credentials": 401,
    "invalid_token": 401,
    "unauthenticated": 401,
    # 403
    "city_platform_district_only": 403,
    "device_token_required": 403,
    "district_only": 403,
    "invalid_api_key": 403,
    "lead_unit_decision": 403,
    "not_caller": 403,
    "not_lead_unit": 403,
    "not_named_department": 403,
    "not_reviewing_community": 403,
    "not_supervisor": 403,
    "outside_territory": 403,
    "own_department": 403,
    "permission_denied": 403,
    "self_approval": 403,
    "settings_not_editable": 403,
    "sync_not_for_role": 403,
    # 404
    "case_not_found": 404,
    "deadline_not_found": 404,
    "district_not_found": 404,
    "grid_not_found": 404,
    "not_found": 404,
    "notification_not_found": 404,
    "person_not_found": 404,
    "photo_not_found": 404,
    "photo_not_uploaded": 404,
    "posting_not_found": 404,
    "sign_in_lock_not_found": 404,
    "token_not_found": 404,
    "township_not_found": 404,
    "tracked_problem_not_found": 404,
    "unit_not_found": 404,
    "unknown_open311_key": 404,
    "unknown_service": 404,
    "unknown_service_request": 404,
    "unknown_token": 404,
    "upload_not_found": 404,
    "user_not_found": 404,
    "whistle_call_not_found": 404,
    # 405
    "method_not_allowed": 405,
    # 409
    "already_marked": 409,
    "already_rated": 409,
    "case_moved_on": 409,
    "case_not_returnable": 409,
    "check_id_taken": 409,
    "community_has_grids": 409,
    "conflict": 409,
    "deadline_already_open": 409,
    "duplicate_city_order": 409,
    "duplicate_unit_code": 409,
    "duplicate_username": 409,
    "first_receiver_keeps_case": 409,
    "grid_already_retired": 409,
    "grid_retired": 409,
    "idempotency_key_reused": 409,
    "illegal_transition": 409,
    "offset_mismatch": 409,
    "own_admin_role": 409,
    "posting_already_ended": 409,
    "posting_overlaps": 409,
    "sequence_reused": 409,
    "stale_version": 409,
    # 412
    "precondition_failed": 412,
    # 413
    "import_too_many_vertices": 413,
    "payload_too_large": 413,
    "photo_too_large": 413,
    "too_many_fixes": 413,
    "too_many_track_fixes": 413,
    "too_many_operations": 413,
    "too_many_postings": 413,
    "upload_exceeds_size": 413,
    # 412
    "tus_version_unsupported": 412,
    # 415
    "chunk_type_unsupported": 415,
    "photo_type_unsupported": 415,
    "unsupported_media_type": 415,
    # 422
    "boundary_import_rejected": 422,
    "boundary_invalid": 422,
    "catalogue_file_empty": 422,
    "catalogue_import_rejected": 422,
    "city_order_number_not_allowed": 422,
    "coordinates_outside_china": 422,
    "deadline_extension_invalid": 422,
    "deadline_window_invalid": 422,
    "extension_not_later": 422,
    "geojson_empty": 422,
    "geojson_invalid": 422,
    "geometry_too_many_vertices": 422,
    "grid_import_rejected": 422,
    "grids_not_postable": 422,
    "invalid": 422,
    "invalid_arguments": 422,
    "invalid_cursor": 422,
    "invalid_master": 422,
    "invalid_period": 422,
    "too_many_people": 422,
    "invalid_settings": 422,
    "invalid_sha256": 422,
    "invalid_text": 422,
    "judgement_invalid": 422,
    "location_incomplete": 422,
    "master_closed": 422,
    "not_a_grid_worker": 422,
    "outside_served_area": 422,
    "outside_township": 422,
    "overdue_grace_invalid": 422,
    "password_too_short": 422,
    "photo_hash_mismatch": 422,
    "photo_subject_unsupported": 422,
    "posting_end_invalid": 422,
    "posting_import_rejected": 422,
    "posting_invalid": 422,
    "postings_file_empty": 422,
    "rated_at_invalid": 422,
    "reminder_fractions_invalid": 422,
    "roles_required": 422,
    "staff_not_postable": 422,
    "too_many_features": 422,
    "too_many_items": 422,
    "too_many_points": 422,
    "too_many_units": 422,
    "unit_has_no_territory": 422,
    "unit_import_rejected": 422,
    "unit_not_evaluated": 422,
    "unit_not_mappable": 422,
    "unit_parent_not_allowed": 422,
    "unit_parent_cycle": 422,
    "unknown_case": 422,
    "unknown_category": 422,
    "unknown_community": 422,
    "unknown_department": 422,
    "unknown_operation": 422,
    "unknown_unit": 422,
    "validation_failed": 422,
    # 428
    "precondition_required": 428,
    # 429 (with Retry-After)
    "rate_limited": 429,
    "sign_in_locked": 429,
    "sign_in_throttled": 429,
    # 500
    "internal_error": 500,
    # 460 (tus checksum extension)
    "checksum_mismatch": 460,
}

# Codes answered with a second status somewhere (see the module docstring).
OTHER_STATUSES: dict[str, tuple[int, ...]] = {
    "grid_not_found": (422,), "invalid_sha256": (400,), "unknown_category": (404,),
    "unknown_unit": (404,)}
# Where the status's generic message would mislead (412 is If-Match's elsewhere).
EXAMPLE_MESSAGE_BY_CODE = {
    "tus_version_unsupported": "Send 'Tus-Resumable: 1.0.0' with every request but OPTIONS.",
    "checksum_mismatch": "The chunk does not match its Upload-Checksum; nothing of it was kept.",
}

GENERIC_MESSAGE_BY_STATUS = {
    **MESSAGE_BY_STATUS,
    400: "The request could not be read.",
    401: "Sign in first: send 'Authorization: Bearer <token>'.",
    403: "Your role does not allow this.",
    409: "The request conflicts with the current state.",
    412: "The object changed since you read it.",
    415: "This type is not accepted here.",
    428: "Send If-Match with the version you read.",
    429: "Too many requests; wait as Retry-After says and try again.",
}


def parse(code: str) -> tuple[str, int]:
    """``code`` or ``code:status`` → (code, status)."""
    name, _, status = code.partition(":")
    if name not in STATUS_BY_CODE:
        raise KeyError(name)
    if not status:
        return name, STATUS_BY_CODE[name]
    if int(status) not in (STATUS_BY_CODE[name], *OTHER_STATUSES.get(name, ())):
        raise KeyError(code)
    return name, int(status)


def message_for(code: str) -> str:
    """An example message (the real one names the object and is in the reader's language)."""
    if code in EXAMPLE_MESSAGE_BY_CODE:
        return EXAMPLE_MESSAGE_BY_CODE[code]
    return GENERIC_MESSAGE_BY_STATUS.get(STATUS_BY_CODE[code], code.replace("_", " "))
