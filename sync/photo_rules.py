"""Photo rules, pure: hash format, types by magic bytes, size limits, upload offsets, status.

Photos are content-addressed: a photo's name is the SHA-256 of its bytes, so a phone can
refer to it offline before it is uploaded, and the same photo sent twice is stored once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from server.cases.rules import DISPATCHER_ROLES, HANDLER_ROLES
from server.core.errors import Conflict, Invalid, TooLarge

# Who may upload: the people who handle or receive cases. Admins manage, auditors only read.
UPLOAD_ROLES = HANDLER_ROLES | DISPATCHER_ROLES

SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
# Enough leading bytes to tell every accepted type apart (RIFF....WEBP, ....ftypheic).
SNIFF_BYTES = 12


class PhotoType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    HEIC = "image/heic"


class PhotoStatus(StrEnum):
    MISSING = "missing"  # nothing received: an operation may already link it
    PARTIAL = "partial"  # a resumable upload has started and not finished
    AVAILABLE = "available"  # stored and verified


class PhotoSubject(StrEnum):
    """What a photo can be linked to; each kind says, in sync.photos, who may see it."""

    CASE = "case"
    WHISTLE_CALL = "whistle_call"  # the call's own photos and its joint-action records'


# HEIF brands an iPhone or Android camera writes for HEIC stills (ISO/IEC 23008-12).
HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


class PhotoTypeUnsupported(Invalid):
    """The bytes are not one of the accepted image types, whatever the Content-Type said."""

    code = "photo_type_unsupported"


class PhotoTooLarge(TooLarge):
    code = "photo_too_large"


class PhotoHashMismatch(Invalid):
    code = "photo_hash_mismatch"
    message = ("The bytes received do not have the SHA-256 you named; nothing was kept. "
               "Compute the hash of the file again and upload it from the start.")


class OffsetMismatch(Conflict):
    """A chunk sent for the wrong place; ``details`` carries the offset to resume from."""

    code = "offset_mismatch"


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    types: frozenset[PhotoType]


def parse_sha256(text: str) -> str:
    """The hash in its one spelling (lower-case hex); anything else is refused."""
    if not SHA256_PATTERN.fullmatch(text):
        raise Invalid.for_field(
            "sha256", "A photo is named by its SHA-256: 64 hexadecimal digits.",
            location="path", code="invalid_sha256")
    return text.lower()


def sniff_type(head: bytes) -> PhotoType | None:
    """The image type the first bytes show, or None. The client's Content-Type is not trusted."""
    if head.startswith(b"\xff\xd8\xff"):
        return PhotoType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PhotoType.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return PhotoType.WEBP
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return PhotoType.HEIC
    return None


def check_declared_type(content_type: str | None, limits: PhotoLimits) -> PhotoType:
    """The declared type must be an accepted one; the bytes are checked again on arrival."""
    try:
        declared = PhotoType((content_type or "").strip().lower())
    except ValueError:
        declared = None
    if declared is None or declared not in limits.types:
        raise PhotoTypeUnsupported(_types_message(content_type or "no type", limits))
    return declared


def check_content_type(head: bytes, limits: PhotoLimits) -> PhotoType:
    """The type the bytes really have; a photo whose bytes are no accepted image is refused.

    The declared Content-Type is not believed: phones mislabel HEIC as JPEG, and a renamed
    file is no photo. The stored type is the one the magic bytes show.
    """
    found = sniff_type(head)
    if found is None or found not in limits.types:
        raise PhotoTypeUnsupported(_types_message(
            found.value if found else "bytes of no accepted image type", limits))
    return found


def _types_message(what: str, limits: PhotoLimits) -> str:
    accepted = ", ".join(sorted(t.value for t in limits.types))
    return f"This is not a photo we accept ({what}); send one of: {accepted}."


def check_size(size: int | None, limits: PhotoLimits) -> None:
    """A declared size (or Content-Length) above the limit is refused before any byte is read."""
    if size is not None and size > limits.max_bytes:
        raise photo_too_large(limits, size)


def photo_too_large(limits: PhotoLimits, size: int | None = None) -> PhotoTooLarge:
    said = f"This photo is {size} bytes" if size is not None else "This photo is too large"
    return PhotoTooLarge(
        f"{said}; the largest accepted is {limits.max_bytes} bytes "
        f"({limits.max_bytes / 1024 / 1024:g} MB). Resize it on the phone.")


def check_offset(*, sent: int, current: int, upload_id: str) -> None:
    """A chunk must start where the server's copy ends: the phone resumes from ``current``."""
    if sent != current:
        raise OffsetMismatch(
            f"This chunk starts at byte {sent}, but the server holds {current} bytes of this "
            f"upload; send from byte {current}.",
            details=[{"upload_id": upload_id, "offset": current}])


def chunk_overrun(*, offset: int, size: int, length: int | None = None) -> TooLarge:
    """The error for a chunk that runs past the size declared when the upload started."""
    what = f"This chunk ({length} bytes from byte {offset})" if length is not None else (
        f"This chunk (from byte {offset})")
    return TooLarge(f"{what} goes past the size declared for the upload ({size} bytes).",
                    code="upload_exceeds_size")


def status_of(*, stored: bool, uploading: bool) -> PhotoStatus:
    if stored:
        return PhotoStatus.AVAILABLE
    return PhotoStatus.PARTIAL if uploading else PhotoStatus.MISSING
