"""APIs: identifiers are immutable and unique per tenant; keys and secrets are encrypted at rest."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.apis.models import Api, Scope
from apps.apis.services import api_create, api_delete, api_signing_secret, api_update
from apps.tenants.models import SigningKey
from tests.factories import ApiFactory, TenantFactory


def test_identifier_cannot_change(db):
    api = ApiFactory()
    with pytest.raises(ValidationError, match="identifier"):
        api_update(api=api, identifier="https://moved.example.com")
    api.refresh_from_db()
    assert api.identifier.startswith("https://api-")


def test_identifier_is_unique_per_tenant_only(db):
    # given
    api = ApiFactory(identifier="https://same.example.com")
    # then another tenant may reuse it
    ApiFactory(identifier="https://same.example.com")
    # but the same tenant may not, and nothing half-written remains
    with pytest.raises(ValidationError):
        api_create(tenant=api.tenant, name="Dup", identifier="https://same.example.com", scopes={"x:y": ""})
    assert Api.objects.filter(tenant=api.tenant).count() == 1
    assert not Scope.objects.filter(value="x:y").exists()


def test_invalid_scope_value_is_refused_atomically(db):
    tenant = TenantFactory()
    with pytest.raises(ValidationError):
        api_create(tenant=tenant, name="Bad", identifier="https://bad.example.com", scopes={"has space": ""})
    assert not Api.objects.filter(tenant=tenant).exists()


def test_hs256_secret_is_generated_and_encrypted(db):
    api = ApiFactory(signing_alg="HS256")
    secret = api_signing_secret(api=api)
    assert len(secret) >= 32
    assert secret not in api.signing_secret_encrypted


def test_signing_private_keys_are_encrypted_at_rest(db):
    tenant = TenantFactory()
    for key in SigningKey.objects.for_tenant(tenant):
        assert "PRIVATE KEY" not in key.private_key_encrypted
        assert "d" not in key.public_jwk


def test_system_api_cannot_be_deleted(db):
    api = ApiFactory(is_system=True)
    with pytest.raises(ValidationError):
        api_delete(api=api)
    assert Api.objects.filter(pk=api.pk).exists()
