"""The kit's settings dict: validated at request time, closed on mistakes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.resource_kit.conf import DEFAULT_LEEWAY, load_config

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
    ],
)
def test_unusable_configuration_is_refused(settings, overrides, problem):
    # given a configuration with a mistake
    settings.RESOURCE_SERVER = {**BASE, **overrides}
    # when it is loaded
    # then it is refused, saying what is wrong
    with pytest.raises(ImproperlyConfigured, match=problem):
        load_config("RESOURCE_SERVER")


def test_missing_settings_dict_is_refused(settings):
    # given no settings dict of that name
    # when it is loaded
    # then it is refused
    with pytest.raises(ImproperlyConfigured, match="must be a dict"):
        load_config("NO_SUCH_RESOURCE_SERVER")
