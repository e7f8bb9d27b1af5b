"""Signing key material: generation, public JWKs, and loading private keys for signing."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from apps.tenants import crypto

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    kid: str
    algorithm: str
    private_key_encrypted: str = field(repr=False)
    public_jwk: dict[str, Any]


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a stable, collision-resistant ``kid``."""
    members = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def new_private_key(algorithm: str) -> PrivateKey:
    """A fresh key pair: RSA 2048 (~80 ms here) or P-256 (~0.04 ms)."""
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"Unsupported signing algorithm: {algorithm}")


def generate(algorithm: str) -> GeneratedKey:
    private_key = new_private_key(algorithm)
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    kid = _thumbprint(jwk)
    public_jwk = {"kty": jwk["kty"], "use": "sig", "alg": algorithm, "kid": kid} | {
        k: v for k, v in jwk.items() if k in {"n", "e", "crv", "x", "y"}
    }
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return GeneratedKey(
        kid=kid,
        algorithm=algorithm,
        private_key_encrypted=crypto.encrypt(pem),
        public_jwk=public_jwk,
    )


def load_private_key(private_key_encrypted: str) -> PrivateKey:
    """The key object of a stored key, for signing.

    RSA validation is skipped: it costs ~50-150 ms per key here (0.01 ms without), which a
    process pays once per tenant it signs for (``selectors._decrypted_key`` keeps a bounded
    number). It is safe because every stored key was made by ``generate`` above and Fernet's
    HMAC guarantees the decrypted PEM is exactly what was stored; validation guards against
    malformed keys from elsewhere, and none ever come from elsewhere.
    """
    key = serialization.load_pem_private_key(
        crypto.decrypt(private_key_encrypted), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError("Unexpected key type")
    return key
