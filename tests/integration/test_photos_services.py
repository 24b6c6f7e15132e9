"""Photo services on both databases: links before arrival, status, dedupe, restarts, pruning."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.auth.actor import Actor
from server.core.errors import Invalid, NotFound
from sync import photos
from sync.photo_rules import PhotoLimits, PhotoStatus, PhotoType
from sync.storage import LocalDiskStore
from sync.tus_rules import Checksum, ChecksumMismatch
from tests.fixtures.world import NOW

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 500
JPEG = b"\xff\xd8\xff\xdb" + b"\x02" * 700
LIMITS = PhotoLimits(max_bytes=10_000, types=frozenset(PhotoType))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body of an already stored photo must not be read")


@pytest.fixture
def store(tmp_path) -> LocalDiskStore:  # noqa: ANN001
    return LocalDiskStore(tmp_path / "photos")


@pytest.fixture
def actor(world):  # noqa: ANN001, ANN201
    def _actor(username: str) -> Actor:
        user = world.users[username]
        unit = next(u for u in world.units.values() if u.id == user.unit_id)
        return Actor(user_id=user.id, username=username, unit_id=unit.id, unit_path=unit.path,
                     roles=frozenset(user.roles))

    return _actor


def create(session, store, actor, data: bytes, *, content_type: str = "image/png",  # noqa: ANN001, ANN201
           size: int | None = None, now=NOW):  # noqa: ANN001
    return photos.create_upload(session, store, actor, sha256=sha(data),
                                size=len(data) if size is None else size,
                                content_type=content_type, limits=LIMITS, now=now)


def send(session, store, actor, state, offset: int, chunk, **kw):  # noqa: ANN001, ANN003, ANN201
    data = io.BytesIO(chunk) if isinstance(chunk, bytes) else chunk
    return photos.append_chunk(session, store, actor, upload_id=state.upload.id, offset=offset,
                               data=data, length=kw.pop("length", len(chunk)) if isinstance(
                                   chunk, bytes) else None, limits=LIMITS, now=NOW, **kw)


def test_a_stored_photo_is_answered_without_reading_the_body(db_session, store, actor):
    done = send(db_session, store, actor("t1.worker"),
                create(db_session, store, actor("t1.worker"), PNG), 0, PNG)
    photo = done.photo
    assert photo.content_type is PhotoType.PNG
    assert photo.size == len(PNG)
    # Another user's creation of the same bytes is finished at once, and a chunk sent anyway
    # is not read.
    again = photos.create_upload(db_session, store, actor("t1.leader"), sha256=sha(PNG),
                                 size=len(PNG), content_type=None, limits=LIMITS,
                                 now=NOW + timedelta(minutes=1))
    assert (again.photo, again.offset, again.upload.finished_at) == (
        photo, len(PNG), NOW + timedelta(minutes=1))
    extra = send(db_session, store, actor("t1.leader"), again, 0, Unreadable())
    assert (extra.photo, extra.offset) == (photo, len(PNG))
    assert photo.uploaded_by_user_id == actor("t1.worker").user_id
    assert db_session.scalar(sa.select(sa.func.count()).select_from(photos.Photo)) == 1


def test_a_link_works_before_the_photo_arrives_and_twice_is_once(db_session, store, actor, world):
    case_id, worker = uuid.uuid4(), actor("t1.worker")
    link = photos.link_photo(db_session, sha256=sha(JPEG).upper(), subject_type="case",
                             subject_id=case_id, user_id=worker.user_id, now=NOW)
    assert link.sha256 == sha(JPEG)
    assert photos.photo_status(db_session, sha(JPEG)) == "missing"
    same = photos.link_photo(db_session, sha256=sha(JPEG), subject_type="case",
                             subject_id=case_id, user_id=actor("t1.leader").user_id,
                             now=NOW + timedelta(hours=1))
    assert same.id == link.id
    assert same.linked_by_user_id == worker.user_id
    assert [x.id for x in photos.links_for(db_session, "case", case_id)] == [link.id]

    state = create(db_session, store, worker, JPEG, content_type="image/jpeg")
    assert state.offset == 0
    assert photos.photo_status(db_session, sha(JPEG)) is PhotoStatus.PARTIAL
    done = send(db_session, store, worker, state, 0, JPEG)
    assert done.status is PhotoStatus.AVAILABLE
    assert done.photo.content_type is PhotoType.JPEG
    assert photos.photo_status(db_session, sha(JPEG)) is PhotoStatus.AVAILABLE
    assert photos.statuses(db_session, [sha(JPEG), sha(PNG)]) == {
        sha(JPEG): "available", sha(PNG): "missing"}


def test_a_link_names_a_known_kind_of_subject_and_a_real_hash(db_session, actor):
    user_id = actor("t1.worker").user_id
    with pytest.raises(Invalid) as raised:
        photos.link_photo(db_session, sha256=sha(PNG), subject_type="grid",
                          subject_id=uuid.uuid4(), user_id=user_id, now=NOW)
    assert raised.value.code == "photo_subject_unsupported"
    with pytest.raises(Invalid) as raised:
        photos.link_photo(db_session, sha256="photo.jpg", subject_type="case",
                          subject_id=uuid.uuid4(), user_id=user_id, now=NOW)
    assert raised.value.code == "invalid_sha256"


def test_creating_again_starts_over_from_byte_zero(db_session, store, actor):
    worker = actor("t1.worker")
    first = create(db_session, store, worker, PNG)
    send(db_session, store, worker, first, 0, PNG[:300])
    assert photos.get_upload(db_session, store, worker, first.upload.id).offset == 300
    again = create(db_session, store, worker, PNG, size=len(PNG) + 1)
    assert (again.upload.id, again.offset, again.upload.size) == (first.upload.id, 0, len(PNG) + 1)
    assert store.partial_size(first.upload.key) == 0


def test_a_chunk_with_a_checksum_is_kept_only_if_it_matches(db_session, store, actor):
    worker = actor("t1.worker")
    state = create(db_session, store, worker, PNG)
    good = Checksum("sha256", hashlib.sha256(PNG[:300]).digest())
    assert send(db_session, store, worker, state, 0, PNG[:300], checksum=good).offset == 300
    with pytest.raises(ChecksumMismatch):
        send(db_session, store, worker, state, 300, PNG[300:600], checksum=good)
    assert store.partial_size(state.upload.key) == 300


def test_termination_forgets_the_upload_and_its_bytes(db_session, store, actor):
    worker = actor("t1.worker")
    state = create(db_session, store, worker, PNG)
    send(db_session, store, worker, state, 0, PNG[:300])
    photos.terminate_upload(db_session, store, worker, state.upload.id)
    db_session.flush()
    assert store.partial_size(state.upload.key) == 0
    with pytest.raises(NotFound):
        photos.get_upload(db_session, store, worker, state.upload.id)


def test_pruning_forgets_idle_uploads_and_their_partial_bytes(db_session, store, actor):
    worker = actor("t1.worker")
    old = create(db_session, store, worker, PNG)
    send(db_session, store, worker, old, 0, PNG[:100])
    fresh = create(db_session, store, worker, JPEG, content_type="image/jpeg",
                   now=NOW + timedelta(days=8))
    assert photos.prune_uploads(db_session, store, idle_before=NOW + timedelta(days=7)) == 1
    db_session.flush()
    assert store.partial_size(old.upload.key) == 0
    assert db_session.scalars(sa.select(photos.PhotoUpload.id)).all() == [fresh.upload.id]
    assert photos.photo_status(db_session, sha(PNG)) is PhotoStatus.MISSING
