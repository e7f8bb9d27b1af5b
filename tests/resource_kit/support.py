"""Shared set-up for the kit and Timesheets API tests: a tenant's Timesheets API, the kit
pointed at it through the live server, real tokens from the token endpoint, forged tokens.

Imported by ``tests/resource_kit/conftest.py`` and ``tests/timesheets/conftest.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import jwt
import pytest

from apps.resource_kit.deny_list import clear_deny_list_cache
from apps.resource_kit.jwks import clear_jwks_cache
from apps.tenants.selectors import ActiveSigningKey, signing_key_current
from apps.timesheets.scopes import TimesheetScope
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory

TIMESHEETS_PATH = "/sample/timesheets/"
TIMESHEET_SCOPES = {scope.value: f"{scope.name.title()} timesheets" for scope in TimesheetScope}
ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], sign=lambda signing_input: b"") -> str:
    """A JWS compact serialization built by hand, for tokens PyJWT refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def hmac_token(header: dict[str, Any], claims: dict[str, Any], *, secret: bytes) -> str:
    return compact(header, claims, lambda data: hmac.new(secret, data, hashlib.sha256).digest())


def assert_invalid_token(response, description: str) -> None:
    """401 invalid_token with RFC 6750's body and challenge (section 3)."""
    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
    assert response.json() == {"error": "invalid_token", "error_description": description}
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer error="invalid_token", error_description="{description}"')


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Caller:
    """An M2M application granted some scopes of the API; ``token`` came from the token endpoint."""

    client_id: str
    token: str
    client_secret: str = ""  # to call the issuer as this client (e.g. RFC 7009 revocation)

    @property
    def sub(self) -> str:
        return f"{self.client_id}@clients"

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@dataclass
class ResourceServer:
    """A tenant with a Timesheets API, and the kit's settings trusting it via the live server."""

    tenant: Any
    api: Any
    base_url: str
    http: Any
    settings: Any
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/t/{self.tenant.slug}/"

    def configure(self, **overrides: Any) -> dict[str, Any]:
        """Point ``TIMESHEETS_RESOURCE_SERVER`` at this tenant and API; ``overrides`` win."""
        self.config = {
            "ISSUER": self.issuer,
            "AUDIENCE": self.api.identifier,
            "ALGORITHMS": list(ASYMMETRIC_ALGORITHMS),
            **overrides,
        }
        self.settings.TIMESHEETS_RESOURCE_SERVER = self.config
        return self.config

    def caller(self, *scopes: str, api: Any = None, tenant: Any = None) -> Caller:
        """A fresh M2M application granted ``scopes`` and its token, fetched over HTTP."""
        tenant = tenant or self.tenant
        api = api or self.api
        application = ApplicationFactory(tenant=tenant)
        ClientGrantFactory(application=application, api=api, scopes=list(scopes))
        response = self.http.post(
            f"/t/{tenant.slug}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": application.client_id,
                "client_secret": application.plaintext_secret,
                "audience": api.identifier,
            },
        )
        assert response.status_code == HTTPStatus.OK, response.content
        return Caller(
            client_id=application.client_id,
            token=response.json()["access_token"],
            client_secret=application.plaintext_secret,
        )

    def signing_key(self, algorithm: str = "RS256", *, tenant: Any = None) -> ActiveSigningKey:
        key = signing_key_current(tenant_id=(tenant or self.tenant).pk, algorithm=algorithm)
        assert key is not None
        return key

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Claims of a valid access token for this API; ``None`` values remove a claim."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "forged-client@clients",
            "aud": self.api.identifier,
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "client_id": "forged-client",
            "scope": " ".join(TIMESHEET_SCOPES),
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def forge(
        self,
        claims: dict[str, Any] | None = None,
        *,
        algorithm: str = "RS256",
        key: ActiveSigningKey | None = None,
        kid: str | None = "auto",
        typ: str | None = "at+jwt",
    ) -> str:
        """A token signed with a real private key of the tenant (or ``key``), header as asked."""
        key = key or self.signing_key(algorithm)
        headers: dict[str, Any] = {"typ": typ}
        if kid is not None:
            headers["kid"] = key.kid if kid == "auto" else kid
        return jwt.encode(
            claims if claims is not None else self.claims(),
            key.private_key,
            algorithm=algorithm,
            headers=headers,
        )


@pytest.fixture(autouse=True)
def _fresh_jwks_cache():
    """Each test fetches keys (and deny lists) anew: tenants and their keys are rolled back between tests."""
    clear_jwks_cache()
    clear_deny_list_cache()
    yield
    clear_jwks_cache()
    clear_deny_list_cache()


@pytest.fixture
def resource_server(transactional_db, live_server, settings, http) -> ResourceServer:
    tenant = TenantFactory()
    api = ApiFactory(tenant=tenant, scopes=dict(TIMESHEET_SCOPES))
    server = ResourceServer(tenant=tenant, api=api, base_url=live_server.url, http=http, settings=settings)
    server.configure()
    return server
