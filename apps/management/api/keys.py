"""``keys/signing``: the tenant's signing keys (Auth0: Management API v2, Keys).

Auth0 lists each key with ``kid``, ``cert``, ``pkcs7``, ``fingerprint``, ``thumbprint``, the
``current``/``next``/``previous``/``revoked`` flags and ``current_since``/``current_until``/
``revoked_at`` (https://auth0.com/docs/api/management/v2/keys/get-signing-keys).

``cert`` here is the key's public key as PEM (``-----BEGIN PUBLIC KEY-----``), not an X.509
certificate: a self-signed certificate needs the private half, which a retired or revoked key no
longer has (it is erased), and a certificate made up by another key would claim an authority no
verifier relies on (our tokens carry no ``x5c``/``x5t``; verifiers use the JWKS). Every library
that reads Auth0's ``cert`` for verification (PyJWT, jose, node's crypto) also accepts a public
key PEM. ``pkcs7`` is therefore not returned (it is optional in Auth0's schema).
``fingerprint``/``thumbprint`` are the SHA-1 of the DER SubjectPublicKeyInfo, colon-separated hex
and plain hex like Auth0's. ``algorithm`` and ``state`` are our additions: a tenant has a key per
algorithm (RS256 and ES256).

Times: ``current_since`` (the current key) and ``current_until`` (the previous key) come from the
key's last state change; ``revoked_at`` likewise for a revoked key.
"""

from __future__ import annotations

import hashlib
from http import HTTPStatus
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.management.api.base import ManagementView
from apps.management.api.errors import not_found
from apps.tenants.models import SigningKey
from apps.tenants.services import signing_key_revoke, signing_key_rotate

# The algorithm whose new ``next`` key ``rotate`` answers with (Auth0 has one key type).
ROTATE_ANSWER_ALGORITHM = SigningKey.Algorithm.RS256


def _public_key_pem(public_jwk: dict[str, Any]) -> tuple[str, bytes]:
    """PEM of the public key, and its DER (SubjectPublicKeyInfo) for the fingerprints."""
    public_key = jwt.PyJWK(public_jwk).key
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode(), der


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def signing_key_render(key: SigningKey) -> dict[str, Any]:
    """One key in Auth0's shape (module docstring)."""
    pem, der = _public_key_pem(key.public_jwk)
    thumbprint = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    body: dict[str, Any] = {
        "kid": key.kid,
        "cert": pem,
        "fingerprint": ":".join(thumbprint[i : i + 2] for i in range(0, len(thumbprint), 2)),
        "thumbprint": thumbprint,
        "current": key.state == SigningKey.State.CURRENT,
        "next": key.state == SigningKey.State.NEXT,
        "previous": key.state == SigningKey.State.PREVIOUS,
        "revoked": key.state == SigningKey.State.REVOKED,
        "algorithm": key.algorithm,
        "state": key.state,
    }
    if key.state == SigningKey.State.CURRENT:
        body["current_since"] = _iso(key.state_changed_at)
    if key.state == SigningKey.State.PREVIOUS:
        body["current_until"] = _iso(key.state_changed_at)
    if key.state == SigningKey.State.REVOKED:
        body["revoked_at"] = _iso(key.state_changed_at)
    return body


class SigningKeySerializer(serializers.Serializer):
    """The response shape (for the OpenAPI document)."""

    kid = serializers.CharField()
    cert = serializers.CharField()
    fingerprint = serializers.CharField()
    thumbprint = serializers.CharField()
    current = serializers.BooleanField()
    next = serializers.BooleanField()
    previous = serializers.BooleanField()
    revoked = serializers.BooleanField()
    algorithm = serializers.ChoiceField(choices=SigningKey.Algorithm.values)
    state = serializers.ChoiceField(choices=SigningKey.State.values)
    current_since = serializers.DateTimeField(required=False)
    current_until = serializers.DateTimeField(required=False)
    revoked_at = serializers.DateTimeField(required=False)


KeyIdSerializer = inline_serializer(
    name="SigningKeyId", fields={"kid": serializers.CharField(), "cert": serializers.CharField()}
)


def _tenant_keys(request: Request):
    return SigningKey.objects.for_tenant(request.tenant).order_by("-created_at", "-pk")


def _key_or_404(request: Request, kid: str) -> SigningKey:
    key = _tenant_keys(request).filter(kid=kid).first()
    if key is None:
        raise not_found("signing_key")
    return key


class SigningKeyListView(ManagementView):
    """GET keys/signing: every key of the tenant (retired and revoked included), newest first."""

    required_scopes = {"GET": "read:signing_keys"}

    @extend_schema(operation_id="get_signing_keys", responses={200: SigningKeySerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response([signing_key_render(key) for key in _tenant_keys(request)])


class SigningKeyDetailView(ManagementView):
    """GET keys/signing/{kid}."""

    required_scopes = {"GET": "read:signing_keys"}

    @extend_schema(operation_id="get_signing_key", responses={200: SigningKeySerializer})
    def get(self, request: Request, kid: str) -> Response:
        return Response(signing_key_render(_key_or_404(request, kid)))


class SigningKeyRotateView(ManagementView):
    """POST keys/signing/rotate: rotate every algorithm's keys (``signing_key_rotate``): next
    becomes current, current becomes previous, previous is retired, a fresh next is published.
    Answers 201 with the new next key of RS256 (``kid``, ``cert``), as Auth0 answers with its one."""

    required_scopes = {"POST": "create:signing_keys"}

    @extend_schema(operation_id="post_signing_keys", request=None, responses={201: KeyIdSerializer})
    def post(self, request: Request) -> Response:
        rotations = signing_key_rotate(tenant=request.tenant, actor=request.user)
        answer = next(r for r in rotations if r.algorithm == ROTATE_ANSWER_ALGORITHM)
        key = _key_or_404(request, answer.next)
        return Response(
            {"kid": key.kid, "cert": _public_key_pem(key.public_jwk)[0]}, status=HTTPStatus.CREATED
        )


class SigningKeyRevokeView(ManagementView):
    """PUT keys/signing/{kid}/revoke (``signing_key_revoke``): unpublished at once, tokens it signed
    stop verifying; a revoked current key is replaced by the next one. 404 for a kid the tenant does
    not have; 400 ``already_revoked`` for a key revoked before."""

    required_scopes = {"PUT": "update:signing_keys"}

    @extend_schema(operation_id="put_signing_keys", request=None, responses={200: KeyIdSerializer})
    def put(self, request: Request, kid: str) -> Response:
        key = _key_or_404(request, kid)  # keys are never deleted: the service finds it too
        signing_key_revoke(tenant=request.tenant, kid=kid, actor=request.user)
        return Response({"kid": key.kid, "cert": _public_key_pem(key.public_jwk)[0]})
