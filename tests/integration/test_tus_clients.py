"""Real tus clients against a running server on PostGIS whose requests really commit.

tuspy (Python) uploads in chunks with sha256 checksums, stops after the first chunk, has a
chunk's connection cut halfway, and a new client resumes from HEAD's offset; a second user's
tuspy finds the photo already there. tus-js-client in Node (``clients/tus/upload_test.js``,
pinned by its package-lock) uploads in three chunks, again (done at once), and terminates an
upload it aborts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from tusclient.client import TusClient
from tusclient.uploader import Uploader
from werkzeug.serving import make_server

from server.extensions import db
from sync.photos import Photo, PhotoUpload
from tests.conftest import under_ci
from tests.fixtures.world import PASSWORD, build_world

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "tus"
# A JPEG signature and 300 kB that are not all the same byte (a real photo's size).
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + hashlib.sha256(b"seed").digest() * 9600
CHUNK = 64 * 1024


class Sha256Uploader(Uploader):
    """tuspy's uploader with the photos' own checksum (tuspy's default is sha1)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@pytest.fixture
def served(committing_postgis_app, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """The world, and the app over real HTTP on a free port (a threaded werkzeug server)."""
    app = committing_postgis_app
    monkeypatch.setitem(app.config, "PHOTO_DIR", tmp_path / "photos")
    with app.app_context():
        build_world(db.session, app.extensions["gridops.passwords"])
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def token(base: str, username: str) -> str:
    answer = requests.post(f"{base}/api/v1/auth/login", timeout=30,
                           json={"username": username, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def cut_chunk(url: str, bearer: str, offset: int, chunk: bytes, sent: int) -> bytes:
    """A PATCH whose connection breaks after ``sent`` of its bytes; the server's answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall((
            f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {bearer}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(chunk)}\r\n\r\n").encode() + chunk[:sent])
        conn.shutdown(socket.SHUT_WR)  # the phone's network goes; the server reads no more
        answer = b""
        while block := conn.recv(65536):  # until the server has handled the broken chunk
            answer += block
    return answer


def stored(app, tmp_path: Path) -> tuple[list[bytes], list[str]]:  # noqa: ANN001
    with app.app_context():
        names = list(db.session.scalars(sa.select(Photo.sha256)))
        db.session.remove()
    return [p.read_bytes() for p in (tmp_path / "photos" / "blobs").rglob("*")
            if p.is_file()], names


def test_tuspy_uploads_in_chunks_and_resumes_after_a_cut_connection(
        committing_postgis_app, served, tmp_path):
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    bearer = token(served, "t1.worker")
    client = TusClient(f"{served}/api/v1/photos/uploads",
                       headers={"Authorization": f"Bearer {bearer}"})
    metadata = {"sha256": sha256, "filetype": "image/jpeg", "filename": "IMG_0001.JPG"}
    first = Sha256Uploader(file_stream=_stream(), client=client, chunk_size=CHUNK,
                           metadata=metadata, upload_checksum=True)
    first.upload(stop_at=CHUNK)  # the app is closed after one chunk
    assert first.offset == CHUNK
    url = first.url
    assert url.startswith(f"{served}/api/v1/photos/uploads/")

    answer = cut_chunk(url, bearer, CHUNK, PHOTO[CHUNK:2 * CHUNK], sent=20_000)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    # A new client (the app restarted) knows only the URL: HEAD says where to go on. The
    # bytes of the cut chunk that arrived count, so it resumes inside that chunk.
    resumed = Sha256Uploader(file_stream=_stream(), url=url, client=client, chunk_size=CHUNK,
                             upload_checksum=True)
    assert resumed.offset == CHUNK + 20_000
    resumed.upload()
    assert resumed.offset == len(PHOTO)
    assert stored(committing_postgis_app, tmp_path) == ([PHOTO], [sha256])

    got = requests.get(f"{served}/api/v1/photos/{sha256}", timeout=30,
                       headers={"Authorization": f"Bearer {bearer}"})
    assert (got.status_code, got.content) == (200, PHOTO)
    # Another phone with the same photo: created finished, so tuspy is done after one answer.
    other = TusClient(f"{served}/api/v1/photos/uploads",
                      headers={"Authorization": f"Bearer {token(served, 't1.leader')}"})
    again = other.uploader(file_stream=_stream(), chunk_size=CHUNK, metadata=metadata)
    again.upload()
    assert again.offset == len(PHOTO)
    assert stored(committing_postgis_app, tmp_path) == ([PHOTO], [sha256])


def _stream() -> io.BytesIO:
    return io.BytesIO(PHOTO)


def _node() -> str:
    """The node binary, with the pinned packages installed (``npm ci`` in clients/tus)."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (CLIENT / "node_modules" / "tus-js-client").is_dir():
        problem = f"the npm packages are not installed: run `npm ci` in {CLIENT}"
    if problem:
        if under_ci():
            pytest.fail(problem + " (CI is set: the tus-js-client test must run)",
                        pytrace=False)
        pytest.skip(problem)
    return node


def test_tus_js_client_uploads_a_photo_in_node(committing_postgis_app, served, tmp_path):
    node = _node()
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    photo = tmp_path / "IMG_0002.JPG"
    photo.write_bytes(PHOTO)
    run = subprocess.run(
        [node, "upload_test.js"], cwd=CLIENT, capture_output=True, text=True, timeout=120,
        env={"PATH": os.path.dirname(node), "GRIDOPS_URL": served,
             "GRIDOPS_TOKEN": token(served, "t1.worker"), "PHOTO_PATH": str(photo),
             "PHOTO_SHA256": sha256, "PHOTO_TYPE": "image/jpeg"})
    assert run.returncode == 0, f"node exited {run.returncode}\n{run.stderr[-6000:]}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    # Three chunks, each accepted, the last at the photo's size.
    assert [total for _, _, total in report["first"]["chunks"]] == [len(PHOTO)] * 3
    assert report["first"]["chunks"][-1][1] == len(PHOTO)
    assert stored(committing_postgis_app, tmp_path) == ([PHOTO], [sha256])
    # Sent again: the first answer says it is all there.
    assert report["again"]["chunks"][-1][1] == len(PHOTO)
    # The aborted upload was terminated: the server knows it no more.
    with committing_postgis_app.app_context():
        uploads = {str(u.id): u for u in db.session.scalars(sa.select(PhotoUpload))}
        db.session.remove()
    terminated = report["terminated"].rsplit("/", 1)[1]
    assert terminated not in uploads
    assert {u.sha256 for u in uploads.values()} == {sha256}
    assert requests.head(report["terminated"], timeout=30, headers={
        "Authorization": f"Bearer {token(served, 't1.worker')}",
        "Tus-Resumable": "1.0.0"}).status_code == 404
