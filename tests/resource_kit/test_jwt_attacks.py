"""Issue 6 item 9 for the resource-server kit: the JWT attacks, one table, over real HTTP.

Already covered in ``test_token_checks.py`` (not repeated here):
``alg: none`` (test_unsigned_token_is_refused), HS256 signed with the public key
(test_hs256_signed_with_the_rsa_public_key_is_refused), tampered payload
(test_tampered_payload_is_refused), expired (test_expired_token_is_refused), wrong audience
(test_token_for_another_api_of_the_same_tenant_is_refused), wrong issuer
(test_wrong_issuer_is_refused), another tenant's key with this issuer, or another tenant's real
token (test_token_signed_by_another_tenants_key_is_refused, test_real_token_of_another_tenant_is_refused),
a kid of another algorithm's key (test_kid_of_a_key_for_another_algorithm_is_refused).

Added here: an unknown ``kid``; a token bringing its own key (``jwk``, ``jku``, ``x5u``
headers, RFC 8725 section 3.10); another tenant's issuer with this tenant's key, or with its
own key; a stripped signature; and a token signed by a key the issuer revoked, refused once the
kit's JWKS cache refreshes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from apps.core import ttlcache
from apps.resource_kit import errors
from apps.resource_kit.conf import DEFAULT_JWKS_LIFESPAN
from apps.tenants.models import SigningKey
from tests.factories import TenantFactory
from tests.resource_kit.deny_list_support import FakeClock
from tests.resource_kit.support import TIMESHEETS_PATH, ResourceServer, assert_invalid_token, bearer


@functools.cache
def attacker_key() -> rsa.RSAPrivateKey:
    """An RSA key the issuer never published: what an attacker signs with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_jwk(kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(attacker_key().public_key(), as_dict=True), "kid": kid, "use": "sig"}


@dataclass
class Attack:
    server: ResourceServer
    http: Any
    clock: FakeClock

    def attacker_token(self, **header: Any) -> str:
        """This API's claims, signed RS256 with the attacker's key; ``header`` as given."""
        return jwt.encode(
            self.server.claims(), attacker_key(), algorithm="RS256", headers={"typ": "at+jwt", **header}
        )

    def victim_kid(self) -> str:
        return self.server.signing_key().kid


def unknown_kid(attack: Attack) -> str:
    # the tenant's real key, but a kid its JWKS does not list
    return attack.server.forge(kid="no-such-kid")


def embedded_jwk_with_its_own_kid(attack: Attack) -> str:
    return attack.attacker_token(kid="attacker", jwk=attacker_jwk("attacker"))


def embedded_jwk_with_the_issuers_kid(attack: Attack) -> str:
    return attack.attacker_token(kid=attack.victim_kid(), jwk=attacker_jwk(attack.victim_kid()))


def embedded_jwk_without_kid(attack: Attack) -> str:
    return attack.attacker_token(jwk=attacker_jwk("attacker"))


def jku_to_another_tenants_jwks(attack: Attack) -> str:
    # a JWKS URL that really serves the key the token is signed with: another tenant's, same host
    other = TenantFactory()
    key = attack.server.signing_key(tenant=other)
    return jwt.encode(
        attack.server.claims(),
        key.private_key,
        algorithm="RS256",
        headers={
            "typ": "at+jwt",
            "kid": key.kid,
            "jku": f"{attack.server.base_url}/t/{other.slug}/.well-known/jwks.json",
        },
    )


def x5u_with_the_issuers_kid(attack: Attack) -> str:
    return attack.attacker_token(kid=attack.victim_kid(), x5u="https://evil.example/cert.pem")


def another_tenants_issuer_with_this_tenants_key(attack: Attack) -> str:
    other = TenantFactory()
    return attack.server.forge(attack.server.claims(iss=f"{attack.server.base_url}/t/{other.slug}/"))


def another_tenants_issuer_and_key(attack: Attack) -> str:
    other = TenantFactory()
    claims = attack.server.claims(iss=f"{attack.server.base_url}/t/{other.slug}/")
    return attack.server.forge(claims, key=attack.server.signing_key(tenant=other))


def stripped_signature(attack: Attack) -> str:
    header, payload, _ = attack.server.forge().split(".")
    return f"{header}.{payload}."


def signed_by_a_revoked_key(attack: Attack) -> str:
    # given a token the API accepted, so the key set naming its kid is cached
    token = attack.server.forge()
    assert attack.http.get(TIMESHEETS_PATH, headers=bearer(token)).status_code == HTTPStatus.OK
    # the issuer revokes the key: it leaves the JWKS at once (the tenant keeps its ES256 key)
    SigningKey.objects.filter(kid=attack.server.signing_key().kid).update(state=SigningKey.State.REVOKED)
    ttlcache.clear()  # as the revoking service would invalidate the issuer's own caches
    # and the kit's cached key set reaches the end of its lifespan
    attack.clock.advance(DEFAULT_JWKS_LIFESPAN + 1)
    return token


ATTACKS: list[Any] = [
    pytest.param(unknown_kid, errors.MSG_KEY_UNKNOWN, id="unknown kid"),
    pytest.param(embedded_jwk_with_its_own_kid, errors.MSG_KEY_UNKNOWN, id="embedded jwk, its own kid"),
    pytest.param(
        embedded_jwk_with_the_issuers_kid, errors.MSG_SIGNATURE_INVALID, id="embedded jwk, the issuer's kid"
    ),
    pytest.param(embedded_jwk_without_kid, errors.MSG_KID_MISSING, id="embedded jwk, no kid"),
    pytest.param(jku_to_another_tenants_jwks, errors.MSG_KEY_UNKNOWN, id="jku to another JWKS"),
    pytest.param(x5u_with_the_issuers_kid, errors.MSG_SIGNATURE_INVALID, id="x5u, the issuer's kid"),
    pytest.param(
        another_tenants_issuer_with_this_tenants_key,
        errors.MSG_ISSUER_INVALID,
        id="another tenant's iss, this tenant's key",
    ),
    pytest.param(another_tenants_issuer_and_key, errors.MSG_KEY_UNKNOWN, id="another tenant's iss and key"),
    pytest.param(stripped_signature, errors.MSG_SIGNATURE_INVALID, id="signature stripped"),
    pytest.param(signed_by_a_revoked_key, errors.MSG_KEY_UNKNOWN, id="key revoked, JWKS cache refreshed"),
]


@pytest.mark.parametrize(("attack", "expected"), ATTACKS)
def test_jwt_attack_is_refused(
    http, resource_server, fake_clock, attack: Callable[[Attack], str], expected: str
):
    # given a token built by the attack (against a kit that trusts only this tenant's JWKS)
    token = attack(Attack(server=resource_server, http=http, clock=fake_clock))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused with RFC 6750 invalid_token and the precise reason
    assert_invalid_token(response, expected)


def test_a_revoked_key_keeps_verifying_until_the_jwks_cache_refreshes(http, resource_server, fake_clock):
    # given a token accepted once, then its key revoked by the issuer
    token = resource_server.forge()
    assert http.get(TIMESHEETS_PATH, headers=bearer(token)).status_code == HTTPStatus.OK
    SigningKey.objects.filter(kid=resource_server.signing_key().kid).update(state=SigningKey.State.REVOKED)
    ttlcache.clear()
    # when it is used again within JWKS_LIFESPAN
    fake_clock.advance(DEFAULT_JWKS_LIFESPAN - 1)
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then the cached key set still verifies it: the documented window (README, "Keys")
    assert response.status_code == HTTPStatus.OK, response.content
