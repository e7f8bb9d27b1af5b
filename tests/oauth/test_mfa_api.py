"""Auth0's MFA API over real HTTP: mfa/associate, mfa/challenge, mfa/authenticators, with pyotp codes.

The password grant (the lead's) hands out the mfa_token; here it is issued directly with
``mfa_token_issue``, exactly as that grant does.
"""

from __future__ import annotations

import time
import uuid
from http import HTTPStatus

import pyotp
import pytest
from django.core.cache import cache

from apps.accounts.errors import MFA_TOKEN_EXPIRED_MESSAGE, MFA_TOKEN_MALFORMED_MESSAGE
from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled
from apps.accounts.mfa.services import otp_verify, tenant_mfa_policy_set, totp_associate
from apps.accounts.mfa.tokens import mfa_token_issue
from apps.accounts.models import MfaAuthenticator
from apps.applications.services import AppType
from apps.oauth import errors
from apps.oauth.claims import user_subject
from apps.oauth.tokens import sign
from apps.oauth.views import mfa as views
from tests.factories import ApplicationFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters start empty: in the database (without ``REDIS_URL``) rows are rolled back or flushed
    after each test; in a shared cache (with it) they would outlive the test, so it is emptied."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def setup(db):
    tenant = TenantFactory()
    return {
        "tenant": tenant,
        "user": UserFactory(tenant=tenant),
        "app": ApplicationFactory(tenant=tenant, app_type=AppType.REGULAR_WEB),
        "spa": ApplicationFactory(tenant=tenant, app_type=AppType.SPA),
    }


def _mfa_token(setup, *, client=None, user=None) -> str:
    return mfa_token_issue(
        tenant=setup["tenant"],
        user=user or setup["user"],
        client_id=(client or setup["app"]).client_id,
        audience="https://api.example.com",
        scope="openid read:things",
    )


def _access_token(live_server, tenant, user, *, audience: str | None = None, scope: str = "enroll") -> str:
    issuer = f"{live_server.url}/t/{tenant.slug}/"
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": user_subject(user),
        "aud": [audience or f"{issuer}mfa/"],
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "client_id": "some-client",
        "scope": scope,
    }
    return sign(claims, api=None, tenant_id=tenant.pk)


def _associate(http, tenant, bearer: str, **kwargs):
    kwargs.setdefault("json", {"authenticator_types": ["otp"]})
    return http.post(
        f"/t/{tenant.slug}/mfa/associate", headers={"Authorization": f"Bearer {bearer}"}, **kwargs
    )


# --- mfa/associate -------------------------------------------------------------------------------


def test_associate_with_the_mfa_token_then_the_first_code_confirms(http, setup):
    # given an mfa_token of a user without authenticator
    tenant, user = setup["tenant"], setup["user"]

    # when the app associates an OTP authenticator
    response = _associate(http, tenant, _mfa_token(setup))

    # then Auth0's answer, and nothing enrolled until a code proves the secret
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert set(body) == {"authenticator_type", "secret", "barcode_uri", "recovery_codes"}
    assert body["authenticator_type"] == "otp"
    assert body["barcode_uri"].startswith(f"otpauth://totp/{tenant.name}:")
    assert f"secret={body['secret']}" in body["barcode_uri"]
    assert len(body["recovery_codes"]) == 10
    assert response.headers["Cache-Control"] == "no-store"
    assert not mfa_enrolled(user=user)
    otp_verify(tenant=tenant, user=user, code=pyotp.TOTP(body["secret"]).now(), ip=None)
    assert mfa_enrolled(user=user)


def test_associate_accepts_form_data(http, setup):
    response = _associate(
        http, setup["tenant"], _mfa_token(setup), json=None, data={"authenticator_types": "otp"}
    )
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["authenticator_type"] == "otp"


def test_an_enrolled_user_cannot_associate_with_only_an_mfa_token(http, setup):
    # given an enrolled user
    tenant, user = setup["tenant"], setup["user"]
    association = totp_associate(tenant=tenant, user=user)
    otp_verify(tenant=tenant, user=user, code=pyotp.TOTP(association.secret).now(), ip=None)

    # when someone holding their password (an mfa_token) tries to add their own authenticator
    response = _associate(http, tenant, _mfa_token(setup))

    # then Auth0's refusal, and no new authenticator
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "access_denied", "error_description": views.MSG_ALREADY_ENROLLED}
    assert MfaAuthenticator.objects.filter(user=user).count() == 1


def test_an_mfa_api_access_token_with_enroll_adds_a_second_authenticator(http, live_server, setup):
    # given an enrolled user with an access token for <issuer>mfa/ and the enroll scope
    tenant, user = setup["tenant"], setup["user"]
    association = totp_associate(tenant=tenant, user=user)
    otp_verify(tenant=tenant, user=user, code=pyotp.TOTP(association.secret).now(), ip=None)

    # when
    response = _associate(http, tenant, _access_token(live_server, tenant, user))

    # then a new authenticator, without new recovery codes (only the first enrolment has them)
    assert response.status_code == HTTPStatus.OK, response.text
    assert "recovery_codes" not in response.json()
    assert MfaAuthenticator.objects.filter(user=user).count() == 2


@pytest.mark.parametrize(
    ("token_kind", "status", "error"),
    [
        ("wrong_audience", HTTPStatus.UNAUTHORIZED, "invalid_token"),
        ("wrong_scope", HTTPStatus.FORBIDDEN, "insufficient_scope"),
        ("garbage_jwt", HTTPStatus.UNAUTHORIZED, "invalid_token"),
    ],
)
def test_associate_refuses_access_tokens_not_for_the_mfa_api(
    http, live_server, setup, token_kind, status, error
):
    tenant, user = setup["tenant"], setup["user"]
    token = {
        "wrong_audience": lambda: _access_token(
            live_server, tenant, user, audience="https://api.example.com"
        ),
        "wrong_scope": lambda: _access_token(live_server, tenant, user, scope="read:authenticators"),
        "garbage_jwt": lambda: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    }[token_kind]()
    response = _associate(http, tenant, token)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_associate_without_bearer_is_401(http, setup):
    response = http.post(f"/t/{setup['tenant'].slug}/mfa/associate", json={"authenticator_types": ["otp"]})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"error": "unauthorized", "error_description": views.MSG_BEARER_MISSING}
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"authenticator_types": ["oob"]}, HTTPStatus.BAD_REQUEST, "unsupported_challenge_type"),
        ({}, HTTPStatus.BAD_REQUEST, "invalid_request"),
        ({"authenticator_types": [1]}, HTTPStatus.BAD_REQUEST, "invalid_request"),
        (["otp"], HTTPStatus.BAD_REQUEST, "invalid_request"),
    ],
)
def test_associate_refuses_bad_bodies(http, setup, body, status, error):
    response = _associate(http, setup["tenant"], _mfa_token(setup), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_associate_refuses_when_the_tenant_has_mfa_off(http, setup):
    tenant_mfa_policy_set(tenant=setup["tenant"], policy=MfaPolicy.NEVER, actor=None)
    response = _associate(http, setup["tenant"], _mfa_token(setup))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "unsupported_challenge_type"


def test_associate_with_a_tampered_or_expired_mfa_token(http, setup, settings):
    tenant = setup["tenant"]
    token = _mfa_token(setup)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = _associate(http, tenant, tampered)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "invalid_grant", "error_description": MFA_TOKEN_MALFORMED_MESSAGE}

    settings.MFA_TOKEN_LIFETIME_SECONDS = -1
    response = _associate(http, tenant, token)
    assert response.json() == {"error": "expired_token", "error_description": MFA_TOKEN_EXPIRED_MESSAGE}


# --- mfa/challenge -------------------------------------------------------------------------------


def _enrol(setup):
    association = totp_associate(tenant=setup["tenant"], user=setup["user"])
    otp_verify(tenant=setup["tenant"], user=setup["user"], code=pyotp.TOTP(association.secret).now(), ip=None)
    return association


def _challenge(http, setup, **data):
    return http.post(f"/t/{setup['tenant'].slug}/mfa/challenge", data=data)


def test_challenge_answers_otp_for_an_enrolled_user(http, setup):
    _enrol(setup)
    app = setup["app"]
    for challenge_type in (None, "otp", "oob otp"):
        response = _challenge(
            http,
            setup,
            client_id=app.client_id,
            client_secret=app.plaintext_secret,
            mfa_token=_mfa_token(setup),
            **({"challenge_type": challenge_type} if challenge_type else {}),
        )
        assert response.status_code == HTTPStatus.OK, response.text
        assert response.json() == {"challenge_type": "otp"}


def test_challenge_accepts_json_basic_auth_and_public_clients(http, setup):
    _enrol(setup)
    app, spa = setup["app"], setup["spa"]
    path = f"/t/{setup['tenant'].slug}/mfa/challenge"
    response = http.post(
        path, json={"mfa_token": _mfa_token(setup)}, auth=(app.client_id, app.plaintext_secret)
    )
    assert response.status_code == HTTPStatus.OK, response.text
    response = http.post(path, json={"client_id": spa.client_id, "mfa_token": _mfa_token(setup, client=spa)})
    assert response.status_code == HTTPStatus.OK, response.text


def test_challenge_refuses_oob_only(http, setup):
    _enrol(setup)
    app = setup["app"]
    response = _challenge(
        http,
        setup,
        client_id=app.client_id,
        client_secret=app.plaintext_secret,
        mfa_token=_mfa_token(setup),
        challenge_type="oob",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "error": "unsupported_challenge_type",
        "error_description": views.MSG_CHALLENGE_TYPE_UNSUPPORTED.format(types="oob"),
    }


def test_challenge_for_a_user_without_authenticator_asks_for_association(http, setup):
    app = setup["app"]
    response = _challenge(
        http, setup, client_id=app.client_id, client_secret=app.plaintext_secret, mfa_token=_mfa_token(setup)
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "association_required", "error_description": views.MSG_NOT_ENROLLED}


@pytest.mark.parametrize(
    ("case", "status", "error", "description"),
    [
        ("wrong_secret", HTTPStatus.UNAUTHORIZED, "invalid_client", errors.MSG_CLIENT_AUTH_FAILED),
        ("no_client", HTTPStatus.UNAUTHORIZED, "invalid_client", errors.MSG_CLIENT_AUTH_MISSING),
        ("no_mfa_token", HTTPStatus.BAD_REQUEST, "invalid_request", views.MSG_MFA_TOKEN_MISSING),
        ("other_client", HTTPStatus.FORBIDDEN, "invalid_grant", MFA_TOKEN_MALFORMED_MESSAGE),
        ("garbage", HTTPStatus.FORBIDDEN, "invalid_grant", MFA_TOKEN_MALFORMED_MESSAGE),
        ("deactivated_user", HTTPStatus.FORBIDDEN, "invalid_grant", MFA_TOKEN_MALFORMED_MESSAGE),
    ],
)
def test_challenge_errors(http, setup, case, status, error, description):
    # given an enrolled user and a request spoilt in one way
    _enrol(setup)
    app, spa = setup["app"], setup["spa"]
    data = {"client_id": app.client_id, "client_secret": app.plaintext_secret, "mfa_token": _mfa_token(setup)}
    if case == "wrong_secret":
        data["client_secret"] = "not-the-secret"
    elif case == "no_client":
        data = {"mfa_token": data["mfa_token"]}
    elif case == "no_mfa_token":
        del data["mfa_token"]
    elif case == "other_client":
        data["mfa_token"] = _mfa_token(setup, client=spa)
    elif case == "garbage":
        data["mfa_token"] = "not-a-token"
    elif case == "deactivated_user":
        setup["user"].is_active = False
        setup["user"].save(update_fields=["is_active"])

    # when
    response = _challenge(http, setup, **data)

    # then
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


# --- mfa/authenticators --------------------------------------------------------------------------


def test_authenticators_lists_otp_and_recovery_code(http, live_server, setup):
    # given an enrolled user
    _enrol(setup)
    tenant, user = setup["tenant"], setup["user"]
    authenticator = MfaAuthenticator.objects.get(user=user)

    # when listed with an mfa_token and with an access token with read:authenticators
    for bearer in (_mfa_token(setup), _access_token(live_server, tenant, user, scope="read:authenticators")):
        response = http.get(
            f"/t/{tenant.slug}/mfa/authenticators", headers={"Authorization": f"Bearer {bearer}"}
        )

        # then Auth0's list, no secret anywhere
        assert response.status_code == HTTPStatus.OK, response.text
        assert response.json() == [
            {"id": f"otp|dev_{authenticator.pk}", "authenticator_type": "otp", "active": True},
            {"id": f"recovery-code|dev_{user.pk}", "authenticator_type": "recovery-code", "active": True},
        ]


def test_authenticators_needs_the_read_scope(http, live_server, setup):
    tenant, user = setup["tenant"], setup["user"]
    bearer = _access_token(live_server, tenant, user, scope="enroll")
    response = http.get(f"/t/{tenant.slug}/mfa/authenticators", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "insufficient_scope"


# --- Cross-tenant --------------------------------------------------------------------------------


def test_tenant_a_credentials_do_not_work_at_tenant_b(http, live_server, setup):
    # given an enrolled user of tenant A, their mfa_token and MFA API token, and tenant B with the same client id space
    _enrol(setup)
    tenant_a, user_a, app_a = setup["tenant"], setup["user"], setup["app"]
    tenant_b = TenantFactory()
    token_a = _mfa_token(setup)
    access_a = _access_token(live_server, tenant_a, user_a, scope="enroll read:authenticators")

    # when each is sent to tenant B's endpoints
    associate = _associate(http, tenant_b, token_a)
    associate_jwt = _associate(http, tenant_b, access_a)
    challenge = http.post(
        f"/t/{tenant_b.slug}/mfa/challenge",
        data={"client_id": app_a.client_id, "client_secret": app_a.plaintext_secret, "mfa_token": token_a},
    )
    listed = http.get(
        f"/t/{tenant_b.slug}/mfa/authenticators", headers={"Authorization": f"Bearer {token_a}"}
    )

    # then every one is refused, and tenant A's user gained nothing
    assert associate.status_code == HTTPStatus.FORBIDDEN
    assert associate.json()["error_description"] == MFA_TOKEN_MALFORMED_MESSAGE
    assert associate_jwt.status_code == HTTPStatus.UNAUTHORIZED
    assert challenge.status_code == HTTPStatus.UNAUTHORIZED  # tenant A's client is unknown at B
    assert listed.status_code == HTTPStatus.FORBIDDEN
    assert MfaAuthenticator.objects.filter(user=user_a).count() == 1


def test_an_mfa_token_of_tenant_a_is_refused_by_a_client_of_tenant_b(http, setup):
    # given tenant B's own client presenting tenant A's mfa_token
    _enrol(setup)
    tenant_b = TenantFactory()
    app_b = ApplicationFactory(tenant=tenant_b, app_type=AppType.REGULAR_WEB)
    other_user = UserFactory(tenant=tenant_b)
    token_a = mfa_token_issue(
        tenant=setup["tenant"], user=setup["user"], client_id=app_b.client_id, audience="", scope=""
    )

    # when
    response = http.post(
        f"/t/{tenant_b.slug}/mfa/challenge",
        data={"client_id": app_b.client_id, "client_secret": app_b.plaintext_secret, "mfa_token": token_a},
    )

    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "invalid_grant", "error_description": MFA_TOKEN_MALFORMED_MESSAGE}
    assert not mfa_enrolled(user=other_user)
