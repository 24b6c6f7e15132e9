"""Where photo bytes live: a small interface, and the local-disk store used by default.

An object store (S3, OSS, MinIO) can implement ``PhotoStore`` too: partial blobs map to
multipart uploads, ``commit`` to completing one under the hash after checking it.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sync.photo_rules import SHA256_PATTERN

COPY_BUFFER = 64 * 1024
_KEY = re.compile(r"[A-Za-z0-9_-]{1,80}")


class ChunkTooLarge(Exception):  # noqa: N818 - the condition, like the domain errors
    """The stream held more bytes than allowed; nothing of it was kept."""


class PhotoStore(Protocol):
    """Blobs named by their SHA-256, and partial blobs (named by an upload key) being filled.

    The store, not the database, knows how many bytes of a partial blob it holds: that is
    the offset a phone resumes from, so bytes that arrived before a connection broke count.
    """

    def append(self, key: str, offset: int, data: BinaryIO, *, limit: int) -> int:
        """Write ``data`` into partial ``key`` from ``offset`` on, cutting what lay beyond.

        Reads at most ``limit`` bytes; a stream holding more raises ``ChunkTooLarge`` and
        the partial is cut back to ``offset``. If the stream breaks off, what arrived is
        kept and the error propagates. Returns the partial's new length.
        """
        ...

    def partial_size(self, key: str) -> int:
        """Bytes held for ``key``; 0 when there is no partial."""
        ...

    def read_partial(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes of partial ``key``."""
        ...

    def commit(self, key: str, sha256: str) -> bool:
        """Make partial ``key`` the blob ``sha256`` if its bytes really hash to it.

        On a mismatch the partial is deleted and False returned. Committing a blob that is
        already there just drops the partial (same hash, same bytes).
        """
        ...

    def delete_partial(self, key: str) -> None: ...

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO:
        """The blob for reading; the caller closes it."""
        ...


class HashingReader:
    """A stream that hashes what is read from it (to check a chunk against its checksum)."""

    def __init__(self, data: BinaryIO, digest: Any) -> None:  # noqa: ANN401 - a hashlib object
        self.data, self.digest = data, digest

    def read(self, size: int = -1) -> bytes:
        block = self.data.read(size)
        self.digest.update(block)
        return block


class LocalDiskStore:
    """Files under ``root``: ``blobs/ab/abcdef…`` and ``partial/<key>``, on one file system so
    that a verified partial becomes a blob by an atomic rename: a blob is never half-written.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _partial(self, key: str) -> Path:
        if not _KEY.fullmatch(key):  # keys come from our own ids; never let one escape the root
            raise ValueError(f"bad partial key {key!r}")
        return self.root / "partial" / key

    def _blob(self, sha256: str) -> Path:
        if not SHA256_PATTERN.fullmatch(sha256):
            raise ValueError(f"bad sha256 {sha256!r}")
        sha256 = sha256.lower()
        return self.root / "blobs" / sha256[:2] / sha256

    def append(self, key: str, offset: int, data: BinaryIO, *, limit: int) -> int:
        path = self._partial(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "w+b") as out:
            out.truncate(offset)
            out.seek(offset)
            written = 0
            try:
                while written <= limit:
                    # One byte past the limit tells an over-long stream from an exact one.
                    block = data.read(min(COPY_BUFFER, limit + 1 - written))
                    if not block:
                        break
                    out.write(block)
                    written += len(block)
            finally:
                out.flush()
            if written > limit:
                out.truncate(offset)
                raise ChunkTooLarge()
            return out.tell()

    def partial_size(self, key: str) -> int:
        try:
            return self._partial(key).stat().st_size
        except FileNotFoundError:
            return 0

    def read_partial(self, key: str, length: int) -> bytes:
        try:
            with open(self._partial(key), "rb") as f:
                return f.read(length)
        except FileNotFoundError:
            return b""

    def commit(self, key: str, sha256: str) -> bool:
        partial = self._partial(key)
        digest = hashlib.sha256()
        with open(partial, "rb") as f:
            while block := f.read(COPY_BUFFER):
                digest.update(block)
            os.fsync(f.fileno())
        if digest.hexdigest() != sha256.lower():
            partial.unlink(missing_ok=True)
            return False
        blob = self._blob(sha256)
        if blob.exists():
            partial.unlink(missing_ok=True)
            return True
        blob.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, blob)
        _fsync_dir(blob.parent)
        return True

    def delete_partial(self, key: str) -> None:
        self._partial(key).unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self._blob(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return open(self._blob(sha256), "rb")  # noqa: SIM115 - the caller closes it


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable; without it a crash can forget the new name."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
