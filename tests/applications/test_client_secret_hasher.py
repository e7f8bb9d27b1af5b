"""The keyed hash of client secrets, and the validator's direct use of it at the token endpoint."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password, make_password

from apps.applications.hashers import client_secret_verify
from apps.oauth.validators import PortcullisValidator

SECRET = "s3cret-" + "x" * 57


def test_the_secret_it_was_made_from_verifies():
    # given a secret hashed as the services store it
    encoded = make_password(SECRET, hasher="hmac_sha256")
    # then it verifies, as Django's check_password agrees
    assert encoded.startswith("hmac_sha256$")
    assert client_secret_verify(SECRET, encoded)
    assert check_password(SECRET, encoded)


@pytest.mark.parametrize("presented", [SECRET + "y", SECRET[:-1], "", SECRET.upper()])
def test_any_other_secret_is_refused(presented):
    encoded = make_password(SECRET, hasher="hmac_sha256")
    assert not client_secret_verify(presented, encoded)
    assert not check_password(presented, encoded)


@pytest.mark.parametrize(
    "encoded",
    [
        make_password(SECRET, hasher="pbkdf2_sha256"),  # another hasher's encoding
        "hmac_sha256$salt",  # truncated
        "hmac_sha256$",
        SECRET,  # a plain secret
    ],
    # Fixed ids: the pbkdf2 encoding is salted afresh in each process, and parallel test processes
    # (pytest-xdist) must collect the same test names.
    ids=["another-hashers-encoding", "truncated", "no-hash", "plain-secret"],
)
def test_what_is_not_this_hashers_encoding_never_verifies(encoded):
    assert not client_secret_verify(SECRET, encoded)


def test_a_changed_hash_key_invalidates_stored_secrets(settings):
    # given a secret hashed with the current key
    encoded = make_password(SECRET, hasher="hmac_sha256")
    # when the key is rotated
    settings.CLIENT_SECRET_HASH_KEY = "another-key"
    # then the stored hash no longer verifies (the settings' documented consequence)
    assert not client_secret_verify(SECRET, encoded)


@pytest.mark.parametrize("hasher", ["hmac_sha256", "pbkdf2_sha256"])
def test_the_validator_checks_keyed_hashes_directly_and_others_as_dot_does(hasher):
    # given a stored secret in our keyed hash, or in a hasher DOT knows (an older row)
    encoded = make_password(SECRET, hasher=hasher)
    validator = PortcullisValidator()
    # then the right secret passes and a wrong one fails either way
    assert validator._check_secret(SECRET, encoded)
    assert not validator._check_secret(SECRET + "y", encoded)
