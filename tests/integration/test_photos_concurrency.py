"""Two phones upload the same photo at the same moment, on PostGIS with real connections:
both succeed, the photo is stored once, and the first to commit is its uploader."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid

import pytest
import sqlalchemy as sa

from server.auth.services import authenticate
from server.extensions import db
from sync import photos
from sync.photo_rules import PhotoLimits, PhotoType
from sync.storage import LocalDiskStore
from tests.fixtures.world import NOW, PASSWORD, build_world

JPEG = b"\xff\xd8\xff\xe1" + bytes(range(256)) * 20
LIMITS = PhotoLimits(max_bytes=100_000, types=frozenset(PhotoType))


class MeetingStream(io.BytesIO):
    """A body whose first read waits for the other request: both have already found the
    photo missing, so both go on to store it."""

    def __init__(self, data: bytes, barrier: threading.Barrier) -> None:
        super().__init__(data)
        self.barrier = barrier

    def read(self, size: int | None = -1) -> bytes:
        if self.barrier is not None:
            self.barrier.wait()
            self.barrier = None
        return super().read(size)


@pytest.mark.concurrency
def test_the_same_photo_uploaded_twice_at_once_is_stored_once(committing_postgis_app, tmp_path):
    app = committing_postgis_app
    store = LocalDiskStore(tmp_path / "photos")
    tokens: dict[str, str] = {}
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        client = app.test_client()
        for username in ("t1.worker", "t1.leader"):
            tokens[username] = client.post("/api/v1/auth/login", json={
                "username": username, "password": PASSWORD}).get_json()["token"]
        db.session.remove()

    meet = threading.Barrier(2, timeout=10)
    outcomes: dict[str, tuple[str, uuid.UUID]] = {}
    failures: list[BaseException] = []

    def upload(username: str) -> None:
        with app.app_context():
            session = db.session
            try:
                actor = authenticate(session, tokens[username], now=NOW)
                state = photos.create_upload(
                    session, store, actor, sha256=hashlib.sha256(JPEG).hexdigest(),
                    size=len(JPEG), content_type="image/jpeg", limits=LIMITS, now=NOW)
                session.commit()
                done = photos.append_chunk(
                    session, store, actor, upload_id=state.upload.id, offset=0,
                    data=MeetingStream(JPEG, meet), length=len(JPEG), limits=LIMITS, now=NOW)
                session.commit()
                outcomes[username] = (done.photo.sha256, done.photo.uploaded_by_user_id)
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=upload, args=(u,)) for u in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    # Both finish; one of them stored the photo, and both are told it is the same one.
    assert len(outcomes) == 2
    assert len(set(outcomes.values())) == 1
    with app.app_context():
        rows = db.session.scalars(sa.select(photos.Photo)).all()
        assert [p.sha256 for p in rows] == [hashlib.sha256(JPEG).hexdigest()]
        assert rows[0].uploaded_by_user_id in {authenticate(
            db.session, token, now=NOW).user_id for token in tokens.values()}
        db.session.remove()
    assert [p.read_bytes() for p in (tmp_path / "photos" / "blobs").rglob("*") if p.is_file()] \
        == [JPEG]
    assert not any((tmp_path / "photos" / "partial").iterdir())
