"""Encryption at rest for key material (signing private keys, HS256 API secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography`` with the keys in
``settings.KEY_ENCRYPTION_KEYS``: the first encrypts, any of them decrypts, so the
operator can rotate the key-encryption key without downtime: prepend a new key, run
``manage.py reencrypt_keys`` (``reencrypt`` below, on every column in
``ENCRYPTED_FIELDS``), then drop the old key.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Every column that holds a value from ``encrypt``, as (model label, field name). Declared
# here so the re-encryption command cannot forget one: a test fails when a model has a
# ``*_encrypted`` field that is not listed. Labels, not imports: crypto sits below those apps.
ENCRYPTED_FIELDS: tuple[tuple[str, str], ...] = (
    ("tenants.SigningKey", "private_key_encrypted"),
    ("apis.Api", "signing_secret_encrypted"),
    ("accounts.MfaAuthenticator", "secret_encrypted"),
)


class UndecryptableError(Exception):
    """A stored value that none of ``KEY_ENCRYPTION_KEYS`` decrypts (a key was dropped too early)."""


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: bytes) -> str:
    return _fernet(tuple(settings.KEY_ENCRYPTION_KEYS)).encrypt(plaintext).decode()


def decrypt(token: str) -> bytes:
    return _fernet(tuple(settings.KEY_ENCRYPTION_KEYS)).decrypt(token.encode())


def reencrypt(token: str) -> str | None:
    """``token`` encrypted under the first key, or None when it already is (nothing to write).

    ``MultiFernet.rotate`` decrypts with any configured key and encrypts with the first one,
    keeping the original timestamp. Raises ``UndecryptableError`` when no key decrypts it.
    """
    keys = tuple(settings.KEY_ENCRYPTION_KEYS)
    try:
        _fernet(keys[:1]).decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return _fernet(keys).rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableError("No configured KEY_ENCRYPTION_KEYS key decrypts this value.") from None


def check_keys(keys: list[str]) -> list[str]:
    """Problems with ``KEY_ENCRYPTION_KEYS`` (for the system check): each must be a Fernet key."""
    if not keys:
        return ["KEY_ENCRYPTION_KEYS is empty: at least one Fernet key is needed."]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            problems.append(
                f"KEY_ENCRYPTION_KEYS item {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; generate one with Fernet.generate_key())."
            )
    return problems
