"""keys/signing: list, get, rotate, revoke (Auth0's Management API v2, Keys)."""

from __future__ import annotations

import hashlib
from http import HTTPStatus

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from apps.audit.models import AuditEvent
from apps.tenants.models import SigningKey

AUTH0_FIELDS = {"kid", "cert", "fingerprint", "thumbprint", "current", "next", "previous", "revoked"}


def _keys(tenant, **filters):
    return SigningKey.objects.for_tenant(tenant).filter(**filters)


def test_list_answers_every_key_in_auth0_shape(mgmt):
    # given a fresh tenant: a current and a next key per algorithm
    # when
    response = mgmt.call("GET", "keys/signing")
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert {key["kid"] for key in body} == set(_keys(mgmt.tenant).values_list("kid", flat=True))
    for key in body:
        assert set(key) >= AUTH0_FIELDS
        stored = _keys(mgmt.tenant).get(kid=key["kid"])
        assert key["current"] == (stored.state == "current")
        assert key["next"] == (stored.state == "next")
        assert key["previous"] is False and key["revoked"] is False
        assert key["algorithm"] == stored.algorithm
        assert ("current_since" in key) == key["current"]


def test_cert_is_the_public_key_pem_of_the_published_jwk_with_its_sha1_fingerprints(mgmt):
    # given
    stored = _keys(mgmt.tenant, algorithm="RS256", state="current").get()
    # when
    key = mgmt.call("GET", f"keys/signing/{stored.kid}").json()
    # then the PEM is the same public key as the JWK verifiers fetch
    public_key = serialization.load_pem_public_key(key["cert"].encode())
    assert public_key.public_numbers() == jwt.PyJWK(stored.public_jwk).key.public_numbers()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    sha1 = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    assert key["thumbprint"] == sha1
    assert key["fingerprint"].replace(":", "") == sha1
    assert key["current"] is True


def test_rotate_promotes_next_and_answers_the_new_next_key_audited_with_the_client(mgmt):
    # given
    old_current = _keys(mgmt.tenant, algorithm="RS256", state="current").get().kid
    old_next = _keys(mgmt.tenant, algorithm="RS256", state="next").get().kid
    # when
    response = mgmt.call("POST", "keys/signing/rotate")
    # then
    assert response.status_code == HTTPStatus.CREATED, response.text
    new_next = _keys(mgmt.tenant, algorithm="RS256", state="next").get().kid
    assert response.json()["kid"] == new_next
    assert response.json()["cert"].startswith("-----BEGIN PUBLIC KEY-----")
    listed = {key["kid"]: key for key in mgmt.call("GET", "keys/signing").json()}
    assert listed[old_next]["current"] is True
    assert listed[old_current]["previous"] is True and "current_until" in listed[old_current]
    event = AuditEvent.objects.filter(tenant=mgmt.tenant, type=AuditEvent.Type.SIGNING_KEY_ROTATED).first()
    assert event.actor_label == f"client {mgmt.client_id}"


def test_revoke_the_current_key_promotes_next_and_marks_it_revoked_audited(mgmt):
    # given
    current = _keys(mgmt.tenant, algorithm="ES256", state="current").get().kid
    # when
    response = mgmt.call("PUT", f"keys/signing/{current}/revoke")
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["kid"] == current
    key = mgmt.call("GET", f"keys/signing/{current}").json()
    assert key["revoked"] is True and key["current"] is False and "revoked_at" in key
    assert _keys(mgmt.tenant, algorithm="ES256", state="current").exists()
    event = AuditEvent.objects.get(tenant=mgmt.tenant, type=AuditEvent.Type.SIGNING_KEY_REVOKED)
    assert (event.target, event.actor_label) == (current, f"client {mgmt.client_id}")


def test_revoke_twice_is_refused_with_already_revoked(mgmt):
    # given
    kid = _keys(mgmt.tenant, algorithm="ES256", state="next").get().kid
    assert mgmt.call("PUT", f"keys/signing/{kid}/revoke").status_code == HTTPStatus.OK
    # when
    response = mgmt.call("PUT", f"keys/signing/{kid}/revoke")
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errorCode"] == "already_revoked"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "keys/signing/{kid}"), ("PUT", "keys/signing/{kid}/revoke")],
)
def test_another_tenants_kid_is_not_found(mgmt, other_mgmt, method, path):
    # given a key of another tenant
    kid = _keys(other_mgmt.tenant, state="current").first().kid
    # when
    response = mgmt.call(method, path.format(kid=kid))
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The signing key does not exist",
        "errorCode": "inexistent_signing_key",
    }
    assert not _keys(other_mgmt.tenant, state="revoked").exists()


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "keys/signing", "read:signing_keys"),
        ("GET", "keys/signing/{kid}", "read:signing_keys"),
        ("POST", "keys/signing/rotate", "create:signing_keys"),
        ("PUT", "keys/signing/{kid}/revoke", "update:signing_keys"),
    ],
)
def test_each_operation_needs_its_scope(mgmt, method, path, scope):
    # given a token with every scope but the one needed
    kid = _keys(mgmt.tenant, state="current").first().kid
    others = [s for s in ("read:signing_keys", "create:signing_keys", "update:signing_keys") if s != scope]
    token = mgmt.token(others)
    # when
    response = mgmt.call(method, path.format(kid=kid), token=token)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["errorCode"] == "insufficient_scope"
    assert scope in response.json()["message"]
    assert not _keys(mgmt.tenant, state__in=["revoked", "previous"]).exists()


def test_another_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("POST", "keys/signing/rotate", token=other_mgmt.token())
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert not _keys(mgmt.tenant, state="previous").exists()


def test_a_nul_in_the_kid_is_bad_input_not_a_server_error(mgmt):
    # when
    response = mgmt.call("GET", "keys/signing/a%00b")
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errorCode"] == "invalid_uri"
