"""The tus 1.0 header rules, pure: versions, Upload-Length, Upload-Metadata, Upload-Offset,
Upload-Checksum (https://tus.io/protocols/resumable-upload).

tus prescribes its own statuses (400 for a bad header, 412 for a version it does not speak,
460 for a chunk whose checksum does not match), so these errors carry their status and the
HTTP layer answers it in the one error shape.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.core import text as chars
from server.core.errors import DomainError
from sync.photo_rules import SHA256_PATTERN

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "checksum", "termination")
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
# sha256 is the photos' own hash; sha1 is what tuspy sends when asked for checksums.
CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256, "sha1": hashlib.sha1}
# The metadata a photo's creation carries: its name (the SHA-256 of its bytes) and the type the
# phone believes it has (``filetype``, the key tus-js-client's and Uppy's examples use).
META_SHA256 = "sha256"
META_TYPE = "filetype"


class TusError(DomainError):
    """A request tus itself refuses; ``status`` is the one the protocol prescribes."""

    status = 400
    code = "tus_header_invalid"


class TusVersionUnsupported(TusError):
    status = 412
    code = "tus_version_unsupported"
    message = (f"This server speaks tus {TUS_VERSION}: send 'Tus-Resumable: {TUS_VERSION}' "
               "with every request but OPTIONS.")


class ChunkTypeUnsupported(TusError):
    status = 415
    code = "chunk_type_unsupported"
    message = f"A chunk is sent as Content-Type: {CHUNK_CONTENT_TYPE}."


class ChecksumUnsupported(TusError):
    code = "checksum_algorithm_unsupported"


class ChecksumMismatch(TusError):
    status = 460
    code = "checksum_mismatch"
    message = ("The chunk's bytes do not have the checksum named in Upload-Checksum; nothing of "
               "it was kept. Send it again from the same offset.")


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def new_hash(self) -> Any:  # noqa: ANN401 - a hashlib object
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def check_version(header: str | None) -> None:
    """Every request but OPTIONS names the version; a missing or other one is 412."""
    if (header or "").strip() != TUS_VERSION:
        raise TusVersionUnsupported()


def _header_error(header: str, message: str, code: str = "tus_header_invalid") -> TusError:
    return TusError(message, code=code, errors={"headers": {header: [message]}})


def parse_length(header: str | None, *, name: str = "Upload-Length") -> int:
    """A non-negative integer header (Upload-Length, Upload-Offset)."""
    text = (header or "").strip()
    if not text.isdigit() or not text.isascii():
        raise _header_error(name, f"{name} must be a non-negative integer.")
    return int(text)


def parse_creation_length(length: str | None, defer: str | None) -> int:
    """The declared size; deferring it is not offered (a phone knows its photo's size)."""
    if defer is not None:
        raise _header_error("Upload-Defer-Length", "Deferred lengths are not supported: send "
                            "Upload-Length, the photo's size in bytes.")
    size = parse_length(length)
    if size == 0:
        raise _header_error("Upload-Length", "A photo has at least one byte.")
    return size


def parse_metadata(header: str | None) -> dict[str, str]:
    """``key base64value`` pairs separated by commas; a key alone has an empty value."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (header or "").split(","))):
        key, _, encoded = pair.partition(" ")
        if not key or key in found or " " in encoded.strip():
            raise _header_error("Upload-Metadata", f"Bad pair {pair[:40]!r}: each is a unique "
                                "key, a space and a base64 value, pairs separated by commas.")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _header_error("Upload-Metadata", f"The value of {key!r} is not base64 of "
                                "UTF-8 text.") from None
    for key, value in found.items():  # the same text rule as every field (server.core.text)
        char = chars.bad_char(key) or chars.bad_char(value)
        if char is not None:
            raise chars.invalid_text(chars.BadText(("Upload-Metadata", key.encode(
                "unicode_escape").decode()), char), location="headers")
    return found


def photo_metadata(metadata: dict[str, str]) -> tuple[str, str | None]:
    """``(sha256, declared type)`` from a creation's metadata; other keys are ignored."""
    sha256 = metadata.get(META_SHA256, "").strip()
    if not SHA256_PATTERN.fullmatch(sha256):
        raise _header_error("Upload-Metadata", "Name the photo: metadata 'sha256', the SHA-256 "
                            "of its bytes in hexadecimal (64 digits).", code="invalid_sha256")
    return sha256.lower(), metadata.get(META_TYPE)


def check_chunk_type(content_type: str | None) -> None:
    if (content_type or "").split(";")[0].strip().lower() != CHUNK_CONTENT_TYPE:
        raise ChunkTypeUnsupported()


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``, or None when the chunk has none."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise ChecksumUnsupported(
            f"Checksum algorithm {algorithm!r} is not supported; use one of: "
            f"{', '.join(CHECKSUM_ALGORITHMS)}.",
            errors={"headers": {"Upload-Checksum": ["unsupported algorithm"]}})
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    checksum = Checksum(algorithm.lower(), digest)
    if len(digest) != checksum.new_hash().digest_size:
        raise _header_error("Upload-Checksum", "The checksum is the algorithm's name, a space "
                            "and the base64 of its digest.")
    return checksum


def discovery_headers(max_bytes: int) -> dict[str, str]:
    """What OPTIONS tells a client about this server."""
    return {"Tus-Version": TUS_VERSION, "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Max-Size": str(max_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)}
