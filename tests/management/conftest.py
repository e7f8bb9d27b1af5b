"""Driving the Management API over real HTTP with the tenant's own management client."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from apps.management.services import management_api_provision
from tests.factories import TenantFactory


@dataclass
class ManagementSession:
    """A tenant with its Management API provisioned, and its management client's credentials.

    ``token(scopes)`` gets a token over HTTP (client_credentials, the Management API's audience),
    with every granted scope when ``scopes`` is None. ``call`` sends one request to ``api/v2/<path>``
    with a token (the full one unless ``token=`` says otherwise).
    """

    http: object
    tenant: object
    client_id: str
    client_secret: str = field(repr=False)
    audience: str = ""
    _token: str = field(default="", repr=False)

    @property
    def base(self) -> str:
        return f"/t/{self.tenant.slug}/api/v2/"

    def token(self, scopes: list[str] | None = None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": self.audience,
        }
        if scopes is not None:
            form["scope"] = " ".join(scopes)
        response = self.http.post(f"/t/{self.tenant.slug}/oauth/token", data=form)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs):
        if token is None:
            self._token = self._token or self.token()
            token = self._token
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.http.request(method, self.base + path.lstrip("/"), headers=headers, **kwargs)


def management_session(http, tenant=None) -> ManagementSession:
    tenant = tenant or TenantFactory()
    credentials = management_api_provision(tenant=tenant)
    return ManagementSession(
        http=http,
        tenant=tenant,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        audience=credentials.audience,
    )


@pytest.fixture
def mgmt(http, transactional_db) -> ManagementSession:
    """A tenant's management client, with every Management API scope."""
    return management_session(http)


@pytest.fixture
def other_mgmt(http, transactional_db) -> ManagementSession:
    """Another tenant's management client (cross-tenant checks)."""
    return management_session(http)
