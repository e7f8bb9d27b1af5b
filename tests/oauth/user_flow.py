"""Driving the end-user flow over real HTTP, as a browser would (redirects followed by hand)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from apps.apis.services import api_update
from apps.applications.services import AppType
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory, UserFactory

CALLBACK = "https://app.example.com/callback"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REQ_RE = re.compile(r'name="req" value="([^"]+)"')


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class UserSetup:
    """A tenant with an API that allows offline access, a regular web app, and an end user."""

    tenant: object
    api: object
    application: object
    user: object
    verifier: str = ""
    challenge: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def issuer_path(self) -> str:
        return f"/t/{self.tenant.slug}/"

    def authorize_params(self, **overrides) -> dict:
        params = {
            "response_type": "code",
            "client_id": self.application.client_id,
            "redirect_uri": CALLBACK,
            "audience": self.api.identifier,
            "scope": "openid profile email read:things offline_access",
            "state": "st-" + secrets.token_urlsafe(8),
            "nonce": "n-" + secrets.token_urlsafe(8),
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {key: value for key, value in params.items() if value is not None}

    def token_form(self, code: str, **overrides) -> dict:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": self.application.client_id,
            "client_secret": self.application.plaintext_secret,
            "code_verifier": self.verifier,
        }
        form.update(overrides)
        return {key: value for key, value in form.items() if value is not None}


def make_user_setup(*, app_type=AppType.REGULAR_WEB, callbacks=(CALLBACK,), **app_kwargs) -> UserSetup:
    tenant = TenantFactory()
    api = ApiFactory(tenant=tenant)
    api_update(api=api, allow_offline_access=True)
    application = ApplicationFactory(
        tenant=tenant, app_type=app_type, callbacks=list(callbacks), **app_kwargs
    )
    user = UserFactory(tenant=tenant, email="jane@example.com")
    user.first_name, user.last_name = "Jane", "Doe"
    user.save(update_fields=["first_name", "last_name"])
    verifier, challenge = pkce_pair()
    return UserSetup(
        tenant=tenant, api=api, application=application, user=user, verifier=verifier, challenge=challenge
    )


@pytest.fixture
def web(db) -> UserSetup:
    return make_user_setup()


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, html[:500]
    return match.group(1)


def location_params(response) -> dict:
    location = response.headers["Location"]
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query))


def log_in(http, setup: UserSetup, *, next_path: str | None = None):
    """Sign in on the tenant's login page; returns the response to the POST (not followed)."""
    login_url = f"{setup.issuer_path}login" + (f"?{urlencode({'next': next_path})}" if next_path else "")
    page = http.get(login_url)
    assert page.status_code == HTTPStatus.OK, page.text
    form = {
        "csrfmiddlewaretoken": csrf_of(page.text),
        "username": setup.user.username,
        "password": setup.user.plaintext_password,
    }
    if next_path:
        form["next"] = next_path
    return http.post(
        login_url, data=form, allow_redirects=False, headers={"Referer": http.base_url + login_url}
    )


def authorize(http, setup: UserSetup, *, decision: str | None = "allow", **overrides):
    """GET /authorize, sign in if asked, decide on the consent page if shown.

    Returns the final response: a redirect to the client (302), a form_post page, or an error page.
    """
    response = http.get(
        f"{setup.issuer_path}authorize", params=setup.authorize_params(**overrides), allow_redirects=False
    )
    for _ in range(6):
        if response.status_code != HTTPStatus.FOUND:
            break
        location = response.headers["Location"]
        if not location.startswith("/t/"):
            return response  # to the client
        if location.startswith(f"{setup.issuer_path}login"):
            next_path = dict(parse_qsl(urlsplit(location).query))["next"]
            response = log_in(http, setup, next_path=next_path)
            assert response.status_code == HTTPStatus.FOUND, response.text
            continue
        response = http.get(location, allow_redirects=False)
    if response.status_code == HTTPStatus.OK and 'name="decision"' in response.text and decision is not None:
        consent_url = f"{setup.issuer_path}consent"
        response = http.post(
            consent_url,
            data={
                "csrfmiddlewaretoken": csrf_of(response.text),
                "req": REQ_RE.search(response.text).group(1),
                "decision": decision,
            },
            allow_redirects=False,
            headers={"Referer": http.base_url + consent_url},
        )
    return response


def exchange(http, setup: UserSetup, code: str, **overrides):
    return http.post(f"{setup.issuer_path}oauth/token", data=setup.token_form(code, **overrides))
