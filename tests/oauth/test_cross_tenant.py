"""No token-endpoint, discovery or JWKS request crosses from one tenant into another."""

from __future__ import annotations

import base64
from http import HTTPStatus

import jwt
import pytest

from apps.applications.services import AuthMethod, application_update
from tests.tenancy import CrossTenantProbe, TwoTenants, assert_refused, two_tenants


def _basic(setup) -> dict[str, str]:
    return {
        "Authorization": "Basic "
        + base64.b64encode(f"{setup.client_id}:{setup.client_secret}".encode()).decode()
    }


def _basic_client_at_b(http, t: TwoTenants):
    application_update(application=t.a.application, token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC)
    try:
        return http.post(
            t.b.token_path(), data=t.a.form(client_id=None, client_secret=None), headers=_basic(t.a)
        )
    finally:
        application_update(
            application=t.a.application, token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_POST
        )


PROBES = [
    CrossTenantProbe(
        "A's client at B's token endpoint, A's audience",
        lambda http, t: http.post(t.b.token_path(), data=t.a.form()),
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
    ),
    CrossTenantProbe(
        "A's client at B's token endpoint, B's audience",
        lambda http, t: http.post(t.b.token_path(), data=t.a.form(audience=t.b.api.identifier)),
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
    ),
    CrossTenantProbe(
        "A's client (HTTP Basic) at B's token endpoint",
        _basic_client_at_b,
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
    ),
    CrossTenantProbe(
        "A's client at its own endpoint asking for B's API",
        lambda http, t: http.post(t.a.token_path(), data=t.a.form(audience=t.b.api.identifier)),
        HTTPStatus.FORBIDDEN,
        "access_denied",
    ),
    CrossTenantProbe(
        "A's client naming B's API as an RFC 8707 resource",
        lambda http, t: http.post(
            t.a.token_path(), data=t.a.form(audience=None, resource=t.b.api.identifier)
        ),
        HTTPStatus.FORBIDDEN,
        "access_denied",
    ),
]


@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_token_endpoint_never_crosses_tenants(http, db, probe: CrossTenantProbe):
    # given two tenants whose APIs share nothing but the server
    tenants = two_tenants()
    # when tenant A's credentials are used against tenant B
    response = probe.send(http, tenants)
    # then the request is refused, and each tenant's own client still works
    assert_refused(response, probe)
    assert http.post(tenants.a.token_path(), data=tenants.a.form()).status_code == HTTPStatus.OK
    assert http.post(tenants.b.token_path(), data=tenants.b.form()).status_code == HTTPStatus.OK


def test_same_api_identifier_in_two_tenants_stays_separate(http, db):
    # given two tenants that each define an API with the same identifier
    from tests.conftest import make_m2m_setup
    from tests.factories import ApiFactory, ClientGrantFactory

    a, b = make_m2m_setup(), make_m2m_setup()
    shared = "https://shared.example.com"
    api_a = ApiFactory(tenant=a.tenant, identifier=shared, scopes={"a:only": ""})
    api_b = ApiFactory(tenant=b.tenant, identifier=shared, scopes={"b:only": ""})
    ClientGrantFactory(application=a.application, api=api_a, scopes=["a:only"])
    ClientGrantFactory(application=b.application, api=api_b, scopes=["b:only"])
    # when each asks for the shared audience
    token_a = http.post(a.token_path(), data=a.form(audience=shared)).json()
    token_b = http.post(b.token_path(), data=b.form(audience=shared)).json()
    # then each gets its own tenant's scopes, signed by its own tenant's key
    assert token_a["scope"] == "a:only" and token_b["scope"] == "b:only"
    kid_a = jwt.get_unverified_header(token_a["access_token"])["kid"]
    kids_b = {key["kid"] for key in http.get(f"/t/{b.tenant.slug}/.well-known/jwks.json").json()["keys"]}
    assert kid_a not in kids_b


def test_token_from_one_tenant_does_not_verify_with_anothers_jwks(http, db):
    # given
    tenants = two_tenants()
    token = http.post(tenants.a.token_path(), data=tenants.a.form()).json()["access_token"]
    jwks_b = jwt.PyJWKClient(f"{http.base_url}/t/{tenants.b.tenant.slug}/.well-known/jwks.json")
    # when / then
    with pytest.raises(jwt.PyJWKClientError):
        jwks_b.get_signing_key_from_jwt(token)


def test_discovery_and_jwks_describe_only_their_own_tenant(http, live_server, db):
    # given
    tenants = two_tenants()
    for own, other in ((tenants.a, tenants.b), (tenants.b, tenants.a)):
        # when
        metadata = http.get(f"/t/{own.tenant.slug}/.well-known/openid-configuration").json()
        keys = http.get(metadata["jwks_uri"]).json()["keys"]
        other_keys = http.get(f"/t/{other.tenant.slug}/.well-known/jwks.json").json()["keys"]
        # then
        assert metadata["issuer"] == f"{live_server.url}/t/{own.tenant.slug}/"
        assert {k["kid"] for k in keys}.isdisjoint({k["kid"] for k in other_keys})
