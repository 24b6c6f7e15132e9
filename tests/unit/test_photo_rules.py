"""Photo rules without app or database: hashes, types by magic bytes, limits, offsets, status."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import config
from server.core.errors import Conflict, Invalid, TooLarge
from server.org.rules import Role
from sync.photo_rules import (
    SNIFF_BYTES,
    UPLOAD_ROLES,
    OffsetMismatch,
    PhotoLimits,
    PhotoStatus,
    PhotoTooLarge,
    PhotoType,
    PhotoTypeUnsupported,
    check_content_type,
    check_declared_type,
    check_offset,
    check_size,
    chunk_overrun,
    parse_sha256,
    sniff_type,
    status_of,
)

LIMITS = PhotoLimits(max_bytes=1000, types=frozenset(PhotoType))
HEADS = {
    PhotoType.JPEG: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01",
    PhotoType.PNG: b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d",
    PhotoType.WEBP: b"RIFF\x24\x00\x00\x00WEBP",
    PhotoType.HEIC: b"\x00\x00\x00\x18ftypheic",
}


@pytest.mark.parametrize(("kind", "head"), HEADS.items())
def test_each_accepted_type_is_recognised_by_its_first_bytes(kind, head):
    assert len(head) == SNIFF_BYTES
    assert sniff_type(head + b"rest of the file") is kind
    assert check_content_type(head, LIMITS) is kind


@pytest.mark.parametrize("head", [
    b"", b"\xff\xd8", b"GIF89a\x01\x00\x01\x00\x00\x00", b"%PDF-1.7\n%\xe2\xe3",
    b"RIFF\x24\x00\x00\x00WAVE", b"\x00\x00\x00\x18ftypavif", b"<svg xmlns=",
])
def test_other_bytes_are_no_accepted_photo_whatever_they_are_called(head):
    assert sniff_type(head) is None
    with pytest.raises(PhotoTypeUnsupported) as raised:
        check_content_type(head, LIMITS)
    assert raised.value.code == "photo_type_unsupported"


def test_a_type_the_operator_turned_off_is_refused_by_bytes_and_by_declaration():
    jpeg_only = PhotoLimits(max_bytes=1000, types=frozenset({PhotoType.JPEG}))
    with pytest.raises(PhotoTypeUnsupported, match="image/jpeg"):
        check_content_type(HEADS[PhotoType.PNG], jpeg_only)
    with pytest.raises(PhotoTypeUnsupported):
        check_declared_type("image/png", jpeg_only)
    assert check_declared_type(" Image/JPEG ", jpeg_only) is PhotoType.JPEG
    for declared in (None, "", "image/gif", "application/octet-stream"):
        with pytest.raises(PhotoTypeUnsupported):
            check_declared_type(declared, LIMITS)


@given(st.binary(min_size=32, max_size=32))
def test_a_hash_has_one_spelling_lower_case_hex(digest):
    text = digest.hex()
    assert parse_sha256(text.upper()) == text == parse_sha256(text)


@pytest.mark.parametrize("text", ["", "abc", "0" * 63, "0" * 65, "g" * 64, " " + "0" * 63,
                                  "0" * 64 + "\n"])
def test_anything_but_64_hex_digits_is_no_hash(text):
    with pytest.raises(Invalid) as raised:
        parse_sha256(text)
    assert raised.value.code == "invalid_sha256"
    assert raised.value.errors == {"path": {"sha256": [raised.value.message]}}


def test_the_size_limit_is_inclusive_and_says_the_limit():
    check_size(1000, LIMITS)
    check_size(None, LIMITS)  # unknown length (chunked): the store counts instead
    with pytest.raises(PhotoTooLarge, match="1000 bytes") as raised:
        check_size(1001, LIMITS)
    assert isinstance(raised.value, TooLarge)
    assert raised.value.code == "photo_too_large"


def test_a_chunk_must_start_where_the_server_copy_ends():
    check_offset(sent=500, current=500, upload_id="u")
    with pytest.raises(OffsetMismatch) as raised:
        check_offset(sent=0, current=500, upload_id="u")
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "offset_mismatch"
    assert raised.value.details == [{"upload_id": "u", "offset": 500}]
    overrun = chunk_overrun(offset=900, size=1000, length=200)
    assert overrun.code == "upload_exceeds_size"
    assert "1000 bytes" in overrun.message


def test_status_follows_what_is_stored_and_what_is_under_way():
    assert status_of(stored=False, uploading=False) == "missing"
    assert status_of(stored=False, uploading=True) is PhotoStatus.PARTIAL
    assert status_of(stored=True, uploading=True) is PhotoStatus.AVAILABLE


def test_people_who_handle_or_receive_cases_may_upload_admins_and_auditors_may_not():
    assert Role.GRID_WORKER in UPLOAD_ROLES
    assert Role.DEPARTMENT_STAFF in UPLOAD_ROLES
    assert Role.DISTRICT_DISPATCHER in UPLOAD_ROLES
    assert Role.ADMIN not in UPLOAD_ROLES
    assert Role.AUDITOR not in UPLOAD_ROLES


def test_the_settings_offer_exactly_the_types_the_rules_recognise():
    assert set(config.PHOTO_TYPE_CHOICES) == {t.value for t in PhotoType}
    assert config.Config.PHOTO_MAX_BYTES == 10 * 1024 * 1024
