"""Sign-in, bearer tokens per device, expiry and revocation, through the HTTP API."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import sqlalchemy as sa

from server.auth.models import AuthToken
from tests.fixtures.world import PASSWORD


def assert_error(response, status: int, code: str) -> dict:  # noqa: ANN001
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["message"]
    assert body["request_id"]
    return body


def test_login_returns_a_token_that_identifies_the_user(client, world):
    response = client.post(
        "/api/v1/auth/login", json={"username": "t1.worker", "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "t1.worker"
    assert me.get_json()["roles"] == ["grid_worker"]
    assert me.get_json()["unit"]["code"] == "T1-C1"


def test_tokens_are_stored_only_as_hashes(client, world, db_session):
    token = client.post("/api/v1/auth/login",
                        json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    stored = db_session.scalars(sa.select(AuthToken.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in stored


def test_wrong_password_and_unknown_user_get_the_same_answer(client, world):
    wrong = client.post("/api/v1/auth/login", json={"username": "admin", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope-nope"})
    assert assert_error(wrong, 401, "invalid_credentials")["message"] == \
        assert_error(unknown, 401, "invalid_credentials")["message"]


def test_login_validation_names_the_field(client, world):
    body = assert_error(client.post("/api/v1/auth/login", json={"username": "admin"}),
                        422, "validation_failed")
    assert "password" in body["errors"]["json"]
    body = assert_error(
        client.post("/api/v1/auth/login",
                    json={"username": "admin", "password": PASSWORD, "pasword": "x"}),
        422, "validation_failed")
    assert "pasword" in body["errors"]["json"]


def test_requests_without_or_with_a_bad_token_are_refused(client, world):
    assert_error(client.get("/api/v1/auth/me"), 401, "unauthenticated")
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"}),
                 401, "invalid_token")


def test_an_expired_token_is_refused(client, world, db_session):
    token = client.post("/api/v1/auth/login",
                        json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    record = db_session.scalars(sa.select(AuthToken)).one()
    record.expires_at = record.created_at - timedelta(seconds=1)
    db_session.flush()
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}),
                 401, "invalid_token")


def test_logout_revokes_only_the_current_token(client, world):
    first = client.post("/api/v1/auth/login",
                        json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    second = client.post("/api/v1/auth/login",
                         json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    assert client.post("/api/v1/auth/logout",
                       headers={"Authorization": f"Bearer {first}"}).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {first}"}),
                 401, "invalid_token")
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code
        == 200
    )


def test_a_phone_signing_in_again_replaces_its_own_token_only(client, world):
    phone, tablet = str(uuid.uuid4()), str(uuid.uuid4())

    def sign_in(device: str) -> str:
        return client.post("/api/v1/auth/login", json={
            "username": "t1.worker", "password": PASSWORD, "device_id": device,
            "device_name": "Huawei"}).get_json()["token"]

    old_phone, tablet_token = sign_in(phone), sign_in(tablet)
    new_phone = sign_in(phone)
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_phone}"}),
                 401, "invalid_token")
    for token in (new_phone, tablet_token):
        assert (
            client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )


def test_one_device_can_be_revoked_and_others_tokens_are_not_found(client, world):
    phone = str(uuid.uuid4())
    phone_token = client.post("/api/v1/auth/login", json={
        "username": "t1.worker", "password": PASSWORD, "device_id": phone}).get_json()["token"]
    web_token = client.post("/api/v1/auth/login", json={
        "username": "t1.worker", "password": PASSWORD}).get_json()["token"]
    web = {"Authorization": f"Bearer {web_token}"}
    # Used once first, so this process has it cached: revocation must still bite at once.
    assert client.get("/api/v1/auth/me",
                      headers={"Authorization": f"Bearer {phone_token}"}).status_code == 200
    listed = client.get("/api/v1/auth/tokens", headers=web).get_json()
    assert {t["device_id"] for t in listed} == {phone, None}
    phone_entry = next(t for t in listed if t["device_id"] == phone)

    admin_token = client.post("/api/v1/auth/login",
                              json={"username": "admin", "password": PASSWORD}).get_json()["token"]
    assert_error(client.delete(f"/api/v1/auth/tokens/{phone_entry['id']}",
                               headers={"Authorization": f"Bearer {admin_token}"}),
                 404, "token_not_found")

    assert client.delete(f"/api/v1/auth/tokens/{phone_entry['id']}", headers=web).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {phone_token}"}),
                 401, "invalid_token")
    assert client.get("/api/v1/auth/me", headers=web).status_code == 200


def test_admin_revokes_a_lost_phone_of_another_user(client, world, login):
    phone = str(uuid.uuid4())
    phone_token = client.post("/api/v1/auth/login", json={
        "username": "t2.worker", "password": PASSWORD, "device_id": phone}).get_json()["token"]
    user_id = world.users["t2.worker"].id
    assert_error(client.delete(f"/api/v1/users/{user_id}/devices/{phone}",
                               headers=login("t2.dispatcher")), 403, "permission_denied")
    assert client.delete(f"/api/v1/users/{user_id}/devices/{phone}",
                         headers=login("admin")).status_code == 204
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {phone_token}"}),
                 401, "invalid_token")


def test_signing_in_from_a_phone_registers_the_device_once(client, world, db_session):
    from server.auth.models import Device

    phone = str(uuid.uuid4())
    for name in ("Huawei P60", "Huawei P60 (renamed)"):
        token = client.post("/api/v1/auth/login", json={
            "username": "t1.worker", "password": PASSWORD, "device_id": phone,
            "device_name": name}).get_json()["token"]
    [device] = db_session.scalars(sa.select(Device)).all()
    assert (str(device.id), device.user_id, device.name) == \
        (phone, world.users["t1.worker"].id, "Huawei P60 (renamed)")
    tokens = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {token}"})
    assert [t["device_id"] for t in tokens.get_json()] == [phone]
