"""Encryption at rest for key material (signing private keys, HS256 API secrets).

Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography`` with the keys in
``settings.KEY_ENCRYPTION_KEYS``: the first encrypts, any of them decrypts, so the
operator can rotate the key-encryption key without downtime.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def encrypt(plaintext: bytes) -> str:
    return _fernet(tuple(settings.KEY_ENCRYPTION_KEYS)).encrypt(plaintext).decode()


def decrypt(token: str) -> bytes:
    return _fernet(tuple(settings.KEY_ENCRYPTION_KEYS)).decrypt(token.encode())
