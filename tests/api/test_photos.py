"""Photos over HTTP: whole and resumable uploads, dedupe, limits, types by magic bytes, hashes,
links before arrival, and who may download."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest

from server.extensions import db
from sync.photos import link_photo
from tests.fixtures.world import NOW

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(range(256)) * 8  # 2,064 bytes
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x17" * 3000
NOT_AN_IMAGE = b"%PDF-1.7\n" + b"x" * 500


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def photo_dir(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test stores its photos under its own tmp_path (the app is shared by the session)."""
    root = tmp_path / "photos"
    monkeypatch.setitem(app.config, "PHOTO_DIR", root)
    return root


def blobs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "blobs").rglob("*") if p.is_file())


def partials(root: Path) -> list[Path]:
    return sorted(p for p in (root / "partial").rglob("*") if p.is_file())


def put(client, headers, data: bytes, *, name: str | None = None,
        content_type: str = "image/png"):
    return client.put(f"/api/v1/photos/{name or sha(data)}", data=data,
                      headers={**headers, "Content-Type": content_type})


def start(client, headers, data: bytes, *, size: int | None = None,
          content_type: str = "image/png", name: str | None = None):
    return client.post(f"/api/v1/photos/{name or sha(data)}/uploads", headers=headers,
                       json={"size": len(data) if size is None else size,
                             "content_type": content_type})


def patch(client, headers, upload_id: str, offset: int, chunk: bytes, **kw):
    return client.patch(f"/api/v1/photos/uploads/{upload_id}", data=chunk, headers={
        **headers, "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream"}, **kw)


def assert_error(response, status: int, code: str) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert (body["code"], body["status"]) == (code, status), body
    assert body["message"], body
    assert "request_id" in body
    return body


def download(client, headers, name: str):
    response = client.get(f"/api/v1/photos/{name}", headers=headers, buffered=True)
    response.close()
    return response


def test_a_whole_photo_is_stored_once_and_a_second_upload_is_not_read(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    first = put(client, worker, PNG)
    assert first.status_code == 201, first.get_json()
    assert first.get_json() | {"stored_at": None} == {
        "sha256": sha(PNG), "status": "available", "size": len(PNG),
        "content_type": "image/png", "stored_at": None, "upload": None}
    assert [p.name for p in blobs(photo_dir)] == [sha(PNG)]
    assert blobs(photo_dir)[0].read_bytes() == PNG
    # Someone else sends the same photo: answered from the name alone. The body is not even
    # looked at (these bytes would fail every check), and nothing more is kept.
    again = put(client, login("t1.leader"), b"not read", content_type="text/plain",
                name=sha(PNG))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["status"] == "available"
    assert [p.name for p in blobs(photo_dir)] == [sha(PNG)]
    assert partials(photo_dir) == []
    assert client.get(f"/api/v1/photos/{sha(PNG).upper()}/status",
                      headers=worker).get_json()["status"] == "available"


def test_a_resumable_upload_cut_in_the_middle_resumes_from_the_reported_offset(
        client, world, login, photo_dir):
    worker = login("t1.worker", device_id=str(uuid.uuid4()))  # a phone's own token
    started = start(client, worker, JPEG, content_type="image/jpeg")
    assert started.status_code == 201, started.get_json()
    upload_id = started.get_json()["upload_id"]
    assert started.get_json()["offset"] == 0
    assert started.headers["Upload-Offset"] == "0"
    assert started.headers["Location"].endswith(f"/api/v1/photos/uploads/{upload_id}")
    assert client.get(f"/api/v1/photos/{sha(JPEG)}/status",
                      headers=worker).get_json()["status"] == "partial"

    first = patch(client, worker, upload_id, 0, JPEG[:1000])
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "1000"
    # The connection breaks 700 bytes into a 1,500-byte chunk: what arrived is kept.
    cut = client.patch(f"/api/v1/photos/uploads/{upload_id}",
                       input_stream=io.BytesIO(JPEG[1000:1700]),
                       environ_overrides={"CONTENT_LENGTH": "1500"},
                       headers={**worker, "Upload-Offset": "1000"})
    assert cut.status_code == 400
    head = client.head(f"/api/v1/photos/uploads/{upload_id}", headers=worker)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "1700"
    # Asking to start again finds the same upload and the same offset.
    restarted = start(client, worker, JPEG, content_type="image/jpeg")
    assert restarted.status_code == 200
    assert restarted.get_json()["upload_id"] == upload_id
    assert restarted.get_json()["offset"] == 1700

    last = patch(client, worker, upload_id, 1700, JPEG[1700:])
    assert last.status_code == 204
    assert last.headers["Upload-Offset"] == str(len(JPEG))
    assert [p.read_bytes() for p in blobs(photo_dir)] == [JPEG]
    assert partials(photo_dir) == []
    state = client.get(f"/api/v1/photos/uploads/{upload_id}", headers=worker).get_json()
    assert state == {"upload_id": upload_id, "sha256": sha(JPEG), "status": "available",
                     "offset": len(JPEG), "size": len(JPEG), "content_type": "image/jpeg"}
    # The answer to the last chunk was lost and the phone sends it again: nothing changes.
    retried = patch(client, worker, upload_id, 1700, JPEG[1700:])
    assert retried.status_code == 204
    assert retried.headers["Upload-Offset"] == str(len(JPEG))
    got = download(client, worker, sha(JPEG))
    assert got.status_code == 200
    assert got.data == JPEG
    assert got.mimetype == "image/jpeg"
    assert got.headers["ETag"] == f'"{sha(JPEG)}"'
    assert "private" in got.headers["Cache-Control"]


def test_a_chunk_at_the_wrong_offset_gets_409_with_the_offset_to_resume_from(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    upload_id = start(client, worker, PNG).get_json()["upload_id"]
    assert patch(client, worker, upload_id, 0, PNG[:500]).status_code == 204
    for wrong in (0, 800):
        body = assert_error(patch(client, worker, upload_id, wrong, PNG[wrong:wrong + 100]),
                            409, "offset_mismatch")
        assert body["details"] == [{"upload_id": upload_id, "offset": 500}]
    missing = client.patch(f"/api/v1/photos/uploads/{upload_id}", data=PNG[500:],
                           headers=worker)
    assert_error(missing, 422, "validation_failed")
    assert "Upload-Offset" in missing.get_json()["errors"]["headers"]
    assert client.head(f"/api/v1/photos/uploads/{upload_id}",
                       headers=worker).headers["Upload-Offset"] == "500"


def test_bytes_that_do_not_match_their_hash_are_refused_and_nothing_is_kept(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    tampered = PNG[:-1] + b"!"
    assert_error(put(client, worker, tampered, name=sha(PNG)), 422, "photo_hash_mismatch")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []
    assert client.get(f"/api/v1/photos/{sha(PNG)}/status",
                      headers=worker).get_json()["status"] == "missing"

    upload_id = start(client, worker, PNG).get_json()["upload_id"]
    assert patch(client, worker, upload_id, 0, tampered[:1000]).status_code == 204
    assert_error(patch(client, worker, upload_id, 1000, tampered[1000:]), 422,
                 "photo_hash_mismatch")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []
    # The upload starts over from byte 0.
    assert client.head(f"/api/v1/photos/uploads/{upload_id}",
                       headers=worker).headers["Upload-Offset"] == "0"
    assert patch(client, worker, upload_id, 0, PNG).status_code == 204
    assert [p.read_bytes() for p in blobs(photo_dir)] == [PNG]


def test_photos_over_the_size_limit_are_refused_before_they_are_read(
        client, world, login, photo_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1024)
    worker = login("t1.worker")
    assert_error(put(client, worker, PNG), 413, "photo_too_large")
    assert_error(start(client, worker, PNG), 413, "photo_too_large")
    # Without a Content-Length the store stops reading one byte past the limit.
    streamed = client.put(f"/api/v1/photos/{sha(PNG)}", input_stream=io.BytesIO(PNG),
                          headers={**worker, "Content-Type": "image/png"},
                          environ_overrides={"wsgi.input_terminated": True})
    assert_error(streamed, 413, "photo_too_large")
    # A chunk may not run past the size declared for its upload.
    upload_id = start(client, worker, PNG[:1000], name=sha(PNG[:1000])).get_json()["upload_id"]
    assert_error(patch(client, worker, upload_id, 0, PNG[:1001]), 413, "upload_exceeds_size")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []


def test_the_type_is_decided_by_the_bytes_not_by_the_content_type_header(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    body = assert_error(put(client, worker, NOT_AN_IMAGE, content_type="image/jpeg"), 415,
                        "photo_type_unsupported")
    assert "image/heic" in body["message"]
    assert_error(put(client, worker, PNG, content_type="application/pdf"), 415,
                 "photo_type_unsupported")
    assert_error(start(client, worker, PNG, content_type="image/gif"), 415,
                 "photo_type_unsupported")
    upload_id = start(client, worker, NOT_AN_IMAGE, content_type="image/png").get_json()[
        "upload_id"]
    # Refused with the first chunk, before the phone sends the rest.
    assert_error(patch(client, worker, upload_id, 0, NOT_AN_IMAGE[:100]), 415,
                 "photo_type_unsupported")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []
    # A PNG labelled as JPEG (phones mislabel) is stored as what it is.
    mislabelled = put(client, worker, PNG, content_type="image/jpeg")
    assert mislabelled.status_code == 201
    assert mislabelled.get_json()["content_type"] == "image/png"


def test_malformed_hashes_are_422_on_every_photo_endpoint(client, world, login, photo_dir):
    worker = login("t1.worker")
    for response in (put(client, worker, PNG, name="abc"),
                     start(client, worker, PNG, name="g" * 64),
                     client.get("/api/v1/photos/" + "0" * 63 + "/status", headers=worker),
                     client.get("/api/v1/photos/" + "z" * 64, headers=worker)):
        body = assert_error(response, 422, "invalid_sha256")
        assert "sha256" in body["errors"]["path"]


def test_a_photo_linked_before_it_arrives_becomes_available_when_uploaded(
        client, world, login, photo_dir, file_case):
    case = file_case("t1.dispatcher")
    worker = login("t1.worker")
    link_photo(db.session, sha256=sha(JPEG), subject_type="case",
               subject_id=uuid.UUID(case["id"]), user_id=world.users["t1.worker"].id, now=NOW)
    listed = client.get(f"/api/v1/photos?subject_type=case&subject_id={case['id']}",
                        headers=worker)
    assert [(p["sha256"], p["status"]) for p in listed.get_json()] == [(sha(JPEG), "missing")]
    assert client.get(f"/api/v1/photos/{sha(JPEG)}/status",
                      headers=worker).get_json()["status"] == "missing"
    assert_error(download(client, worker, sha(JPEG)), 404, "photo_not_uploaded")

    assert put(client, worker, JPEG, content_type="image/jpeg").status_code == 201
    listed = client.get(f"/api/v1/photos?subject_type=case&subject_id={case['id']}",
                        headers=login("t1.dispatcher"))
    assert [(p["sha256"], p["status"]) for p in listed.get_json()] == [(sha(JPEG), "available")]
    assert download(client, login("t1.dispatcher"), sha(JPEG)).data == JPEG


def test_a_web_intake_attachment_with_a_sha256_is_linked_to_the_case(
        client, world, login, photo_dir):
    dispatcher = login("t1.dispatcher")
    assert put(client, dispatcher, PNG).status_code == 201
    body = {"channel": "internet", "appeal_type": "complaint", "title": "t", "description": "d",
            "client_request_id": "attach-0001",
            "attachments": [{"name": "scene.png", "sha256": sha(PNG)},
                            {"name": "later.jpg", "sha256": sha(JPEG)},
                            {"name": "again.png", "sha256": sha(PNG)},
                            {"name": "elsewhere", "url": "https://example.org/x.pdf"}]}
    case = client.post("/api/v1/cases", json=body, headers=dispatcher).get_json()
    assert client.post("/api/v1/cases", json=body, headers=dispatcher).status_code == 200  # retry
    listed = client.get(f"/api/v1/photos?subject_type=case&subject_id={case['id']}",
                        headers=dispatcher).get_json()
    assert sorted((p["sha256"], p["status"]) for p in listed) == sorted(
        [(sha(PNG), "available"), (sha(JPEG), "missing")])


def test_only_the_uploader_and_those_who_see_a_linked_case_may_download(
        client, world, login, photo_dir, file_case):
    case = file_case("t1.dispatcher")
    assert put(client, login("t1.worker"), PNG).status_code == 201
    # Not linked yet: only its uploader gets it; everyone else, even an admin, gets 404.
    assert download(client, login("t1.worker"), sha(PNG)).status_code == 200
    for other in ("t1.dispatcher", "admin", "t2.worker"):
        assert_error(download(client, login(other), sha(PNG)), 404, "photo_not_found")

    link_photo(db.session, sha256=sha(PNG), subject_type="case",
               subject_id=uuid.UUID(case["id"]), user_id=world.users["t1.worker"].id, now=NOW)
    for allowed in ("t1.dispatcher", "d1.dispatcher", "admin", "auditor"):
        assert download(client, login(allowed), sha(PNG)).status_code == 200, allowed
    for stranger in ("t2.worker", "t2.dispatcher", "d2.dispatcher"):
        assert_error(download(client, login(stranger), sha(PNG)), 404, "photo_not_found")
        assert_error(client.get(f"/api/v1/photos?subject_type=case&subject_id={case['id']}",
                                headers=login(stranger)), 404, "case_not_found")
    # A second download may be answered from the phone's cache.
    cached = client.get(f"/api/v1/photos/{sha(PNG)}", buffered=True, headers={
        **login("t1.dispatcher"), "If-None-Match": f'"{sha(PNG)}"'})
    cached.close()
    assert cached.status_code == 304


def test_only_handling_roles_may_upload_and_only_their_own_uploads(
        client, world, login, photo_dir):
    for role_without_cases in ("auditor", "admin"):
        assert_error(put(client, login(role_without_cases), PNG), 403, "permission_denied")
        assert_error(start(client, login(role_without_cases), PNG), 403, "permission_denied")
    upload_id = start(client, login("t1.worker"), PNG).get_json()["upload_id"]
    assert_error(patch(client, login("t2.worker"), upload_id, 0, PNG), 404, "upload_not_found")
    assert_error(client.get(f"/api/v1/photos/uploads/{upload_id}", headers=login("t2.worker")),
                 404, "upload_not_found")
    assert_error(put(client, {}, PNG), 401, "unauthenticated")


def test_two_phones_uploading_the_same_photo_store_it_once(client, world, login, photo_dir):
    worker, leader = login("t1.worker"), login("t1.leader")
    mine = start(client, worker, PNG).get_json()["upload_id"]
    theirs = start(client, leader, PNG).get_json()["upload_id"]
    assert mine != theirs
    assert patch(client, leader, theirs, 0, PNG[:100]).status_code == 204
    assert patch(client, worker, mine, 0, PNG).status_code == 204
    # The other phone learns with its next chunk that nothing more is needed.
    rest = patch(client, leader, theirs, 100, PNG[100:200])
    assert rest.status_code == 204
    assert rest.headers["Upload-Offset"] == str(len(PNG))
    again = start(client, login("t1.dispatcher"), PNG)
    assert again.status_code == 200
    assert again.get_json() | {"upload_id": None} == {
        "upload_id": None, "sha256": sha(PNG), "status": "available", "offset": len(PNG),
        "size": len(PNG), "content_type": "image/png"}
    assert len(blobs(photo_dir)) == 1
    assert partials(photo_dir) == []


def test_the_openapi_document_describes_the_photo_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"put", "get"} <= set(paths["/api/v1/photos/{sha256}"])
    assert "post" in paths["/api/v1/photos/{sha256}/uploads"]
    assert {"patch", "get"} <= set(paths["/api/v1/photos/uploads/{upload_id}"])
    assert "Upload-Offset" in paths["/api/v1/photos/uploads/{upload_id}"]["patch"][
        "responses"]["204"]["headers"]


def test_a_whistle_calls_photos_are_linked_to_it_and_seen_by_those_who_see_the_call(
        client, world, login, photo_dir, raise_call):
    raiser = login("t1.dispatcher")
    assert put(client, raiser, PNG).status_code == 201
    # Before the call, only its uploader may fetch it.
    assert_error(download(client, login("d1.dispatcher"), sha(PNG)), 404, "photo_not_found")
    call = raise_call("t1.dispatcher", photos=[sha(PNG), sha(JPEG)])
    listed = client.get(f"/api/v1/photos?subject_type=whistle_call&subject_id={call['id']}",
                        headers=login("d1.dispatcher"))
    assert sorted((p["sha256"], p["status"]) for p in listed.get_json()) == sorted(
        [(sha(PNG), "available"), (sha(JPEG), "missing")])
    assert download(client, login("d1.dispatcher"), sha(PNG)).data == PNG  # sees the call
    for stranger in ("t2.dispatcher", "d2.dispatcher"):
        assert_error(download(client, login(stranger), sha(PNG)), 404, "photo_not_found")
        assert_error(client.get(
            f"/api/v1/photos?subject_type=whistle_call&subject_id={call['id']}",
            headers=login(stranger)), 404, "whistle_call_not_found")
