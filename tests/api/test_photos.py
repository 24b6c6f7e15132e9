"""Photos over HTTP: tus uploads and their header rules, dedupe, limits, types by magic bytes,
hashes, links before arrival, and who may download."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from pathlib import Path

import pytest

from server.extensions import db
from sync.photos import link_photo
from tests.fixtures.tus import (
    TUS,
    UPLOADS,
    create,
    head,
    metadata,
    patch,
    sha,
    upload,
    url_of,
)
from tests.fixtures.world import NOW

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(range(256)) * 8  # 2,064 bytes
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x17" * 3000
NOT_AN_IMAGE = b"%PDF-1.7\n" + b"x" * 500


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


def tus_error(response, status: int, code: str) -> dict:
    """An error answer of the tus endpoints: the one shape, and Tus-Resumable as always."""
    assert response.headers.get("Tus-Resumable") == "1.0.0", dict(response.headers)
    if response.request.method == "HEAD":  # an answer to HEAD has no body
        assert response.status_code == status
        return {}
    return assert_error(response, status, code)


def test_options_tells_what_the_server_speaks_without_a_token(client, app):
    answer = client.options(UPLOADS)
    assert answer.status_code == 204
    assert {k: answer.headers.get(k) for k in (
        "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
        "Tus-Checksum-Algorithm")} == {
        "Tus-Resumable": "1.0.0", "Tus-Version": "1.0.0",
        "Tus-Extension": "creation,checksum,termination",
        "Tus-Max-Size": str(app.config["PHOTO_MAX_BYTES"]),
        "Tus-Checksum-Algorithm": "sha256,sha1"}


def test_every_request_but_options_names_tus_1_0_0_or_gets_412(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    url = url_of(create(client, worker, PNG))
    for version in (None, "0.2.2", "1.0"):
        extra = {} if version is None else {"Tus-Resumable": version}
        for answer in (
                client.post(UPLOADS, headers={**worker, **extra, "Upload-Length": "10",
                                              "Upload-Metadata": metadata(sha256=sha(PNG))}),
                client.head(url, headers={**worker, **extra}),
                client.patch(url, data=PNG, headers={
                    **worker, **extra, "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream"}),
                client.delete(url, headers={**worker, **extra})):
            assert answer.status_code == 412, (version, answer.request.method)
            assert answer.headers["Tus-Version"] == "1.0.0"
            assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert head(client, worker, url).headers["Upload-Offset"] == "0"  # nothing was sent
    tus_error(create(client, {}, PNG), 401, "unauthenticated")


def test_a_photo_in_one_chunk_is_stored_once_and_a_second_creation_is_done_at_once(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    created = create(client, worker, PNG)
    assert created.status_code == 201, created.get_json()
    upload_id = created.get_json()["upload_id"]
    assert url_of(created) == f"/api/v1/photos/uploads/{upload_id}"  # relative, tus allows it
    assert (created.headers["Upload-Offset"], created.headers["Upload-Length"],
            created.headers["Tus-Resumable"]) == ("0", str(len(PNG)), "1.0.0")
    assert created.get_json() == {"upload_id": upload_id, "sha256": sha(PNG),
                                  "status": "partial", "offset": 0, "size": len(PNG),
                                  "content_type": "image/png"}
    sent = patch(client, worker, url_of(created), 0, PNG)
    assert sent.status_code == 204
    assert (sent.headers["Upload-Offset"], sent.headers["Tus-Resumable"]) == (
        str(len(PNG)), "1.0.0")
    assert [p.read_bytes() for p in blobs(photo_dir)] == [PNG]
    assert partials(photo_dir) == []
    # Someone else creates an upload of the same bytes: it is finished from the start, so a
    # tus client is done; a chunk it sends anyway is not read and nothing more is kept.
    leader = login("t1.leader")
    again = create(client, leader, PNG, content_type="image/jpeg")
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == again.headers["Upload-Length"] == str(len(PNG))
    assert again.get_json()["status"] == "available"
    assert again.get_json()["content_type"] == "image/png"
    extra = patch(client, leader, url_of(again), 0, b"not read")
    assert (extra.status_code, extra.headers["Upload-Offset"]) == (204, str(len(PNG)))
    assert head(client, leader, url_of(again)).headers["Upload-Offset"] == str(len(PNG))
    assert [p.name for p in blobs(photo_dir)] == [sha(PNG)]
    assert partials(photo_dir) == []
    assert client.get(f"/api/v1/photos/{sha(PNG).upper()}/status",
                      headers=worker).get_json()["status"] == "available"


def test_an_upload_cut_in_the_middle_resumes_from_heads_offset(client, world, login, photo_dir):
    worker = login("t1.worker", device_id=str(uuid.uuid4()))  # a phone's own token
    created = create(client, worker, JPEG, content_type="image/jpeg")
    url = url_of(created)
    assert client.get(f"/api/v1/photos/{sha(JPEG)}/status",
                      headers=worker).get_json()["status"] == "partial"
    first = patch(client, worker, url, 0, JPEG[:1000])
    assert (first.status_code, first.headers["Upload-Offset"]) == (204, "1000")
    # The connection breaks 700 bytes into a 1,500-byte chunk: what arrived is kept.
    cut = client.patch(url, input_stream=io.BytesIO(JPEG[1000:1700]),
                       environ_overrides={"CONTENT_LENGTH": "1500"},
                       headers={**worker, **TUS, "Upload-Offset": "1000",
                                "Content-Type": "application/offset+octet-stream"})
    assert cut.status_code == 400
    resumed = head(client, worker, url)
    assert resumed.status_code == 200
    assert {k: resumed.headers.get(k) for k in (
        "Upload-Offset", "Upload-Length", "Cache-Control", "Tus-Resumable")} == {
        "Upload-Offset": "1700", "Upload-Length": str(len(JPEG)), "Cache-Control": "no-store",
        "Tus-Resumable": "1.0.0"}
    assert resumed.data == b""
    status = client.get(f"/api/v1/photos/{sha(JPEG)}/status", headers=worker).get_json()
    assert status["upload"] == {"upload_id": created.get_json()["upload_id"], "offset": 1700,
                                "size": len(JPEG)}
    last = patch(client, worker, url, 1700, JPEG[1700:])
    assert (last.status_code, last.headers["Upload-Offset"]) == (204, str(len(JPEG)))
    assert [p.read_bytes() for p in blobs(photo_dir)] == [JPEG]
    assert partials(photo_dir) == []
    # The answer to the last chunk was lost and the phone sends it again: nothing changes.
    retried = patch(client, worker, url, 1700, JPEG[1700:])
    assert (retried.status_code, retried.headers["Upload-Offset"]) == (204, str(len(JPEG)))
    got = download(client, worker, sha(JPEG))
    assert (got.status_code, got.data, got.mimetype) == (200, JPEG, "image/jpeg")
    assert got.headers["ETag"] == f'"{sha(JPEG)}"'
    assert "private" in got.headers["Cache-Control"]


def test_creating_again_an_unfinished_upload_starts_it_over(client, world, login, photo_dir):
    worker = login("t1.worker")
    url = url_of(create(client, worker, PNG))
    assert patch(client, worker, url, 0, PNG[:500]).status_code == 204
    again = create(client, worker, PNG)
    assert (again.status_code, url_of(again), again.headers["Upload-Offset"]) == (201, url, "0")
    assert head(client, worker, url).headers["Upload-Offset"] == "0"
    assert partials(photo_dir) == []


def test_chunk_header_rules_offset_409_missing_offset_400_wrong_type_415(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    url = url_of(create(client, worker, PNG))
    assert patch(client, worker, url, 0, PNG[:500]).status_code == 204
    for wrong in (0, 800):
        body = tus_error(patch(client, worker, url, wrong, PNG[wrong:wrong + 100]), 409,
                         "offset_mismatch")
        assert body["details"] == [{"upload_id": url.rsplit("/", 1)[1], "offset": 500}]
    for offset in (None, "-1", "abc", "1e3"):
        headers = {**worker, **TUS, "Content-Type": "application/offset+octet-stream"}
        if offset is not None:
            headers["Upload-Offset"] = offset
        body = tus_error(client.patch(url, data=PNG[500:], headers=headers), 400,
                         "tus_header_invalid")
        assert "Upload-Offset" in body["errors"]["headers"]
    for content_type in ("application/octet-stream", "image/png"):
        tus_error(patch(client, worker, url, 500, PNG[500:], extra={
            "Content-Type": content_type}), 415, "chunk_type_unsupported")
    assert head(client, worker, url).headers["Upload-Offset"] == "500"


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def test_upload_checksum_keeps_a_matching_chunk_and_refuses_any_other_with_460(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    url = url_of(create(client, worker, PNG))
    good = patch(client, worker, url, 0, PNG[:1000],
                 extra={"Upload-Checksum": checksum("sha256", PNG[:1000])})
    assert (good.status_code, good.headers["Upload-Offset"]) == (204, "1000")
    # Bytes changed on the way: 460, and nothing of the chunk is kept.
    bad = patch(client, worker, url, 1000, b"\x00" + PNG[1001:1500],
                extra={"Upload-Checksum": checksum("sha256", PNG[1000:1500])})
    tus_error(bad, 460, "checksum_mismatch")
    assert head(client, worker, url).headers["Upload-Offset"] == "1000"
    # A chunk with a checksum that breaks off cannot be verified: nothing of it is kept.
    cut = client.patch(url, input_stream=io.BytesIO(PNG[1000:1300]),
                       environ_overrides={"CONTENT_LENGTH": "500"},
                       headers={**worker, **TUS, "Upload-Offset": "1000",
                                "Upload-Checksum": checksum("sha256", PNG[1000:1500]),
                                "Content-Type": "application/offset+octet-stream"})
    assert cut.status_code == 400
    assert head(client, worker, url).headers["Upload-Offset"] == "1000"
    for header, code in (("md5 " + base64.b64encode(b"x" * 16).decode(),
                          "checksum_algorithm_unsupported"),
                         ("sha256 not-base64!", "tus_header_invalid"),
                         ("sha256 " + base64.b64encode(b"short").decode(),
                          "tus_header_invalid")):
        body = tus_error(patch(client, worker, url, 1000, PNG[1000:],
                               extra={"Upload-Checksum": header}), 400, code)
        assert "Upload-Checksum" in body["errors"]["headers"]
    rest = patch(client, worker, url, 1000, PNG[1000:],
                 extra={"Upload-Checksum": checksum("sha1", PNG[1000:])})  # tuspy's default
    assert (rest.status_code, rest.headers["Upload-Offset"]) == (204, str(len(PNG)))
    assert [p.read_bytes() for p in blobs(photo_dir)] == [PNG]


def test_creation_header_rules(client, world, login, photo_dir):
    worker = login("t1.worker")

    def post(**headers: str):  # noqa: ANN202
        return client.post(UPLOADS, headers={**worker, **TUS, **headers})

    meta = metadata(sha256=sha(PNG), filetype="image/png")
    for length in (None, "", "-1", "12.5", "0"):
        extra = {} if length is None else {"Upload-Length": length}
        body = tus_error(post(**extra, **{"Upload-Metadata": meta}), 400, "tus_header_invalid")
        assert "Upload-Length" in body["errors"]["headers"]
    tus_error(post(**{"Upload-Defer-Length": "1", "Upload-Metadata": meta}), 400,
              "tus_header_invalid")
    value = meta.split()[1].split(",")[0]
    for bad in ("sha256 ***", "sha256", f"sha256 {value},sha256 {value}", f"sha256 {value} x",
                base64.b64encode(b"x").decode()):
        # A key alone is allowed (an empty value): then the photo is not named.
        code = "tus_header_invalid" if " " in bad else "invalid_sha256"
        body = tus_error(post(**{"Upload-Length": "10", "Upload-Metadata": bad}), 400, code)
        assert "Upload-Metadata" in body["errors"]["headers"]
    for missing in (None, metadata(filetype="image/png"), metadata(sha256="ab" * 31)):
        extra = {} if missing is None else {"Upload-Metadata": missing}
        tus_error(post(**{"Upload-Length": "10"}, **extra), 400, "invalid_sha256")
    tus_error(post(**{"Upload-Length": "10", "Upload-Metadata": metadata(sha256=sha(PNG))}),
              415, "photo_type_unsupported")
    # Keys a tus client adds of its own (tus-js-client's filename) are ignored.
    created = post(**{"Upload-Length": str(len(PNG)), "Upload-Metadata": metadata(
        filename="IMG_0001.PNG", sha256=sha(PNG).upper(), filetype="image/png")})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["sha256"] == sha(PNG)


def test_bytes_that_do_not_match_their_hash_are_refused_and_nothing_is_kept(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    tampered = PNG[:-1] + b"!"
    url = url_of(create(client, worker, PNG))
    assert patch(client, worker, url, 0, tampered[:1000]).status_code == 204
    tus_error(patch(client, worker, url, 1000, tampered[1000:]), 422, "photo_hash_mismatch")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []
    assert client.get(f"/api/v1/photos/{sha(PNG)}/status",
                      headers=worker).get_json()["status"] == "partial"
    # The upload starts over from byte 0.
    assert head(client, worker, url).headers["Upload-Offset"] == "0"
    assert patch(client, worker, url, 0, PNG).status_code == 204
    assert [p.read_bytes() for p in blobs(photo_dir)] == [PNG]


def test_photos_over_the_size_limit_are_refused_before_they_are_read(
        client, world, login, photo_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 1024)
    worker = login("t1.worker")
    tus_error(create(client, worker, PNG), 413, "photo_too_large")
    assert client.options(UPLOADS).headers["Tus-Max-Size"] == "1024"
    # A chunk may not run past the size declared for its upload, with or without a length.
    url = url_of(create(client, worker, PNG[:1000], name=sha(PNG[:1000])))
    tus_error(patch(client, worker, url, 0, PNG[:1001]), 413, "upload_exceeds_size")
    streamed = client.patch(url, input_stream=io.BytesIO(PNG[:1001]), headers={
        **worker, **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        environ_overrides={"wsgi.input_terminated": True})
    tus_error(streamed, 413, "upload_exceeds_size")
    assert head(client, worker, url).headers["Upload-Offset"] == "0"
    assert blobs(photo_dir) == []


def test_the_type_is_decided_by_the_bytes_not_by_the_declared_filetype(
        client, world, login, photo_dir):
    worker = login("t1.worker")
    body = tus_error(create(client, worker, PNG, content_type="image/gif"), 415,
                     "photo_type_unsupported")
    assert "image/heic" in body["message"]
    url = url_of(create(client, worker, NOT_AN_IMAGE, content_type="image/png"))
    # Refused with the first chunk, before the phone sends the rest.
    tus_error(patch(client, worker, url, 0, NOT_AN_IMAGE[:100]), 415, "photo_type_unsupported")
    assert blobs(photo_dir) == []
    assert partials(photo_dir) == []
    # A PNG labelled as JPEG (phones mislabel) is stored as what it is.
    assert upload(client, worker, PNG, content_type="image/jpeg").status_code == 204
    assert client.get(f"/api/v1/photos/{sha(PNG)}/status",
                      headers=worker).get_json()["content_type"] == "image/png"


def test_malformed_hashes_are_refused_on_every_photo_endpoint(client, world, login, photo_dir):
    worker = login("t1.worker")
    for response in (client.get("/api/v1/photos/" + "0" * 63 + "/status", headers=worker),
                     client.get("/api/v1/photos/" + "z" * 64, headers=worker)):
        body = assert_error(response, 422, "invalid_sha256")
        assert "sha256" in body["errors"]["path"]
    tus_error(create(client, worker, PNG, name="g" * 64), 400, "invalid_sha256")


def test_termination_forgets_the_upload_and_its_bytes(client, world, login, photo_dir):
    worker = login("t1.worker")
    url = url_of(create(client, worker, JPEG, content_type="image/jpeg"))
    assert patch(client, worker, url, 0, JPEG[:1000]).status_code == 204
    tus_error(client.delete(url, headers={**login("t1.leader"), **TUS}), 404,
              "upload_not_found")
    gone = client.delete(url, headers={**worker, **TUS})
    assert (gone.status_code, gone.headers["Tus-Resumable"]) == (204, "1.0.0")
    assert partials(photo_dir) == []
    tus_error(head(client, worker, url), 404, "upload_not_found")
    tus_error(patch(client, worker, url, 1000, JPEG[1000:]), 404, "upload_not_found")
    assert client.get(f"/api/v1/photos/{sha(JPEG)}/status",
                      headers=worker).get_json()["status"] == "missing"
    # Ending a finished upload leaves the stored photo.
    done = create(client, worker, PNG)
    assert patch(client, worker, url_of(done), 0, PNG).status_code == 204
    assert client.delete(url_of(done), headers={**worker, **TUS}).status_code == 204
    assert download(client, worker, sha(PNG)).data == PNG


def test_only_handling_roles_may_upload_and_only_their_own_uploads(
        client, world, login, photo_dir):
    for role_without_cases in ("auditor", "admin"):
        tus_error(create(client, login(role_without_cases), PNG), 403, "permission_denied")
    url = url_of(create(client, login("t1.worker"), PNG))
    tus_error(patch(client, login("t2.worker"), url, 0, PNG), 404, "upload_not_found")
    tus_error(head(client, login("t2.worker"), url), 404, "upload_not_found")
    tus_error(head(client, {}, url), 401, "unauthenticated")


def test_two_phones_uploading_the_same_photo_store_it_once(client, world, login, photo_dir):
    worker, leader = login("t1.worker"), login("t1.leader")
    mine, theirs = url_of(create(client, worker, PNG)), url_of(create(client, leader, PNG))
    assert mine != theirs
    assert patch(client, leader, theirs, 0, PNG[:100]).status_code == 204
    assert patch(client, worker, mine, 0, PNG).status_code == 204
    # The other phone learns with its next chunk that nothing more is needed.
    rest = patch(client, leader, theirs, 100, PNG[100:200])
    assert (rest.status_code, rest.headers["Upload-Offset"]) == (204, str(len(PNG)))
    assert len(blobs(photo_dir)) == 1
    assert partials(photo_dir) == []


def test_the_openapi_document_describes_the_tus_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/photos/uploads"]) >= {"options", "post"}
    assert set(paths["/api/v1/photos/uploads/{upload_id}"]) >= {"head", "patch", "delete"}
    patch_doc = paths["/api/v1/photos/uploads/{upload_id}"]["patch"]
    assert "Upload-Offset" in patch_doc["responses"]["204"]["headers"]
    assert {p["name"] for p in patch_doc["parameters"] if p["in"] == "header"} >= {
        "Tus-Resumable", "Upload-Offset", "Upload-Checksum"}
    assert "put" not in paths.get("/api/v1/photos/{sha256}", {})


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

    assert upload(client, worker, JPEG, content_type="image/jpeg").status_code == 204
    listed = client.get(f"/api/v1/photos?subject_type=case&subject_id={case['id']}",
                        headers=login("t1.dispatcher"))
    assert [(p["sha256"], p["status"]) for p in listed.get_json()] == [(sha(JPEG), "available")]
    assert download(client, login("t1.dispatcher"), sha(JPEG)).data == JPEG


def test_a_web_intake_attachment_with_a_sha256_is_linked_to_the_case(
        client, world, login, photo_dir):
    dispatcher = login("t1.dispatcher")
    assert upload(client, dispatcher, PNG).status_code == 204
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
    assert upload(client, login("t1.worker"), PNG).status_code == 204
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


def test_a_whistle_calls_photos_are_linked_to_it_and_seen_by_those_who_see_the_call(
        client, world, login, photo_dir, raise_call):
    raiser = login("t1.dispatcher")
    assert upload(client, raiser, PNG).status_code == 204
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
