"""oauthlib's request checks stay for every body that did not come through our request parsing."""

from __future__ import annotations

import json

import pytest
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from apps.oauth.server import ParsedRequest, PortcullisServer
from apps.oauth.validators import PortcullisValidator

TOKEN_URI = "/t/demo/oauth/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def server() -> PortcullisServer:
    return PortcullisServer(PortcullisValidator())


def test_a_raw_body_with_a_repeated_parameter_is_refused_by_oauthlib(server):
    # when a body that request_parsing never saw repeats grant_type
    _, body, status = server.create_token_response(
        TOKEN_URI, body="grant_type=client_credentials&grant_type=client_credentials", headers=FORM
    )
    # then oauthlib's own scan refuses it, as before
    assert status == 400
    assert json.loads(body) == {
        "error": "invalid_request",
        "error_description": "Duplicate grant_type parameter.",
    }


@pytest.mark.parametrize("body", ["grant_type=client_credentials", [("grant_type", "client_credentials")]])
def test_a_query_string_is_refused_by_oauthlib_whatever_the_body(server, body):
    with pytest.raises(oauthlib_errors.InvalidRequestError, match="URL query parameters are not allowed"):
        server.create_token_response(TOKEN_URI + "?scope=x", body=body, headers=FORM)


def test_a_parsed_request_has_no_query_and_no_repeats_to_find():
    # given a parameter list as request_parsing produces it (RFC 8707 resource may repeat)
    request = ParsedRequest(
        TOKEN_URI,
        http_method="POST",
        body=[("grant_type", "client_credentials"), ("resource", "https://a"), ("resource", "https://b")],
    )
    # then oauthlib sees the parameters, and neither a query nor a parameter it would refuse
    assert request.grant_type == "client_credentials"
    assert (request.uri_query, request.uri_query_params, request.duplicate_params) == ("", [], [])
