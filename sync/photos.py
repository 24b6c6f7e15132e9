"""Photos: content-addressed, resumable, deduplicated uploads, and their links to cases.

A photo is named by the SHA-256 of its bytes. A phone links it to a case while offline (the
link works before the bytes arrive) and uploads it whenever it has a connection, with tus
1.0: in chunks it can resume after a cut. The bytes live in a ``PhotoStore``; these
tables say what is stored, what is being uploaded, and what each photo belongs to.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from server.auth.actor import Actor
from server.cases.models import Case
from server.cases.queries import visible_cases
from server.core.db import Base, UTCDateTime, str_enum
from server.core.errors import Invalid, NotFound
from server.core.i18n import gettext
from server.core.ids import new_id
from server.whistle.models import WhistleCall
from server.whistle.queries import visible_calls
from sync.photo_rules import (
    SNIFF_BYTES,
    UPLOAD_ROLES,
    PhotoHashMismatch,
    PhotoLimits,
    PhotoStatus,
    PhotoSubject,
    PhotoType,
    PhotoTypeUnsupported,
    check_content_type,
    check_declared_type,
    check_offset,
    check_size,
    chunk_overrun,
    parse_sha256,
    status_of,
)
from sync.storage import ChunkTooLarge, HashingReader, PhotoStore
from sync.tus_rules import Checksum, ChecksumMismatch

RowT = TypeVar("RowT", bound=Base)


class Photo(Base):
    """A stored, verified photo. Immutable: the same bytes always have the same name."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[PhotoType] = mapped_column(str_enum(PhotoType, 20))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The first to upload it; later uploaders of the same bytes are not recorded (dedupe).
    uploaded_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))


class PhotoUpload(Base):
    """One user's resumable upload of one photo. Kept after it finishes (``finished_at``) so a
    phone that lost the answer to its last chunk still learns that the upload is complete."""

    __tablename__ = "photo_uploads"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)  # as declared by the phone
    content_type: Mapped[PhotoType] = mapped_column(str_enum(PhotoType, 20))
    # Bytes held after the last chunk that completed; the store's own count is what a phone
    # resumes from, since it also counts bytes of a chunk whose connection broke.
    received: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("sha256", "user_id"),)

    @property
    def key(self) -> str:
        """The partial blob's name in the store."""
        return self.id.hex


class PhotoLink(Base):
    """A photo belongs to a subject (a case). No foreign key to ``photos``: a phone links a
    photo offline, and the bytes may arrive later."""

    __tablename__ = "photo_links"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[PhotoSubject] = mapped_column(str_enum(PhotoSubject, 20))
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    linked_by_user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("sha256", "subject_type", "subject_id"),
        sa.Index("ix_photo_links_subject", "subject_type", "subject_id"),
    )


# Who may see a subject, as a condition on its id: a photo is visible through any visible
# subject it is linked to. A new kind of subject (a whistle call, a patrol) adds a line here.
SubjectVisibility = Callable[[Session, Actor, sa.ColumnElement[uuid.UUID] | uuid.UUID],
                             sa.ColumnElement[bool]]
SUBJECT_VISIBILITY: dict[PhotoSubject, SubjectVisibility] = {
    PhotoSubject.CASE: lambda session, actor, subject_id: sa.exists().where(
        Case.id == subject_id, visible_cases(session, actor)),
    PhotoSubject.WHISTLE_CALL: lambda session, actor, subject_id: sa.exists().where(
        WhistleCall.id == subject_id, visible_calls(session, actor)),
}


@dataclass(frozen=True)
class UploadState:
    """Where an upload stands: ``offset`` is the next byte the server expects."""

    upload: PhotoUpload | None  # None when the photo was already stored (nothing to send)
    offset: int
    photo: Photo | None  # set once the photo is available
    created: bool = False

    @property
    def status(self) -> PhotoStatus:
        return PhotoStatus.AVAILABLE if self.photo is not None else PhotoStatus.PARTIAL


# ---------------------------------------------------------------- uploads

def create_upload(session: Session, store: PhotoStore, actor: Actor, *, sha256: str,
                  size: int, content_type: str | None, limits: PhotoLimits, now: datetime
                  ) -> UploadState:
    """Create this user's upload of a photo (tus creation); ``offset`` says what to send.

    A photo already stored (by anyone) needs no byte: the upload is created finished, its
    offset the photo's size, so a tus client is done (dedupe). Creating again an upload the
    user already has starts it over at 0, as tus means a creation to: a client resumes with
    HEAD on the URL it was given, not by creating.
    """
    actor.require(UPLOAD_ROLES, gettext("upload photos"))
    sha256 = parse_sha256(sha256)
    photo = session.get(Photo, sha256)
    if photo is None:
        check_size(size, limits)
        declared = check_declared_type(content_type, limits)
    else:
        size, declared = photo.size, photo.content_type
    mine = (PhotoUpload.sha256 == sha256, PhotoUpload.user_id == actor.user_id)
    upload = _lock_upload(session, *mine)
    if upload is None:
        upload, created = _insert_once(session, PhotoUpload(
            sha256=sha256, size=size, content_type=declared, received=0, user_id=actor.user_id,
            started_at=now, updated_at=now), *mine)
        if not created:  # a twin request inserted it first: take its row, locked
            upload = _lock_upload(session, *mine)
    store.delete_partial(upload.key)
    upload.size, upload.content_type, upload.started_at, upload.updated_at = (
        size, declared, now, now)
    if photo is not None:
        upload.received, upload.finished_at = size, now
        return UploadState(upload, size, photo, created=True)
    upload.received, upload.finished_at = 0, None
    return UploadState(upload, 0, None, created=True)


def get_upload(session: Session, store: PhotoStore, actor: Actor, upload_id: uuid.UUID
               ) -> UploadState:
    """Where one's upload stands (the phone asks after a cut connection)."""
    upload = _upload_for(session, actor, upload_id)
    photo = session.get(Photo, upload.sha256)
    return UploadState(upload, upload.size if photo else _offset(store, upload), photo)


def append_chunk(session: Session, store: PhotoStore, actor: Actor, *, upload_id: uuid.UUID,
                 offset: int, data: BinaryIO, length: int | None, limits: PhotoLimits,
                 now: datetime, checksum: Checksum | None = None) -> UploadState:
    """Add the bytes from ``offset`` on; the last byte finishes the upload.

    The row is locked, so a retried chunk racing its original waits and then finds the
    offset moved (409 with the offset to resume from). A chunk cut off midway keeps what
    arrived. The type is checked as soon as the first bytes are in, so a phone does not
    send megabytes of something that is no photo. With a ``checksum`` (tus Upload-Checksum)
    the chunk is kept only if it arrived whole and matches: else the partial is cut back to
    ``offset``.
    """
    actor.require(UPLOAD_ROLES, gettext("upload photos"))
    upload = _upload_for(session, actor, upload_id, lock=True)
    photo = session.get(Photo, upload.sha256)
    if photo is not None:
        if upload.finished_at is None:
            # Someone else's upload of the same bytes finished first: nothing more to send.
            store.delete_partial(upload.key)
            upload.received, upload.updated_at, upload.finished_at = upload.size, now, now
        # Also the answer to a retried last chunk whose first answer was lost.
        return UploadState(upload, upload.size, photo)
    check_offset(sent=offset, current=_offset(store, upload), upload_id=str(upload.id))
    if length is not None and offset + length > upload.size:
        raise chunk_overrun(offset=offset, size=upload.size, length=length)
    held = _append_checked(store, upload, offset, data, checksum)
    upload.received, upload.updated_at = held, now
    if offset < SNIFF_BYTES and (held >= SNIFF_BYTES or held == upload.size):
        _check_partial_type(store, upload, limits)
    if held < upload.size:
        return UploadState(upload, held, None)
    return UploadState(upload, held, finish(session, store, upload, limits=limits, now=now))


def _append_checked(store: PhotoStore, upload: PhotoUpload, offset: int, data: BinaryIO,
                    checksum: Checksum | None) -> int:
    """Append a chunk; one with a checksum is kept whole and matching, or not at all."""
    hashed = None if checksum is None else HashingReader(data, checksum.new_hash())
    try:
        held = store.append(upload.key, offset, hashed or data, limit=upload.size - offset)
    except ChunkTooLarge:
        raise chunk_overrun(offset=offset, size=upload.size) from None
    except Exception:
        if hashed is not None:  # a broken chunk cannot be verified: drop what came of it
            store.append(upload.key, offset, io.BytesIO(), limit=0)
        raise
    if hashed is not None and hashed.digest.digest() != checksum.digest:
        store.append(upload.key, offset, io.BytesIO(), limit=0)  # cut back to ``offset``
        raise ChecksumMismatch()
    return held


def terminate_upload(session: Session, store: PhotoStore, actor: Actor, upload_id: uuid.UUID
                     ) -> None:
    """Forget one's upload and its bytes (tus termination); a stored photo stays."""
    upload = _upload_for(session, actor, upload_id, lock=True)
    store.delete_partial(upload.key)
    session.delete(upload)


def finish(session: Session, store: PhotoStore, upload: PhotoUpload, *, limits: PhotoLimits,
           now: datetime) -> Photo:
    """Verify the complete upload and make it the stored photo.

    The client's hash is only a claim until the bytes hash to it: a mismatch discards them
    and the phone starts over from byte 0.
    """
    found = _check_partial_type(store, upload, limits)
    if not store.commit(upload.key, upload.sha256):
        raise PhotoHashMismatch()
    upload.finished_at = now
    photo, _ = _insert_once(session, Photo(
        sha256=upload.sha256, size=upload.size, content_type=found,
        uploaded_by_user_id=upload.user_id, stored_at=now), Photo.sha256 == upload.sha256)
    return photo


def prune_uploads(session: Session, store: PhotoStore, *, idle_before: datetime) -> int:
    """Forget uploads untouched since ``idle_before`` (abandoned, or finished long ago)."""
    stale = list(session.scalars(sa.select(PhotoUpload).where(
        PhotoUpload.updated_at < idle_before)))
    for upload in stale:
        store.delete_partial(upload.key)
        session.delete(upload)
    return len(stale)


def _offset(store: PhotoStore, upload: PhotoUpload) -> int:
    return min(store.partial_size(upload.key), upload.size)


def _check_partial_type(store: PhotoStore, upload: PhotoUpload, limits: PhotoLimits
                        ) -> PhotoType:
    try:
        return check_content_type(store.read_partial(upload.key, SNIFF_BYTES), limits)
    except PhotoTypeUnsupported:
        store.delete_partial(upload.key)
        raise


def _lock_upload(session: Session, *conditions: sa.ColumnElement[bool]) -> PhotoUpload | None:
    # FOR UPDATE serialises requests on one upload on PostgreSQL; SQLite serialises writers.
    return session.scalar(sa.select(PhotoUpload).where(*conditions).with_for_update()
                          .execution_options(populate_existing=True))


def _upload_for(session: Session, actor: Actor, upload_id: uuid.UUID, *, lock: bool = False
                ) -> PhotoUpload:
    conditions = (PhotoUpload.id == upload_id, PhotoUpload.user_id == actor.user_id)
    upload = (_lock_upload(session, *conditions) if lock
              else session.scalar(sa.select(PhotoUpload).where(*conditions)))
    if upload is None:
        raise NotFound("No such upload of yours; create one with POST /photos/uploads.",
                       code="upload_not_found")
    return upload


def _insert_once(session: Session, row: RowT, *match: sa.ColumnElement[bool]
                 ) -> tuple[RowT, bool]:
    """Insert ``row`` unless a concurrent request inserted its twin first; (row, created)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(sa.select(type(row)).where(*match))
        if existing is None:
            raise
        return existing, False
    return row, True


# ---------------------------------------------------------------- links and status

def link_photo(session: Session, *, sha256: str, subject_type: str, subject_id: uuid.UUID,
               user_id: uuid.UUID, now: datetime) -> PhotoLink:
    """Link a photo to a subject; the same link again changes nothing.

    Works whether or not the photo has arrived: its status becomes ``available`` when the
    upload completes. The caller has checked that the user may act on the subject.
    """
    sha256 = parse_sha256(sha256)
    try:
        kind = PhotoSubject(subject_type)
    except ValueError:
        raise Invalid.for_field(
            "subject_type", f"Photos can be linked to: {', '.join(PhotoSubject)}.",
            code="photo_subject_unsupported") from None
    match = (PhotoLink.sha256 == sha256, PhotoLink.subject_type == kind,
             PhotoLink.subject_id == subject_id)
    if (link := session.scalar(sa.select(PhotoLink).where(*match))) is not None:
        return link
    link, _ = _insert_once(session, PhotoLink(
        sha256=sha256, subject_type=kind, subject_id=subject_id, linked_by_user_id=user_id,
        linked_at=now), *match)
    return link


def link_photos(session: Session, sha256s: Iterable[str], *, subject_type: str,
                subject_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> None:
    """``link_photo`` for each distinct photo named (a record's list of photos)."""
    for sha256 in dict.fromkeys(s.lower() for s in sha256s):
        link_photo(session, sha256=sha256, subject_type=subject_type, subject_id=subject_id,
                   user_id=user_id, now=now)


def photo_status(session: Session, sha256: str) -> PhotoStatus:
    """``missing``, ``partial`` (an upload is under way) or ``available``."""
    return statuses(session, [sha256])[parse_sha256(sha256)]


def statuses(session: Session, sha256s: Iterable[str]) -> dict[str, PhotoStatus]:
    """The status of many photos in two queries (for lists and sync payloads)."""
    wanted = {parse_sha256(s) for s in sha256s}
    stored = set(session.scalars(sa.select(Photo.sha256).where(Photo.sha256.in_(wanted))))
    uploading = set(session.scalars(sa.select(PhotoUpload.sha256).where(
        PhotoUpload.sha256.in_(wanted - stored), PhotoUpload.finished_at.is_(None))))
    return {s: status_of(stored=s in stored, uploading=s in uploading) for s in wanted}


def links_for(session: Session, subject_type: str, subject_id: uuid.UUID) -> list[PhotoLink]:
    """The photos of one subject, in the order they were linked."""
    return list(session.scalars(sa.select(PhotoLink).where(
        PhotoLink.subject_type == PhotoSubject(subject_type), PhotoLink.subject_id == subject_id,
    ).order_by(PhotoLink.linked_at, PhotoLink.sha256)))


def visible_links_for(session: Session, actor: Actor, subject_type: PhotoSubject,
                      subject_id: uuid.UUID) -> list[PhotoLink]:
    """``links_for`` a subject the actor can see; any other subject is not found."""
    visible = SUBJECT_VISIBILITY[subject_type](session, actor, subject_id)
    if not session.scalar(sa.select(visible)):
        raise NotFound(f"No such {subject_type}.", code=f"{subject_type}_not_found")
    return links_for(session, subject_type, subject_id)


@dataclass(frozen=True)
class PhotoInfo:
    status: PhotoStatus
    photo: Photo | None
    own_upload: UploadState | None  # the actor's unfinished upload of it, to resume


def describe_photo(session: Session, store: PhotoStore, actor: Actor, sha256: str) -> PhotoInfo:
    """A photo's status, with the actor's own unfinished upload of it if there is one."""
    sha256 = parse_sha256(sha256)
    if (photo := session.get(Photo, sha256)) is not None:
        return PhotoInfo(PhotoStatus.AVAILABLE, photo, None)
    upload = session.scalar(sa.select(PhotoUpload).where(
        PhotoUpload.sha256 == sha256, PhotoUpload.user_id == actor.user_id,
        PhotoUpload.finished_at.is_(None)))
    own = None if upload is None else UploadState(upload, _offset(store, upload), None)
    return PhotoInfo(photo_status(session, sha256), None, own)


def get_photo_for(session: Session, actor: Actor, sha256: str) -> Photo:
    """A photo the actor may download: they uploaded it, or it is linked to a subject they see.

    Anything else is not found, exactly like a photo that does not exist.
    """
    sha256 = parse_sha256(sha256)
    photo = session.get(Photo, sha256)
    if photo is not None and photo.uploaded_by_user_id == actor.user_id:
        return photo
    through_subject = sa.or_(*(
        sa.and_(PhotoLink.subject_type == kind, visible(session, actor, PhotoLink.subject_id))
        for kind, visible in SUBJECT_VISIBILITY.items()))
    if not session.scalar(sa.select(sa.exists().where(PhotoLink.sha256 == sha256,
                                                      through_subject))):
        raise NotFound("No such photo.", code="photo_not_found")
    if photo is None:
        raise NotFound("This photo is linked but has not been uploaded yet.",
                       code="photo_not_uploaded")
    return photo
