"""User passwords are stored as Argon2id at OWASP's parameters; older hashes upgrade at sign-in."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import identify_hasher, make_password

from apps.accounts.hashers import PortcullisArgon2PasswordHasher
from tests.accounts.conftest import sign_in
from tests.factories import UserFactory

# OWASP Password Storage Cheat Sheet: Argon2id with at least m=19 MiB, t=2, p=1.
OWASP_MIN_MEMORY_KIB = 19 * 1024
OWASP_MIN_TIME_COST = 2


@pytest.mark.django_db
def test_a_new_users_password_is_an_argon2id_hash_at_owasp_parameters():
    # given / when a user is created
    user = UserFactory()

    # then the stored hash is Argon2id, written by our hasher, with at least OWASP's parameters
    hasher = identify_hasher(user.password)
    assert isinstance(hasher, PortcullisArgon2PasswordHasher)
    decoded = hasher.decode(user.password)
    assert decoded["variety"] == "argon2id"
    assert decoded["memory_cost"] >= OWASP_MIN_MEMORY_KIB
    assert decoded["time_cost"] >= OWASP_MIN_TIME_COST
    assert decoded["parallelism"] >= 1
    assert user.check_password(user.plaintext_password)


@pytest.mark.parametrize("old_hasher", ["pbkdf2_sha256", "scrypt"])
def test_an_older_hash_is_upgraded_to_argon2id_at_the_next_sign_in(http, tenant, old_hasher):
    # given an end user whose password was stored by an older hasher
    user = UserFactory(tenant=tenant)
    user.password = make_password(user.plaintext_password, hasher=old_hasher)
    user.save(update_fields=["password"])

    # when they sign in on their tenant's login page
    response = sign_in(http, tenant, user.username, user.plaintext_password)

    # then the sign-in worked and the stored hash is now Argon2id, still matching the password
    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert isinstance(identify_hasher(user.password), PortcullisArgon2PasswordHasher)
    assert user.check_password(user.plaintext_password)


def test_a_failed_sign_in_leaves_an_older_hash_alone(http, tenant):
    # given an end user with a PBKDF2 hash
    user = UserFactory(tenant=tenant)
    old = make_password(user.plaintext_password, hasher="pbkdf2_sha256")
    user.password = old
    user.save(update_fields=["password"])

    # when someone tries a wrong password
    sign_in(http, tenant, user.username, "not the password")

    # then nothing was re-hashed (only a proven password may be re-hashed)
    user.refresh_from_db()
    assert user.password == old
