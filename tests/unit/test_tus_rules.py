"""The tus 1.0 header rules, without HTTP."""

from __future__ import annotations

import base64
import hashlib

import pytest

from sync import tus_rules as tus


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_only_version_1_0_0_is_spoken():
    tus.check_version("1.0.0")
    tus.check_version(" 1.0.0 ")
    for other in (None, "", "1.0", "0.2.2", "1.0.0,0.2.2"):
        with pytest.raises(tus.TusVersionUnsupported) as raised:
            tus.check_version(other)
        assert raised.value.status == 412


def test_lengths_are_non_negative_integers_and_a_photo_has_a_byte():
    assert tus.parse_length("0", name="Upload-Offset") == 0
    assert tus.parse_creation_length("2483011", None) == 2483011
    for bad in (None, "", "-1", "1.5", "1e3", "٣", " "):
        with pytest.raises(tus.TusError) as raised:
            tus.parse_creation_length(bad, None)
        assert raised.value.status == 400
        assert "Upload-Length" in raised.value.errors["headers"]
    with pytest.raises(tus.TusError):
        tus.parse_creation_length("0", None)
    with pytest.raises(tus.TusError) as raised:
        tus.parse_creation_length(None, "1")
    assert "Upload-Defer-Length" in raised.value.errors["headers"]


def test_metadata_is_key_space_base64_pairs_and_a_key_may_stand_alone():
    header = f"sha256 {b64('ab' * 32)}, filetype {b64('image/heic')},is_confidential"
    assert tus.parse_metadata(header) == {
        "sha256": "ab" * 32, "filetype": "image/heic", "is_confidential": ""}
    assert tus.parse_metadata(None) == {}
    assert tus.parse_metadata(f"filename {b64('照片.jpg')}") == {"filename": "照片.jpg"}
    for bad in ("sha256 !!!", f"a {b64('x')},a {b64('y')}", f"a {b64('x')} {b64('y')}",
                "a " + base64.b64encode(b"\xff").decode()):
        with pytest.raises(tus.TusError) as raised:
            tus.parse_metadata(bad)
        assert raised.value.code == "tus_header_invalid", bad


def test_a_photo_is_named_by_its_sha256_in_the_metadata():
    assert tus.photo_metadata({"sha256": "AB" * 32, "filetype": "image/png"}) == (
        "ab" * 32, "image/png")
    assert tus.photo_metadata({"sha256": "ab" * 32}) == ("ab" * 32, None)
    for bad in ({}, {"sha256": ""}, {"sha256": "ab" * 31}, {"sha256": "zz" * 32}):
        with pytest.raises(tus.TusError) as raised:
            tus.photo_metadata(bad)
        assert (raised.value.code, raised.value.status) == ("invalid_sha256", 400)


def test_a_chunk_is_offset_octet_stream():
    tus.check_chunk_type("application/offset+octet-stream")
    tus.check_chunk_type("Application/Offset+Octet-Stream; charset=binary")
    for bad in (None, "application/octet-stream", "image/jpeg"):
        with pytest.raises(tus.ChunkTypeUnsupported) as raised:
            tus.check_chunk_type(bad)
        assert raised.value.status == 415


def test_checksums_name_a_supported_algorithm_and_a_digest_of_its_size():
    digest = hashlib.sha256(b"chunk").digest()
    assert tus.parse_checksum(f"sha256 {base64.b64encode(digest).decode()}") == tus.Checksum(
        "sha256", digest)
    sha1 = hashlib.sha1(b"chunk").digest()  # noqa: S324 - tuspy's checksum, not security
    assert tus.parse_checksum(f"SHA1 {base64.b64encode(sha1).decode()}").digest == sha1
    assert tus.parse_checksum(None) is None
    with pytest.raises(tus.ChecksumUnsupported) as raised:
        tus.parse_checksum(f"md5 {base64.b64encode(b'x' * 16).decode()}")
    assert raised.value.status == 400
    for bad in ("sha256", "sha256 ***", f"sha256 {base64.b64encode(sha1).decode()}"):
        with pytest.raises(tus.TusError) as raised:
            tus.parse_checksum(bad)
        assert raised.value.code == "tus_header_invalid", bad
    assert tus.ChecksumMismatch().status == 460


def test_discovery_names_the_version_the_extensions_the_limit_and_the_algorithms():
    assert tus.discovery_headers(10 * 1024 * 1024) == {
        "Tus-Version": "1.0.0", "Tus-Extension": "creation,checksum,termination",
        "Tus-Max-Size": "10485760", "Tus-Checksum-Algorithm": "sha256,sha1"}
