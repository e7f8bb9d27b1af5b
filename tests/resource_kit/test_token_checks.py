"""What the kit accepts and refuses, over real HTTP against the sample Timesheets API.

Every refusal must be RFC 6750 section 3: 401, ``{"error": "invalid_token", ...}`` and a
``WWW-Authenticate: Bearer error="invalid_token", ...`` challenge, never a 500.
"""

from __future__ import annotations

import socket
import time
from http import HTTPStatus

import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from apps.apis.services import api_signing_secret
from apps.resource_kit import errors
from tests.factories import ApiFactory, TenantFactory
from tests.resource_kit.support import (
    TIMESHEET_SCOPES,
    TIMESHEETS_PATH,
    assert_invalid_token,
    bearer,
    compact,
    hmac_token,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Accepted ---------------------------------------------------------------------------------


def test_token_from_the_token_endpoint_is_accepted(http, resource_server):
    # given an application granted read:timesheets, with a token from the live token endpoint
    caller = resource_server.caller("read:timesheets")
    # when it calls the API
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then the kit verified it through the tenant's JWKS
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == []


def test_es256_api_tokens_are_accepted(http, resource_server):
    # given an API whose tokens Portcullis signs with the tenant's ES256 key
    api = ApiFactory(tenant=resource_server.tenant, signing_alg="ES256", scopes=dict(TIMESHEET_SCOPES))
    resource_server.configure(AUDIENCE=api.identifier, ALGORITHMS=["ES256"])
    caller = resource_server.caller("read:timesheets", api=api)
    # when the token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then it verifies against the ES256 key of the JWKS
    assert response.status_code == HTTPStatus.OK, response.content


def test_hs256_api_tokens_are_accepted_with_the_apis_secret(http, resource_server):
    # given an HS256 API and the kit configured with that API's shared secret
    api = ApiFactory(tenant=resource_server.tenant, signing_alg="HS256", scopes=dict(TIMESHEET_SCOPES))
    resource_server.configure(
        AUDIENCE=api.identifier, ALGORITHMS=["RS256", "HS256"], HS256_SECRET=api_signing_secret(api=api)
    )
    caller = resource_server.caller("read:timesheets", api=api)
    # when the token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then it is accepted
    assert response.status_code == HTTPStatus.OK, response.content


def test_hs256_tokens_are_refused_when_the_api_does_not_allow_hs256(http, resource_server):
    # given an HS256 API's token, and a kit that only accepts RS256/ES256
    api = ApiFactory(tenant=resource_server.tenant, signing_alg="HS256", scopes=dict(TIMESHEET_SCOPES))
    resource_server.configure(AUDIENCE=api.identifier)
    caller = resource_server.caller("read:timesheets", api=api)
    # when the token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then its algorithm is refused
    assert_invalid_token(response, errors.MSG_ALG_NOT_ALLOWED)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+JWT"])
def test_both_rfc_9068_typ_spellings_are_accepted(http, resource_server, typ):
    # given a well-signed token with one of the typ values RFC 9068 section 4 allows
    token = resource_server.forge(typ=typ)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is accepted
    assert response.status_code == HTTPStatus.OK, response.content


def test_aud_may_be_a_list_containing_the_api(http, resource_server):
    # given a token for two audiences, one of them this API
    token = resource_server.forge(
        resource_server.claims(aud=["https://other.example", resource_server.api.identifier])
    )
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is accepted (RFC 7519 section 4.1.3)
    assert response.status_code == HTTPStatus.OK, response.content


# --- Missing or malformed credentials -------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Token abc"])
def test_no_bearer_token_gets_a_bare_challenge(http, resource_server, authorization):
    # given a request without a Bearer token
    headers = {"Authorization": authorization} if authorization else {}
    # when it calls the API
    response = http.get(TIMESHEETS_PATH, headers=headers)
    # then 401 with a challenge naming the realm and no error code (RFC 6750 section 3.1)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{resource_server.api.identifier}"'
    assert response.json() == {"error_description": errors.MSG_TOKEN_MISSING}


def test_realm_can_be_configured(http, resource_server):
    # given a configured realm
    resource_server.configure(REALM="timesheets")
    # when a request has no token
    response = http.get(TIMESHEETS_PATH)
    # then the challenge uses it
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="timesheets"'


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer a b", "bearer   "])
def test_malformed_authorization_header_is_invalid_request(http, resource_server, authorization):
    # given an Authorization header with the Bearer scheme but not exactly one token
    # when it calls the API
    response = http.get(TIMESHEETS_PATH, headers={"Authorization": authorization})
    # then 400 invalid_request (RFC 6750 section 3.1)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "error": "invalid_request",
        "error_description": errors.MSG_AUTHORIZATION_MALFORMED,
    }
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "not@a#b64token", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_garbage_token_is_invalid_token(http, resource_server, token):
    # given a token that is not a JWT
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then 401 invalid_token
    assert_invalid_token(response, errors.MSG_TOKEN_MALFORMED)


def test_bearer_scheme_is_case_insensitive(http, resource_server):
    # given a valid token sent with "bearer" in lower case (RFC 7235 section 2.1)
    token = resource_server.forge()
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers={"Authorization": f"bearer {token}"})
    # then it is accepted
    assert response.status_code == HTTPStatus.OK, response.content


# --- Claims ---------------------------------------------------------------------------------------


def test_expired_token_is_refused(http, resource_server):
    # given a token that expired an hour ago, well past the leeway
    now = int(time.time())
    token = resource_server.forge(resource_server.claims(iat=now - 7200, exp=now - 3600))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused as expired
    assert_invalid_token(response, errors.MSG_EXPIRED)


def test_expiry_within_the_leeway_is_tolerated(http, resource_server):
    # given a token that expired a few seconds ago (clock skew)
    now = int(time.time())
    token = resource_server.forge(resource_server.claims(iat=now - 600, exp=now - 5))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then the default leeway accepts it
    assert response.status_code == HTTPStatus.OK, response.content


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_from_the_future_is_refused(http, resource_server, claim):
    # given a token that only becomes valid in an hour
    token = resource_server.forge(resource_server.claims(**{claim: int(time.time()) + 3600}))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, errors.MSG_NOT_YET_VALID)


def test_token_for_another_api_of_the_same_tenant_is_refused(http, resource_server):
    # given a real token, from the same issuer, for another API
    other_api = ApiFactory(tenant=resource_server.tenant, scopes=dict(TIMESHEET_SCOPES))
    caller = resource_server.caller("read:timesheets", api=other_api)
    # when it is used against the Timesheets API
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then its audience is wrong
    assert_invalid_token(response, errors.MSG_AUDIENCE_INVALID)


@pytest.mark.parametrize(
    "issuer",
    ["https://evil.example/t/{slug}/", "{base}/t/{slug}", "{base}/t/{slug}/extra/", "{base}/T/{slug}/"],
)
def test_wrong_issuer_is_refused(http, resource_server, issuer):
    # given a token signed with the tenant's key but naming another issuer (or a near miss)
    iss = issuer.format(base=resource_server.base_url, slug=resource_server.tenant.slug)
    token = resource_server.forge(resource_server.claims(iss=iss))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then the issuer must match exactly
    assert_invalid_token(response, errors.MSG_ISSUER_INVALID)


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat"])
def test_required_claims_are_required(http, resource_server, claim):
    # given a well-signed token without one of the required claims
    token = resource_server.forge(resource_server.claims(**{claim: None}))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused, naming the claim
    assert_invalid_token(response, errors.MSG_CLAIM_MISSING.format(claim=claim))


@pytest.mark.parametrize(("claim", "value"), [("sub", ""), ("scope", ["read:timesheets"]), ("client_id", 7)])
def test_claims_of_the_wrong_type_are_refused(http, resource_server, claim, value):
    # given a well-signed token with a claim the kit reads in the wrong shape
    token = resource_server.forge(resource_server.claims(**{claim: value}))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, errors.MSG_CLAIM_INVALID.format(claim=claim))


# --- Header and key confusion ---------------------------------------------------------------------


@pytest.mark.parametrize("typ", [None, "JWT", "application/jwt", "id_token+jwt", "at+jwt2"])
def test_plain_jwt_is_not_an_access_token(http, resource_server, typ):
    # given a token signed by the issuer but not typed at+jwt (e.g. an ID token)
    token = resource_server.forge(typ=typ)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused (RFC 9068 section 4)
    assert_invalid_token(response, errors.MSG_TYP_INVALID)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_token_is_refused(http, resource_server, alg):
    # given an alg "none" token claiming every scope, with a real kid
    header = {"alg": alg, "typ": "at+jwt", "kid": resource_server.signing_key().kid}
    token = compact(header, resource_server.claims())
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, errors.MSG_ALG_NOT_ALLOWED)


@pytest.mark.parametrize("allow_hs256", [False, True])
def test_hs256_signed_with_the_rsa_public_key_is_refused(http, resource_server, allow_hs256):
    # given the classic algorithm-confusion forgery: HS256 keyed with the issuer's published RSA key
    if allow_hs256:
        hs_api = ApiFactory(tenant=resource_server.tenant, signing_alg="HS256")
        resource_server.configure(ALGORITHMS=["RS256", "HS256"], HS256_SECRET=api_signing_secret(api=hs_api))
    jwks = http.get(f"/t/{resource_server.tenant.slug}/.well-known/jwks.json").json()
    rsa_jwk = next(jwk for jwk in jwks["keys"] if jwk["kty"] == "RSA")
    public_pem = RSAAlgorithm.from_jwk(rsa_jwk).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_jwk["kid"]}
    token = hmac_token(header, resource_server.claims(), secret=public_pem)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused: HS256 is not allowed, or is checked only with the API's own secret
    expected = errors.MSG_SIGNATURE_INVALID if allow_hs256 else errors.MSG_ALG_NOT_ALLOWED
    assert_invalid_token(response, expected)


@pytest.mark.parametrize(
    ("kid", "expected"),
    [
        ("other", errors.MSG_KEY_UNKNOWN),  # the other tenant's own kid: not in this JWKS
        (None, errors.MSG_KID_MISSING),
        ("victim", errors.MSG_SIGNATURE_INVALID),  # this tenant's kid, the other tenant's signature
    ],
)
def test_token_signed_by_another_tenants_key_is_refused(http, resource_server, kid, expected):
    # given a token with this tenant's issuer and audience, signed by another tenant's key
    other_key = resource_server.signing_key(tenant=TenantFactory())
    kid_header = {"other": other_key.kid, None: None, "victim": resource_server.signing_key().kid}[kid]
    token = resource_server.forge(key=other_key, kid=kid_header)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, expected)


def test_real_token_of_another_tenant_is_refused(http, resource_server):
    # given another tenant with an API of the same identifier, and a real token from it
    other = TenantFactory()
    other_api = ApiFactory(
        tenant=other, identifier=resource_server.api.identifier, scopes=dict(TIMESHEET_SCOPES)
    )
    caller = resource_server.caller("read:timesheets", api=other_api, tenant=other)
    # when it is used against an API trusting the first tenant
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then the other tenant's key is unknown here
    assert_invalid_token(response, errors.MSG_KEY_UNKNOWN)


def test_kid_of_a_key_for_another_algorithm_is_refused(http, resource_server):
    # given an RS256 token whose kid names the tenant's ES256 key
    token = resource_server.forge(kid=resource_server.signing_key("ES256").kid)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then the key does not fit the algorithm
    assert_invalid_token(response, errors.MSG_KEY_ALG_MISMATCH)


def test_algorithm_outside_the_configured_list_is_refused(http, resource_server):
    # given a genuine ES256 token, and a kit configured for RS256 only
    resource_server.configure(ALGORITHMS=["RS256"])
    token = resource_server.forge(algorithm="ES256")
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, errors.MSG_ALG_NOT_ALLOWED)


def test_tampered_payload_is_refused(http, resource_server):
    # given a genuine token whose payload was swapped for one with more scopes
    header, _, signature = resource_server.caller("read:timesheets").token.split(".")
    forged_payload = resource_server.forge().split(".")[1]
    token = f"{header}.{forged_payload}.{signature}"
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then the signature no longer matches
    assert_invalid_token(response, errors.MSG_SIGNATURE_INVALID)


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        ({"crit": ["exp-ext"], "exp-ext": 1}, errors.MSG_TOKEN_MALFORMED),  # PyJWT refuses unknown ones
        ({"crit": ["b64"], "b64": True}, errors.MSG_CRIT_UNSUPPORTED),  # PyJWT knows it; the kit does not
    ],
)
def test_critical_header_extensions_are_refused(http, resource_server, extension, expected):
    # given a signed token declaring a critical extension (RFC 7515 section 4.1.11)
    key = resource_server.signing_key()
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.kid, **extension}
    rs256 = RSAAlgorithm(RSAAlgorithm.SHA256)
    token = compact(header, resource_server.claims(), lambda data: rs256.sign(data, key.private_key))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused
    assert_invalid_token(response, expected)


# --- JWKS availability ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "http://127.0.0.1:{closed_port}/t/x/.well-known/jwks.json",  # connection refused
        "{base}/t/no-such-tenant/.well-known/jwks.json",  # 404
        "{base}/healthz",  # JSON, but not a JWK Set
        "{base}/admin/login/",  # HTML
    ],
)
def test_unreachable_jwks_is_invalid_token_not_a_server_error(http, resource_server, jwks_uri):
    # given a kit whose JWKS endpoint cannot provide keys
    resource_server.configure(
        JWKS_URI=jwks_uri.format(closed_port=closed_port(), base=resource_server.base_url), JWKS_TIMEOUT=2
    )
    caller = resource_server.caller("read:timesheets")
    # when a valid token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then 401 says the keys could not be fetched
    assert_invalid_token(response, errors.MSG_JWKS_UNAVAILABLE)


def test_jwks_uri_defaults_to_the_issuers_well_known_path(http, resource_server):
    # given an issuer whose host does not answer (no JWKS_URI override)
    resource_server.configure(ISSUER=f"http://127.0.0.1:{closed_port()}/t/{resource_server.tenant.slug}/")
    caller = resource_server.caller("read:timesheets")
    # when a token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then the keys were looked for at that issuer, and could not be fetched
    assert_invalid_token(response, errors.MSG_JWKS_UNAVAILABLE)
