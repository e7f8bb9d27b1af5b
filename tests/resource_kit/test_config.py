"""The kit's settings dict: validated at request time, closed on mistakes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.resource_kit.conf import DEFAULT_DENY_LIST_REFRESH, DEFAULT_LEEWAY, load_config

BASE = {
    "ISSUER": "https://auth.example.com/t/demo/",
    "AUDIENCE": "https://api.example.com",
    "ALGORITHMS": ["RS256"],
}


def test_defaults_follow_the_issuer_and_audience(settings):
    # given the minimal configuration
    settings.RESOURCE_SERVER = dict(BASE)
    # when it is loaded
    config = load_config("RESOURCE_SERVER")
    # then keys come from the issuer's well-known JWKS and the realm is the audience
    assert config.jwks_uri == "https://auth.example.com/t/demo/.well-known/jwks.json"
    assert config.realm == "https://api.example.com"
    assert config.algorithms == frozenset({"RS256"})
    assert config.leeway == DEFAULT_LEEWAY
    assert config.hs256_secret is None


def test_issuer_without_trailing_slash_still_gets_a_jwks_path(settings):
    # given an issuer without a trailing slash
    settings.RESOURCE_SERVER = {**BASE, "ISSUER": "https://auth.example.com"}
    # when it is loaded
    config = load_config("RESOURCE_SERVER")
    # then the path is joined with one slash
    assert config.jwks_uri == "https://auth.example.com/.well-known/jwks.json"


def test_settings_are_read_at_request_time(settings):
    # given a loaded configuration
    settings.RESOURCE_SERVER = dict(BASE)
    load_config("RESOURCE_SERVER")
    # when the settings change
    settings.RESOURCE_SERVER = {**BASE, "AUDIENCE": "https://changed.example"}
    # then the next load sees the change
    assert load_config("RESOURCE_SERVER").audience == "https://changed.example"


def test_hs256_secret_is_kept_as_bytes(settings):
    # given an HS256 API's configuration
    settings.RESOURCE_SERVER = {
        **BASE,
        "ALGORITHMS": ["HS256"],
        "HS256_SECRET": "s3cret-s3cret-s3cret-s3cret-s3cret",
    }
    # when it is loaded
    config = load_config("RESOURCE_SERVER")
    # then the secret is ready for HMAC
    assert config.hs256_secret == b"s3cret-s3cret-s3cret-s3cret-s3cret"


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"ALGORITHMS": ["none"]}, "unsupported ALGORITHMS"),
        ({"ALGORITHMS": ["RS256", "NONE"]}, "unsupported ALGORITHMS"),
        ({"ALGORITHMS": "RS256"}, "non-empty list"),
        ({"ALGORITHMS": []}, "non-empty list"),
        ({"ALGORITHMS": ["HS256"]}, "HS256_SECRET .the API's shared secret. is required"),
        ({"HS256_SECRET": "s3cret"}, "ALGORITHMS does not list HS256"),
        ({"ISSUER": ""}, "ISSUER"),
        ({"AUDIENCE": None}, "AUDIENCE"),
        ({"JWKS_URI": "file:///etc/passwd"}, "JWKS_URI"),
        ({"LEEWAY": "soon"}, "numbers of seconds"),
        ({"JWKS_TIMEOUT": 0}, "must be > 0"),
        ({"DENY_LIST": "false"}, "DENY_LIST and DENY_LIST_FAIL_CLOSED must be True or False"),
        ({"DENY_LIST": 1}, "DENY_LIST and DENY_LIST_FAIL_CLOSED must be True or False"),
        ({"DENY_LIST_FAIL_CLOSED": None}, "DENY_LIST and DENY_LIST_FAIL_CLOSED must be True or False"),
        ({"DENY_LIST_URI": "file:///etc/passwd"}, "DENY_LIST_URI must be an http.s. URL"),
        ({"DENY_LIST_URI": ["https://a.example/"]}, "DENY_LIST_URI must be an http.s. URL"),
        ({"DENY_LIST_REFRESH": "30"}, "DENY_LIST_REFRESH must be a number of seconds"),
        ({"DENY_LIST_REFRESH": True}, "DENY_LIST_REFRESH must be a number of seconds"),
        ({"DENY_LIST_REFRESH": 0.5}, "DENY_LIST_REFRESH must be at least 1 second"),
        ({"DENY_LIST_REFRESH": float("nan")}, "DENY_LIST_REFRESH must be at least 1 second"),
        ({"DENY_LIST_REFRESH": float("inf")}, "DENY_LIST_REFRESH must be at least 1 second"),
    ],
)
def test_unusable_configuration_is_refused(settings, overrides, problem):
    # given a configuration with a mistake
    settings.RESOURCE_SERVER = {**BASE, **overrides}
    # when it is loaded
    # then it is refused, saying what is wrong
    with pytest.raises(ImproperlyConfigured, match=problem):
        load_config("RESOURCE_SERVER")


def test_deny_list_is_off_unless_asked_for(settings):
    # given a configuration that predates the deny list
    settings.RESOURCE_SERVER = dict(BASE)
    # when it is loaded
    config = load_config("RESOURCE_SERVER")
    # then tokens are verified offline as before, and the feed would be the issuer's for this API
    assert config.deny_list is False
    assert config.deny_list_uri == (
        "https://auth.example.com/t/demo/oauth/deny-list?audience=https%3A%2F%2Fapi.example.com"
    )
    assert config.deny_list_refresh == DEFAULT_DENY_LIST_REFRESH == 30
    assert config.deny_list_fail_closed is True


def test_deny_list_settings_are_read(settings):
    # given the deny list turned on with every option set
    settings.RESOURCE_SERVER = {
        **BASE,
        "ISSUER": "https://auth.example.com",
        "AUDIENCE": "urn:api:timesheets v2",
        "DENY_LIST": True,
        "DENY_LIST_REFRESH": 5,
        "DENY_LIST_FAIL_CLOSED": False,
    }
    # when it is loaded
    config = load_config("RESOURCE_SERVER")
    # then the feed's URI joins the issuer with one slash and encodes the audience
    assert config.deny_list is True
    assert (
        config.deny_list_uri == "https://auth.example.com/oauth/deny-list?audience=urn%3Aapi%3Atimesheets+v2"
    )
    assert config.deny_list_refresh == 5.0
    assert config.deny_list_fail_closed is False


def test_deny_list_uri_can_be_given(settings):
    # given a feed served from elsewhere (a proxy, a mirror)
    settings.RESOURCE_SERVER = {**BASE, "DENY_LIST": True, "DENY_LIST_URI": "https://mirror.example/deny"}
    # when it is loaded
    # then it is used as is
    assert load_config("RESOURCE_SERVER").deny_list_uri == "https://mirror.example/deny"


def test_missing_settings_dict_is_refused(settings):
    # given no settings dict of that name
    # when it is loaded
    # then it is refused
    with pytest.raises(ImproperlyConfigured, match="must be a dict"):
        load_config("NO_SUCH_RESOURCE_SERVER")
