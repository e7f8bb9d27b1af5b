"""Keyed hashing of client secrets (plugged into DOT's ``CLIENT_SECRET_HASHER``).

Client secrets are 384-bit random values: nobody can brute-force them, so a slow
password KDF buys nothing and costs the token endpoint ~0.36 s of CPU per request
(PBKDF2 on Django 6.1). An HMAC-SHA256 keyed with ``settings.CLIENT_SECRET_HASH_KEY``
costs microseconds; a leaked database alone still does not reveal or verify secrets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher, mask_hash

ALGORITHM = "hmac_sha256"
PREFIX = f"{ALGORITHM}$"


@functools.lru_cache(maxsize=4)
def _key_bytes(key: str) -> bytes:
    return key.encode()


def _digest(password: str, salt: str) -> str:
    return hmac.digest(
        _key_bytes(settings.CLIENT_SECRET_HASH_KEY), f"{salt}${password}".encode(), hashlib.sha256
    ).hex()


def client_secret_verify(secret: str, encoded: str) -> bool:
    """Whether ``secret`` is the one ``encoded`` (``hmac_sha256$<salt>$<hex digest>``) was made from.

    The token endpoint calls this for every request with a secret (``PortcullisValidator
    ._check_secret``), not Django's ``check_password``: that one identifies the hasher twice and
    weighs a password upgrade, which never applies to a client secret (issue 11).
    """
    algorithm, _, rest = encoded.partition("$")
    salt, _, digest = rest.partition("$")
    if algorithm != ALGORITHM or not digest:
        return False
    return hmac.compare_digest(digest.encode(), _digest(secret, salt).encode())


class ClientSecretHasher(BasePasswordHasher):
    algorithm = ALGORITHM

    def encode(self, password: str, salt: str) -> str:
        self._check_encode_args(password, salt)
        return f"{self.algorithm}${salt}${_digest(password, salt)}"

    def decode(self, encoded: str) -> dict[str, str]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm  # noqa: S101
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        return client_secret_verify(password, encoded)

    def safe_summary(self, encoded: str) -> dict[str, str]:
        decoded = self.decode(encoded)
        return {
            "algorithm": decoded["algorithm"],
            "salt": mask_hash(decoded["salt"]),
            "hash": mask_hash(decoded["hash"]),
        }

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None
