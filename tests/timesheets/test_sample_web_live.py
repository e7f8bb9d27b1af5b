"""The sample web app served by the live server, configured by ``bootstrap_demo``'s var/demo.json.

It reaches the demo tenant over real HTTP, as ``make run`` serves it. The full sign-in
(login, consent, callback) through the server's own pages is tested with those pages.
"""

from __future__ import annotations

import html
import io
import json
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command

from apps.timesheets.webapp import client as rp_client
from apps.timesheets.webapp import errors


@pytest.fixture
def demo(http, live_server, settings, tmp_path, transactional_db) -> dict:
    """The demo tenant as `make run` leaves it: var/demo.json in VAR_DIR, no SAMPLE_WEB."""
    settings.PUBLIC_URL = live_server.url
    settings.VAR_DIR = tmp_path
    settings.SAMPLE_WEB = None
    call_command("bootstrap_demo", "--output", str(tmp_path / "demo.json"), stdout=io.StringIO())
    return json.loads((tmp_path / "demo.json").read_text())


@pytest.fixture
def metadata(http, demo, monkeypatch) -> dict:
    """The demo tenant's real discovery document, fetched over HTTP by the sample app.

    Until the server lists its authorization endpoint, the sample app is shown where it will
    be (``<issuer>authorize``, DESIGN.md); once it is listed, the real value is used untouched.
    """
    document = http.get(f"{demo['issuer']}.well-known/openid-configuration").json()
    if "authorization_endpoint" not in document:
        real_fetch = rp_client.fetch_metadata

        def fetch_with_authorize(issuer: str) -> dict:
            return {"authorization_endpoint": f"{issuer}authorize"} | real_fetch(issuer)

        monkeypatch.setattr(rp_client, "fetch_metadata", fetch_with_authorize)
        document["authorization_endpoint"] = f"{demo['issuer']}authorize"
    return document


def test_sample_app_home_offers_sign_in_with_the_demo_tenant(http, demo):
    # when
    response = http.get(demo["sample_url"])
    # then
    assert response.status_code == HTTPStatus.OK
    assert 'href="/sample/login"' in response.text
    assert demo["issuer"] in response.text


def test_sample_app_login_sends_the_browser_to_the_demo_tenant(http, demo, metadata):
    # when
    response = http.get(f"{demo['sample_url']}login", allow_redirects=False)
    # then the authorization request is for the demo's web app, at the discovered endpoint
    assert response.status_code == HTTPStatus.FOUND, response.text
    location = response.headers["Location"]
    assert location.startswith(f"{metadata['authorization_endpoint']}?")
    params = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert params["client_id"] == demo["web"]["client_id"]
    assert params["redirect_uri"] == demo["web"]["redirect_uri"] == f"{demo['sample_url']}callback"
    assert params["audience"] == demo["m2m"]["audience"]
    assert params["code_challenge_method"] == "S256"
    assert "offline_access" in params["scope"].split()
    assert {"state", "nonce", "code_challenge"} <= set(params)


def test_sample_app_refuses_a_callback_it_did_not_ask_for(http, demo, metadata):
    # given a sign-in in progress
    http.get(f"{demo['sample_url']}login", allow_redirects=False)
    # when a response with another state arrives
    response = http.get(f"{demo['sample_url']}callback", params={"code": "x", "state": "forged"})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert errors.MSG_UNKNOWN_STATE in html.unescape(response.text)
