"""``client_register``: the application model's own validation is the last net under the metadata checks."""

from __future__ import annotations

import dataclasses

import pytest

from apps.applications import uris
from apps.applications.models import Application
from apps.oauth.registration import errors
from apps.oauth.registration.metadata import ClientMetadata
from apps.oauth.registration.services import client_register
from tests.factories import TenantFactory

CHECKED = ClientMetadata(
    client_name="Partner",
    redirect_uris=("https://partner.example.com/cb",),
    grant_types=("authorization_code",),
    response_types=("code",),
    token_endpoint_auth_method="client_secret_basic",
    application_type="web",
)


@pytest.mark.parametrize(
    ("changes", "error_class", "description"),
    [
        pytest.param(
            {"redirect_uris": ("ftp://partner.example.com/cb",)},
            errors.InvalidRedirectUri,
            errors.MSG_REDIRECT_URI_INVALID.format(
                reason=uris.MSG_SCHEME.format(uri="ftp://partner.example.com/cb", scheme="ftp")
            ),
            id="redirect URI the model refuses",
        ),
        pytest.param(
            {"client_name": "x" * 300},
            errors.InvalidClientMetadata,
            "Ensure this value has at most 255 characters (it has 300).",
            id="other field the model refuses",
        ),
    ],
)
def test_model_refusals_become_rfc7591_errors_and_write_nothing(db, changes, error_class, description):
    # given metadata that slipped past the checks in ``metadata`` (built directly here)
    tenant = TenantFactory()
    metadata = dataclasses.replace(CHECKED, **changes)
    # when it is registered, then the model's refusal is an RFC 7591 error
    with pytest.raises(error_class) as raised:
        client_register(tenant=tenant, metadata=metadata, ip=None)
    assert type(raised.value) is error_class
    assert raised.value.description == description
    assert not Application.objects.for_tenant(tenant).exists()


def test_public_client_secret_is_never_returned(db):
    tenant = TenantFactory()
    metadata = dataclasses.replace(CHECKED, token_endpoint_auth_method="none")
    registered = client_register(tenant=tenant, metadata=metadata, ip=None)
    assert registered.client_secret is None
    assert "client_secret" not in registered.response_body()


def test_confidential_client_secret_is_in_the_response_only_never_in_the_repr(db):
    registered = client_register(tenant=TenantFactory(), metadata=CHECKED, ip=None)
    assert registered.response_body()["client_secret"] == registered.client_secret
    assert registered.client_secret not in repr(registered)
