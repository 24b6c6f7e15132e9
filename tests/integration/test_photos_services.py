"""Photo services on both databases: links before arrival, status, dedupe, restarts, pruning."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.auth.actor import Actor
from server.core.errors import Invalid
from sync import photos
from sync.photo_rules import PhotoLimits, PhotoStatus, PhotoType
from sync.storage import LocalDiskStore
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


def put(session, store, actor, data: bytes, **kw):  # noqa: ANN001, ANN003, ANN201
    return photos.put_photo(session, store, actor, sha256=sha(data), content_type="image/png",
                            data=io.BytesIO(data), length=len(data), limits=LIMITS, now=NOW, **kw)


def test_a_stored_photo_is_answered_without_reading_the_body(db_session, store, actor):
    photo, created = put(db_session, store, actor("t1.worker"), PNG)
    assert created
    assert photo.content_type is PhotoType.PNG
    assert photo.size == len(PNG)
    again, created = photos.put_photo(
        db_session, store, actor("t1.leader"), sha256=sha(PNG), content_type=None,
        data=Unreadable(), length=None, limits=LIMITS, now=NOW + timedelta(minutes=1))
    assert again is photo
    assert not created
    assert again.uploaded_by_user_id == actor("t1.worker").user_id
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

    state = photos.start_upload(db_session, store, worker, sha256=sha(JPEG), size=len(JPEG),
                                content_type="image/jpeg", limits=LIMITS, now=NOW)
    assert state.created
    assert state.offset == 0
    assert photos.photo_status(db_session, sha(JPEG)) is PhotoStatus.PARTIAL
    done = photos.append_chunk(db_session, store, worker, upload_id=state.upload.id, offset=0,
                               data=io.BytesIO(JPEG), length=len(JPEG), limits=LIMITS, now=NOW)
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


def test_starting_again_with_another_size_starts_over_from_byte_zero(db_session, store, actor):
    worker = actor("t1.worker")
    first = photos.start_upload(db_session, store, worker, sha256=sha(PNG), size=len(PNG),
                                content_type="image/png", limits=LIMITS, now=NOW)
    photos.append_chunk(db_session, store, worker, upload_id=first.upload.id, offset=0,
                        data=io.BytesIO(PNG[:300]), length=300, limits=LIMITS, now=NOW)
    same = photos.start_upload(db_session, store, worker, sha256=sha(PNG), size=len(PNG),
                               content_type="image/png", limits=LIMITS, now=NOW)
    assert (same.upload.id, same.offset, same.created) == (first.upload.id, 300, False)
    other = photos.start_upload(db_session, store, worker, sha256=sha(PNG), size=len(PNG) + 1,
                                content_type="image/png", limits=LIMITS, now=NOW)
    assert (other.upload.id, other.offset) == (first.upload.id, 0)
    assert store.partial_size(first.upload.key) == 0


def test_pruning_forgets_idle_uploads_and_their_partial_bytes(db_session, store, actor):
    worker = actor("t1.worker")
    old = photos.start_upload(db_session, store, worker, sha256=sha(PNG), size=len(PNG),
                              content_type="image/png", limits=LIMITS, now=NOW)
    photos.append_chunk(db_session, store, worker, upload_id=old.upload.id, offset=0,
                        data=io.BytesIO(PNG[:100]), length=100, limits=LIMITS, now=NOW)
    fresh = photos.start_upload(db_session, store, worker, sha256=sha(JPEG), size=len(JPEG),
                                content_type="image/jpeg", limits=LIMITS,
                                now=NOW + timedelta(days=8))
    assert photos.prune_uploads(db_session, store, idle_before=NOW + timedelta(days=7)) == 1
    db_session.flush()
    assert store.partial_size(old.upload.key) == 0
    assert db_session.scalars(sa.select(photos.PhotoUpload.id)).all() == [fresh.upload.id]
    assert photos.photo_status(db_session, sha(PNG)) is PhotoStatus.MISSING
