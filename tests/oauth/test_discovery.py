"""OIDC discovery and the JWKS of a tenant."""

from __future__ import annotations

from http import HTTPStatus

from apps.tenants.models import SigningKey
from apps.tenants.services import signing_key_create

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_discovery_lists_the_endpoints_that_exist(http, live_server, m2m):
    # when
    response = http.get(f"/t/{m2m.tenant.slug}/.well-known/openid-configuration")
    # then
    assert response.status_code == HTTPStatus.OK
    metadata = response.json()
    issuer = f"{live_server.url}/t/{m2m.tenant.slug}/"
    assert metadata["issuer"] == issuer
    assert metadata["token_endpoint"] == f"{issuer}oauth/token"
    assert metadata["jwks_uri"] == f"{issuer}.well-known/jwks.json"
    assert metadata["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "http://auth0.com/oauth/grant-type/mfa-otp",
        "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        "http://auth0.com/oauth/grant-type/password-realm",
        "implicit",
        "password",
        "refresh_token",
    ]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert metadata["authorization_endpoint"] == f"{issuer}authorize"
    assert metadata["userinfo_endpoint"] == f"{issuer}userinfo"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    for key, value in metadata.items():
        if key.endswith("_endpoint") or key == "jwks_uri":
            assert http.request("OPTIONS" if key == "token_endpoint" else "GET", value).status_code != 404, (
                key
            )


def test_jwks_publishes_next_current_previous_and_never_private_members(http, m2m):
    # given a next and a revoked key besides the current ones
    upcoming = signing_key_create(tenant=m2m.tenant, algorithm="RS256", state=SigningKey.State.NEXT)
    revoked = signing_key_create(tenant=m2m.tenant, algorithm="ES256", state=SigningKey.State.REVOKED)
    # when
    response = http.get(f"/t/{m2m.tenant.slug}/.well-known/jwks.json")
    # then
    assert response.status_code == HTTPStatus.OK
    keys = response.json()["keys"]
    kids = {key["kid"] for key in keys}
    assert upcoming.kid in kids and revoked.kid not in kids
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}
    for key in keys:
        assert PRIVATE_MEMBERS.isdisjoint(key), key
        assert key["use"] == "sig"


def test_discovery_of_unknown_tenant_is_404(http, db):
    response = http.get("/t/nobody/.well-known/openid-configuration")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"
