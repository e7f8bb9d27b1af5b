"""The portal's ready-to-copy token requests work: run against the live server with the real secret."""

from __future__ import annotations

import shlex

import pytest
import requests

from apps.applications.services import AuthMethod, application_update
from apps.oauth.token_snippets import SECRET_PLACEHOLDER, client_credentials_snippets
from tests.oauth.helpers import verify_with_jwks

METHODS = [AuthMethod.CLIENT_SECRET_POST, AuthMethod.CLIENT_SECRET_BASIC]


def _snippets(live_server, m2m, method) -> dict[str, str]:
    """The snippets for ``m2m``'s client with the placeholder replaced by its secret, as a user would."""
    application_update(application=m2m.application, token_endpoint_auth_method=method)
    snippets = client_credentials_snippets(
        issuer=f"{live_server.url}/t/{m2m.tenant.slug}/",
        client_id=m2m.client_id,
        audience=m2m.api.identifier,
        auth_method=method,
    )
    assert all(SECRET_PLACEHOLDER in snippet.code for snippet in snippets)
    return {snippet.key: snippet.code.replace(SECRET_PLACEHOLDER, m2m.client_secret) for snippet in snippets}


@pytest.mark.parametrize("method", METHODS)
def test_the_python_snippet_gets_a_token(http, live_server, m2m, method, capsys):
    # given the Python snippet for a client registered with ``method``
    code = _snippets(live_server, m2m, method)["python"]
    # when it runs, as pasted
    exec(compile(code, "<python snippet>", "exec"), {})  # noqa: S102 - our own generated code, under test
    # then it prints a token for the API with the granted scopes
    token = capsys.readouterr().out.strip()
    claims = verify_with_jwks(http, token, tenant_slug=m2m.tenant.slug, audience=m2m.api.identifier)
    assert claims["scope"] == "read:things write:things"


def _replay_curl(command: str) -> requests.Response:
    """Send what the curl command would (the options the snippet uses), parsed as a shell would."""
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:3] == ["curl", "--request", "POST"]
    options: dict = {"headers": {}, "data": []}
    pairs = iter(words[3:])
    for option, value in zip(pairs, pairs, strict=True):
        if option == "--url":
            options["url"] = value
        elif option == "--header":
            name, _, header = value.partition(": ")
            options["headers"][name] = header
        elif option == "--user":
            options["auth"] = tuple(value.split(":", 1))
        elif option == "--data-urlencode":
            options["data"].append(tuple(value.split("=", 1)))
        else:
            raise AssertionError(f"unexpected curl option {option}")
    return requests.post(timeout=10, **options)


@pytest.mark.parametrize("method", METHODS)
def test_the_curl_snippet_gets_a_token(http, live_server, m2m, method):
    # given the curl snippet for a client registered with ``method``
    command = _snippets(live_server, m2m, method)["curl"]
    # when what it sends is sent
    response = _replay_curl(command)
    # then the token endpoint issues a token (the client authenticated the registered way)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "read:things write:things"
    assert ("--user" in command) is (method == AuthMethod.CLIENT_SECRET_BASIC)


def test_the_node_snippet_sends_the_same_request(live_server, m2m):
    # given the Node snippet for a client_secret_post client
    code = _snippets(live_server, m2m, AuthMethod.CLIENT_SECRET_POST)["node"]
    # then it posts the form to the token endpoint with the client's credentials and the API
    assert f'fetch("{live_server.url}/t/{m2m.tenant.slug}/oauth/token"' in code
    assert '"content-type": "application/x-www-form-urlencoded"' in code
    for name, value in (
        ("grant_type", "client_credentials"),
        ("client_id", m2m.client_id),
        ("client_secret", m2m.client_secret),
        ("audience", m2m.api.identifier),
    ):
        assert f'    {name}: "{value}",' in code
