"""The authorization endpoint's rules: prompt, max_age, consent, PKCE, response modes, errors, tenancy."""

from __future__ import annotations

import re
import time
from http import HTTPStatus

import jwt
import pytest

from apps.apis.services import api_update
from apps.applications.services import AppType, application_update
from apps.grants.models import UserGrant
from apps.oauth import errors
from tests.oauth.user_flow import (
    CALLBACK,
    authorize,
    exchange,
    location_params,
    log_in,
    make_user_setup,
    web,  # noqa: F401
)

LOCAL_CALLBACK = "http://127.0.0.1:3000/callback"


def get_authorize(http, setup, **overrides):
    return http.get(
        f"/t/{setup.tenant.slug}/authorize", params=setup.authorize_params(**overrides), allow_redirects=False
    )


def test_prompt_none_without_a_session_sends_login_required(http, web):  # noqa: F811
    response = get_authorize(http, web, prompt="none")
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"].startswith(CALLBACK)
    params = location_params(response)
    assert params["error"] == "login_required" and params["state"].startswith("st-")


def test_prompt_none_with_a_session_and_remembered_consent_returns_a_code(http, web):  # noqa: F811
    # given a user who signed in and consented once
    api_update(api=web.api, skip_consent_for_first_party=False)
    assert "code" in location_params(authorize(http, web))
    # when the client asks silently
    response = get_authorize(http, web, prompt="none")
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert "code" in location_params(response)


def test_prompt_none_without_consent_sends_consent_required(http, web):  # noqa: F811
    api_update(api=web.api, skip_consent_for_first_party=False)
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    params = location_params(get_authorize(http, web, prompt="none"))
    assert params["error"] == "consent_required"


def test_asking_for_more_scopes_asks_for_consent_again(http, web):  # noqa: F811
    api_update(api=web.api, skip_consent_for_first_party=False)
    assert "code" in location_params(authorize(http, web, scope="openid read:things"))
    # then the narrower request is silent, the wider one is not
    assert "code" in location_params(get_authorize(http, web, scope="openid read:things", prompt="none"))
    wider = location_params(get_authorize(http, web, scope="openid read:things write:things", prompt="none"))
    assert wider["error"] == "consent_required"


def test_prompt_login_makes_a_signed_in_user_sign_in_again(http, web):  # noqa: F811
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    response = get_authorize(http, web, prompt="login")
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"].startswith(f"/t/{web.tenant.slug}/login?next=")


def test_prompt_login_completes_after_signing_in_again(http, web):  # noqa: F811
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    response = authorize(http, web, prompt="login")
    assert "code" in location_params(response)


def test_max_age_zero_completes_after_signing_in(http, web):  # noqa: F811
    # given a user who signed in a while ago
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    time.sleep(1.1)
    # when the client demands a fresh sign-in, then the flow asks once and completes
    response = authorize(http, web, max_age="0")
    assert "code" in location_params(response)


def test_max_age_exceeded_makes_the_user_sign_in_again(http, web, client):  # noqa: F811
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    fresh = get_authorize(http, web, max_age="3600")
    assert "code" in location_params(fresh)
    time.sleep(1.1)
    stale = get_authorize(http, web, max_age="0")
    assert stale.headers["Location"].startswith(f"/t/{web.tenant.slug}/login?next=")


@pytest.mark.parametrize(
    ("setting", "callback", "first_party", "asks"),
    [
        pytest.param(True, CALLBACK, True, False, id="first party, skippable API: no consent"),
        pytest.param(False, CALLBACK, True, True, id="first party, API forbids skipping"),
        pytest.param(True, CALLBACK, False, True, id="third party always asks"),
        pytest.param(True, LOCAL_CALLBACK, True, True, id="localhost redirect never skips"),
    ],
)
def test_auth0_consent_rules(http, db, setting, callback, first_party, asks):
    # given
    setup = make_user_setup(callbacks=[callback], is_first_party=first_party)
    api_update(api=setup.api, skip_consent_for_first_party=setting)
    # when
    response = authorize(http, setup, decision=None, redirect_uri=callback)
    # then
    shown = response.status_code == HTTPStatus.OK and 'name="decision"' in response.text
    assert shown is asks, response.text[:300]


def test_consent_page_names_the_application_and_each_permission(http, web):  # noqa: F811
    api_update(api=web.api, skip_consent_for_first_party=False)
    page = authorize(http, web, decision=None)
    assert page.status_code == HTTPStatus.OK
    assert web.application.name in page.text
    assert "Read things" in page.text and "read:things" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_consent_post_without_csrf_is_refused(http, web):  # noqa: F811
    api_update(api=web.api, skip_consent_for_first_party=False)
    page = authorize(http, web, decision=None)
    req = re.search(r'name="req" value="([^"]+)"', page.text).group(1)
    response = http.post(
        f"/t/{web.tenant.slug}/consent", data={"req": req, "decision": "allow"}, allow_redirects=False
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not UserGrant.objects.exists()


def test_consent_post_for_an_unknown_request_changes_nothing(http, web):  # noqa: F811
    api_update(api=web.api, skip_consent_for_first_party=False)
    page = authorize(http, web, decision=None)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    url = f"/t/{web.tenant.slug}/consent"
    response = http.post(
        url,
        data={"csrfmiddlewaretoken": csrf, "req": "forged", "decision": "allow"},
        headers={"Referer": http.base_url + url},
        allow_redirects=False,
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not UserGrant.objects.exists()


def test_loopback_redirect_uris_match_exactly_too(http, db):
    setup = make_user_setup(callbacks=[LOCAL_CALLBACK])
    response = get_authorize(http, setup, redirect_uri="http://127.0.0.1:4000/callback")
    assert response.status_code == HTTPStatus.BAD_REQUEST and "Location" not in response.headers


def test_public_clients_must_use_pkce(http, db):
    setup = make_user_setup(app_type=AppType.SPA)
    assert log_in(http, setup).status_code == HTTPStatus.FOUND
    params = location_params(get_authorize(http, setup, code_challenge=None, code_challenge_method=None))
    assert params["error"] == "invalid_request"


def test_public_client_exchanges_its_code_with_the_verifier_and_no_secret(http, db):
    setup = make_user_setup(app_type=AppType.SPA)
    code = location_params(authorize(http, setup))["code"]
    response = exchange(http, setup, code, client_secret=None)
    assert response.status_code == HTTPStatus.OK, response.text


def test_plain_pkce_is_refused(http, web):  # noqa: F811
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    params = location_params(get_authorize(http, web, code_challenge="a" * 43, code_challenge_method="plain"))
    assert params == params | {"error": "invalid_request", "error_description": errors.MSG_PKCE_METHOD}


def test_unknown_client_or_unregistered_redirect_uri_gets_a_page_never_a_redirect(http, web):  # noqa: F811
    for overrides in (
        {"client_id": "nobody"},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": CALLBACK + "?next=/x"},
        {"redirect_uri": CALLBACK + "/"},
        {"redirect_uri": CALLBACK.replace("https", "http")},
    ):
        response = get_authorize(http, web, **overrides)
        assert response.status_code == HTTPStatus.BAD_REQUEST, overrides
        assert "Location" not in response.headers
        assert "text/html" in response.headers["Content-Type"]
        assert "cannot be processed: " in response.text and ".." not in response.text


def test_unknown_audience_is_refused_at_the_redirect_uri(http, web):  # noqa: F811
    params = location_params(get_authorize(http, web, audience="https://nope.example.com"))
    assert params["error"] == "access_denied"
    assert params["error_description"] == errors.MSG_SERVICE_NOT_FOUND.format(
        audience="https://nope.example.com"
    )


def test_form_post_response_mode(http, web):  # noqa: F811
    response = authorize(http, web, response_mode="form_post")
    assert response.status_code == HTTPStatus.OK
    assert f'action="{CALLBACK}"' in response.text
    assert (
        'name="code"' in response.text and 'name="state"' in response.text and 'name="iss"' in response.text
    )


@pytest.mark.parametrize("response_type", ["token", "id_token token"])
def test_implicit_returns_tokens_in_the_fragment(http, db, response_type):
    setup = make_user_setup(app_type=AppType.SPA)
    response = authorize(
        http, setup, response_type=response_type, code_challenge=None, code_challenge_method=None
    )
    assert response.status_code == HTTPStatus.FOUND, response.text[:300]
    assert "#" in response.headers["Location"]
    params = location_params(response)
    assert "access_token" in params
    claims = jwt.decode(params["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"auth0|{setup.user.pk}"
    if "id_token" in response_type:
        id_claims = jwt.decode(params["id_token"], options={"verify_signature": False})
        assert id_claims["nonce"].startswith("n-") and "at_hash" in id_claims


def test_implicit_id_token_needs_a_nonce(http, db):
    setup = make_user_setup(app_type=AppType.SPA)
    assert log_in(http, setup).status_code == HTTPStatus.FOUND
    params = location_params(
        get_authorize(
            http,
            setup,
            response_type="id_token token",
            nonce=None,
            code_challenge=None,
            code_challenge_method=None,
        )
    )
    assert params["error"] == "invalid_request"


def test_implicit_is_refused_for_an_application_that_does_not_allow_it(http, web):  # noqa: F811
    application_update(application=web.application, grant_types=["authorization_code", "refresh_token"])
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    params = location_params(get_authorize(http, web, response_type="token"))
    assert params["error"] == "unauthorized_client"


def test_a_user_of_another_tenant_must_sign_in_here(http, web, db):  # noqa: F811
    other = make_user_setup()
    assert log_in(http, other).status_code == HTTPStatus.FOUND
    response = get_authorize(http, web)
    assert response.headers["Location"].startswith(f"/t/{web.tenant.slug}/login?next=")


def test_a_code_cannot_be_exchanged_at_another_tenant(http, web, db):  # noqa: F811
    other = make_user_setup()
    code = location_params(authorize(http, web))["code"]
    response = http.post(f"/t/{other.tenant.slug}/oauth/token", data=web.token_form(code))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("overrides", "expected_error"),
    [
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": "bogus"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"response_mode": "web_message"}, "invalid_request"),
        ({"scope": 'openid "quoted"'}, "invalid_scope"),
        ({"resource": "not-absolute"}, "invalid_target"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
)
def test_malformed_requests_are_refused_at_the_redirect_uri(http, web, overrides, expected_error):  # noqa: F811
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    response = get_authorize(http, web, **overrides)
    assert response.status_code == HTTPStatus.FOUND, response.text[:300]
    assert location_params(response)["error"] == expected_error


@pytest.mark.parametrize(
    "overrides", [{"client_id": None}, {"client_id": "x\x00y"}, {"redirect_uri": "not a uri"}]
)
def test_requests_without_a_usable_client_get_an_error_page(http, web, overrides):  # noqa: F811
    response = get_authorize(http, web, **overrides)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Location" not in response.headers


def test_a_pending_request_of_another_tenant_is_unknown_here(http, web, db):  # noqa: F811
    # given a consent page waiting in this browser's session for tenant A
    api_update(api=web.api, skip_consent_for_first_party=False)
    page = authorize(http, web, decision=None)
    req = re.search(r'name="req" value="([^"]+)"', page.text).group(1)
    other = make_user_setup()
    # when the same request id is used under tenant B
    response = http.get(f"/t/{other.tenant.slug}/consent", params={"req": req}, allow_redirects=False)
    # then B knows nothing of it
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "expired or is unknown" in response.text
