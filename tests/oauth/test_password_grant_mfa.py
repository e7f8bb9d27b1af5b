"""The password grant with MFA, end to end over HTTP with a real TOTP generator (Auth0's
"Authenticate using the Resource Owner Password Flow with MFA")."""

from __future__ import annotations

import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import jwt
import pyotp
import pytest
from django.core.cache import cache

from apps.accounts.errors import (
    INVALID_OTP_MESSAGE,
    INVALID_RECOVERY_CODE_MESSAGE,
    MFA_REQUIRED_MESSAGE,
    MFA_TOKEN_MALFORMED_MESSAGE,
)
from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled
from apps.accounts.mfa.services import otp_verify, tenant_mfa_policy_set, totp_associate
from apps.audit.models import TokenEvent
from apps.oauth.constants import GrantType
from apps.oauth.mfa_api import MFA_API_TOKEN_LIFETIME
from tests.factories import ApplicationFactory
from tests.oauth.helpers import verify_with_jwks
from tests.oauth.test_password_grant import TRUSTED_GRANT_TYPES, password_form, token
from tests.oauth.user_flow import make_user_setup

pytestmark = pytest.mark.django_db(transaction=True)

MFA_GRANT_TYPES = [*TRUSTED_GRANT_TYPES, GrantType.MFA_OTP, GrantType.MFA_RECOVERY_CODE]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters start empty: in the database (without ``REDIS_URL``) rows are rolled back or flushed
    after each test; in a shared cache (with it) they would outlive the test, so it is emptied."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def trusted():
    return make_user_setup(grant_types=MFA_GRANT_TYPES)


def enrol(setup) -> tuple[pyotp.TOTP, list[str]]:
    """Enrol the user with TOTP as the account page does; the confirming code is a step ago, so
    the current one is still unused."""
    association = totp_associate(tenant=setup.tenant, user=setup.user)
    totp = pyotp.TOTP(association.secret)
    otp_verify(tenant=setup.tenant, user=setup.user, code=totp.at(time.time() - 30), ip=None, now=time.time())
    return totp, association.recovery_codes


def mfa_grant(http, setup, grant_type: GrantType, **fields):
    form = {
        "grant_type": grant_type.value,
        "client_id": setup.application.client_id,
        "client_secret": setup.application.plaintext_secret,
        **fields,
    }
    return http.post(f"{setup.issuer_path}oauth/token", data=form)


def mfa_required(http, setup, **overrides) -> str:
    response = token(http, setup, **overrides)
    assert response.status_code == HTTPStatus.FORBIDDEN, response.text
    body = response.json()
    assert body["error"] == "mfa_required"
    assert body["error_description"] == MFA_REQUIRED_MESSAGE
    return body["mfa_token"]


def test_an_enrolled_user_completes_the_password_grant_with_a_one_time_code(http, trusted):
    # given a user with TOTP enrolled
    totp, _ = enrol(trusted)

    # when the backend signs them in with their password
    mfa_token = mfa_required(http, trusted)
    # and asks which challenge to answer
    challenge = http.post(
        f"{trusted.issuer_path}mfa/challenge",
        data={
            "client_id": trusted.application.client_id,
            "client_secret": trusted.application.plaintext_secret,
            "mfa_token": mfa_token,
            "challenge_type": "otp",
        },
    )
    assert challenge.status_code == HTTPStatus.OK, challenge.text
    assert challenge.json() == {"challenge_type": "otp"}
    # and sends the code from the user's authenticator app
    response = mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=totp.now())

    # then it gets what the password grant asked for: the API's token, a refresh token, an ID token
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["scope"] == "openid profile read:things offline_access"
    claims = verify_with_jwks(
        http, body["access_token"], tenant_slug=trusted.tenant.slug, audience=trusted.api.identifier
    )
    assert claims["sub"] == f"auth0|{trusted.user.pk}"
    assert body["refresh_token"] and body["id_token"]
    types = set(TokenEvent.objects.filter(tenant=trusted.tenant).values_list("type", flat=True))
    assert types == {TokenEvent.Type.FAILED_PASSWORD, TokenEvent.Type.SUCCESS_MFA_OTP}


def test_a_code_is_single_use_and_a_wrong_one_is_refused(http, trusted):
    totp, _ = enrol(trusted)
    mfa_token = mfa_required(http, trusted)

    code = totp.now()  # once: a second now() may fall in the next 30 s step, a new valid code
    wrong_code = "000000" if code != "000000" else "111111"

    wrong = mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=wrong_code)
    ok = mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=code)
    replay = mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=code)

    assert wrong.status_code == HTTPStatus.FORBIDDEN
    assert wrong.json() == {"error": "invalid_grant", "error_description": INVALID_OTP_MESSAGE}
    assert ok.status_code == HTTPStatus.OK, ok.text
    assert replay.status_code == HTTPStatus.FORBIDDEN
    assert replay.json()["error_description"] == INVALID_OTP_MESSAGE


def test_wrong_codes_are_brute_force_protected(http, trusted, settings):
    # given a tenant whose users get 3 tries at a code
    settings.MFA_MAX_FAILED_ATTEMPTS = 3
    totp, _ = enrol(trusted)
    mfa_token = mfa_required(http, trusted)
    for _ in range(3):
        mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp="000000")

    # when the right code comes after that
    response = mfa_grant(http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=totp.now())

    # then it is refused too: 429 too_many_attempts, with when to come back
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["error"] == "too_many_attempts"
    assert int(response.headers["Retry-After"]) > 0


def test_a_recovery_code_works_once(http, trusted):
    _, recovery_codes = enrol(trusted)
    mfa_token = mfa_required(http, trusted)

    first = mfa_grant(
        http, trusted, GrantType.MFA_RECOVERY_CODE, mfa_token=mfa_token, recovery_code=recovery_codes[0]
    )
    again = mfa_grant(
        http, trusted, GrantType.MFA_RECOVERY_CODE, mfa_token=mfa_token, recovery_code=recovery_codes[0]
    )

    assert first.status_code == HTTPStatus.OK, first.text
    assert again.status_code == HTTPStatus.FORBIDDEN
    assert again.json() == {"error": "invalid_grant", "error_description": INVALID_RECOVERY_CODE_MESSAGE}
    assert TokenEvent.objects.filter(type=TokenEvent.Type.SUCCESS_MFA_RECOVERY_CODE).count() == 1


def test_the_mfa_token_only_serves_the_client_it_was_issued_to(http, trusted):
    # given an mfa_token issued to the trusted backend, and another application of the tenant
    totp, _ = enrol(trusted)
    mfa_token = mfa_required(http, trusted)
    other = ApplicationFactory(tenant=trusted.tenant, app_type="regular_web", grant_types=MFA_GRANT_TYPES)

    response = http.post(
        f"{trusted.issuer_path}oauth/token",
        data={
            "grant_type": GrantType.MFA_OTP.value,
            "client_id": other.client_id,
            "client_secret": other.plaintext_secret,
            "mfa_token": mfa_token,
            "otp": totp.now(),
        },
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "invalid_grant", "error_description": MFA_TOKEN_MALFORMED_MESSAGE}


def test_when_the_tenant_requires_mfa_a_new_user_enrols_with_the_mfa_token(http, trusted):
    # given a tenant that requires MFA and a user without a second factor
    tenant_mfa_policy_set(tenant=trusted.tenant, policy=MfaPolicy.ALWAYS)

    # when the password grant answers mfa_required and the backend associates an authenticator
    mfa_token = mfa_required(http, trusted)
    associated = http.post(
        f"{trusted.issuer_path}mfa/associate",
        headers={"Authorization": f"Bearer {mfa_token}"},
        json={"authenticator_types": ["otp"]},
    )
    assert associated.status_code == HTTPStatus.OK, associated.text
    body = associated.json()
    assert body["authenticator_type"] == "otp"
    assert len(body["recovery_codes"]) >= 1
    secret = parse_qs(urlsplit(body["barcode_uri"]).query)["secret"][0]
    assert secret == body["secret"]
    # and the user's first code completes the sign-in
    response = mfa_grant(
        http, trusted, GrantType.MFA_OTP, mfa_token=mfa_token, otp=pyotp.TOTP(body["secret"]).now()
    )

    # then tokens are issued and the authenticator is confirmed
    assert response.status_code == HTTPStatus.OK, response.text
    assert mfa_enrolled(user=trusted.user)


def test_without_mfa_the_password_grant_gets_an_mfa_api_token_to_enrol_with(http, trusted):
    # given a user without MFA in a tenant where enrolment is optional
    mfa_audience = f"{http.base_url}{trusted.issuer_path}mfa/"

    # when the backend asks the password grant for the MFA API (Auth0's flow)
    response = token(http, trusted, audience=mfa_audience, scope="enroll")

    # then it gets a short-lived access token for the MFA API
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["scope"] == "enroll"
    assert body["expires_in"] == MFA_API_TOKEN_LIFETIME
    claims = verify_with_jwks(
        http, body["access_token"], tenant_slug=trusted.tenant.slug, audience=mfa_audience
    )
    assert claims["sub"] == f"auth0|{trusted.user.pk}"
    # which associates an authenticator
    associated = http.post(
        f"{trusted.issuer_path}mfa/associate",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        json={"authenticator_types": ["otp"]},
    )
    assert associated.status_code == HTTPStatus.OK, associated.text
    # and the first code, sent with the access token as the mfa_token, confirms it (Auth0)
    confirmed = mfa_grant(
        http,
        trusted,
        GrantType.MFA_OTP,
        mfa_token=body["access_token"],
        otp=pyotp.TOTP(associated.json()["secret"]).now(),
    )
    assert confirmed.status_code == HTTPStatus.OK, confirmed.text
    assert mfa_enrolled(user=trusted.user)
    # from now on the password alone is not enough, for the API and for the MFA API
    mfa_required(http, trusted)
    mfa_required(http, trusted, audience=mfa_audience, scope="enroll")


def test_an_mfa_api_token_of_another_client_is_not_an_mfa_token(http, trusted):
    mfa_audience = f"{http.base_url}{trusted.issuer_path}mfa/"
    access_token = token(http, trusted, audience=mfa_audience, scope="enroll").json()["access_token"]
    other = ApplicationFactory(tenant=trusted.tenant, app_type="regular_web", grant_types=MFA_GRANT_TYPES)

    response = http.post(
        f"{trusted.issuer_path}oauth/token",
        data={
            "grant_type": GrantType.MFA_OTP.value,
            "client_id": other.client_id,
            "client_secret": other.plaintext_secret,
            "mfa_token": access_token,
            "otp": "123456",
        },
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error_description"] == MFA_TOKEN_MALFORMED_MESSAGE


def test_an_application_without_the_mfa_grant_cannot_use_it(http):
    setup = make_user_setup(grant_types=TRUSTED_GRANT_TYPES)
    enrol(setup)
    mfa_token = mfa_required(http, setup)

    response = mfa_grant(http, setup, GrantType.MFA_OTP, mfa_token=mfa_token, otp="123456")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "unauthorized_client"


@pytest.mark.parametrize(
    ("grant_type", "missing"),
    [
        (GrantType.MFA_OTP, "otp"),
        (GrantType.MFA_OTP, "mfa_token"),
        (GrantType.MFA_RECOVERY_CODE, "recovery_code"),
    ],
)
def test_missing_parameters_are_named(http, trusted, grant_type, missing):
    fields = {"mfa_token": "x", "otp": "123456", "recovery_code": "ABC"}
    del fields[missing]

    response = mfa_grant(http, trusted, grant_type, **fields)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Missing required parameter: {missing}",
    }


def test_the_mfa_token_carries_the_requested_audience_not_the_one_sent_later(http, trusted):
    # given an mfa_token from a password grant for the API with read:things only
    totp, _ = enrol(trusted)
    mfa_token = mfa_required(http, trusted, scope="read:things")

    # when the MFA grant tries to widen the request
    response = http.post(
        f"{trusted.issuer_path}oauth/token",
        data={
            **{k: v for k, v in password_form(trusted).items() if k in ("client_id", "client_secret")},
            "grant_type": GrantType.MFA_OTP.value,
            "mfa_token": mfa_token,
            "otp": totp.now(),
            "scope": "read:things write:things",
            "audience": "https://elsewhere.example.com/",
        },
    )

    # then what is issued is what was asked with the password
    assert response.status_code == HTTPStatus.OK, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == trusted.api.identifier
    assert claims["scope"] == "read:things"
