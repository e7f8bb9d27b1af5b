"""RFC 6750 section 3 error shapes and WWW-Authenticate challenges."""

from __future__ import annotations

from http import HTTPStatus

from apps.resource_kit import errors


def test_invalid_token_body_and_challenge():
    # given an invalid_token error
    error = errors.InvalidToken(errors.MSG_EXPIRED)
    # when it is rendered
    # then body and header have the RFC 6750 shapes
    assert error.status_code == HTTPStatus.UNAUTHORIZED
    assert error.as_dict() == {"error": "invalid_token", "error_description": errors.MSG_EXPIRED}
    assert error.www_authenticate(realm="api") == (
        f'Bearer error="invalid_token", error_description="{errors.MSG_EXPIRED}", realm="api"'
    )


def test_insufficient_scope_names_every_required_scope():
    # given an operation needing two scopes
    error = errors.InsufficientScope({"write:x", "read:x"})
    # when it is rendered
    # then "scope" lists both, space-delimited
    assert error.status_code == HTTPStatus.FORBIDDEN
    assert error.as_dict() == {
        "error": "insufficient_scope",
        "error_description": errors.MSG_INSUFFICIENT_SCOPE.format(scope="read:x write:x"),
        "scope": "read:x write:x",
    }
    assert error.www_authenticate(realm="api").startswith(
        'Bearer error="insufficient_scope", scope="read:x write:x"'
    )


def test_quoted_values_drop_characters_rfc_6750_forbids():
    # given a value with a double quote, a backslash, a newline and non-ASCII text
    value = 'say "hi"\\\r\nnaïve'
    # when it is quoted for a header
    quoted = errors.quoted(value)
    # then only allowed characters remain, so the header cannot be broken out of
    assert quoted == '"say hinave"'


def test_missing_token_challenge_has_only_the_realm():
    # given no error
    # when the challenge is built
    # then it names the realm alone (RFC 6750 section 3.1)
    assert (
        errors.www_authenticate(realm="https://api.example.com") == 'Bearer realm="https://api.example.com"'
    )
