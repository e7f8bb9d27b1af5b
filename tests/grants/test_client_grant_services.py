"""Client grants: scopes must be the API's, one grant per pair, never across tenants."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.apis.services import api_scopes_set
from apps.grants.models import ClientGrant
from apps.grants.services import client_grant_create, client_grant_update
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory


def test_grant_with_a_scope_the_api_does_not_define_is_refused(db):
    # given
    tenant = TenantFactory()
    api, application = ApiFactory(tenant=tenant), ApplicationFactory(tenant=tenant)
    # when / then
    with pytest.raises(ValidationError, match="launch:rockets"):
        client_grant_create(
            tenant=tenant, application=application, api=api, scopes=["read:things", "launch:rockets"]
        )
    assert not ClientGrant.objects.exists()


def test_second_grant_for_the_same_pair_is_refused(db):
    grant = ClientGrantFactory()
    with pytest.raises(ValidationError, match="already has a client grant"):
        client_grant_create(tenant=grant.tenant, application=grant.application, api=grant.api, scopes=[])
    assert ClientGrant.objects.count() == 1


def test_grant_across_tenants_is_refused(db):
    # given an application of tenant A and an API of tenant B
    application = ApplicationFactory()
    foreign_api = ApiFactory()
    # when / then
    with pytest.raises(ValidationError, match="must belong to this tenant"):
        client_grant_create(tenant=application.tenant, application=application, api=foreign_api, scopes=[])
    assert not ClientGrant.objects.exists()


def test_update_validates_scopes(db):
    grant = ClientGrantFactory()
    with pytest.raises(ValidationError):
        client_grant_update(grant=grant, scopes=["nope"])
    grant.refresh_from_db()
    assert grant.scopes == ["read:things", "write:things"]


def test_removing_a_scope_from_the_api_removes_it_from_grants(db):
    grant = ClientGrantFactory()
    api_scopes_set(api=grant.api, scopes={"write:things": ""})
    grant.refresh_from_db()
    assert grant.scopes == ["write:things"]
