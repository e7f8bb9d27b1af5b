"""Applications: Auth0 defaults per type, secrets shown once and stored only as keyed hashes."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError

from apps.applications.models import Application
from apps.applications.services import (
    AppType,
    application_create,
    application_delete,
    application_secret_rotate,
    application_update,
)
from apps.audit.models import AuditEvent
from tests.factories import TenantFactory


@pytest.mark.parametrize(
    ("app_type", "grant_types", "auth_method", "client_type"),
    [
        (AppType.MACHINE_TO_MACHINE, ["client_credentials"], "client_secret_post", "confidential"),
        (
            AppType.REGULAR_WEB,
            ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "client_secret_post",
            "confidential",
        ),
        (AppType.SPA, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
        (AppType.NATIVE, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
    ],
)
def test_application_gets_auth0_defaults_for_its_type(db, app_type, grant_types, auth_method, client_type):
    created = application_create(tenant=TenantFactory(), name="App", app_type=app_type)
    application = created.application
    assert application.grant_types == grant_types
    assert application.token_endpoint_auth_method == auth_method
    assert application.client_type == client_type


def test_secret_is_stored_only_as_a_keyed_hash(db, settings):
    # given
    created = application_create(tenant=TenantFactory(), name="App", app_type=AppType.MACHINE_TO_MACHINE)
    stored = Application.objects.get(pk=created.application.pk).client_secret
    # then
    assert created.client_secret not in stored
    assert stored.startswith("hmac_sha256$")
    assert check_password(created.client_secret, stored)
    # and the hash is keyed: with another key it no longer verifies
    settings.CLIENT_SECRET_HASH_KEY = "another-key"
    assert not check_password(created.client_secret, stored)


def test_rotation_replaces_the_secret_and_is_audited(db):
    # given
    created = application_create(tenant=TenantFactory(), name="App", app_type=AppType.MACHINE_TO_MACHINE)
    # when
    new_secret = application_secret_rotate(application=created.application)
    # then
    stored = Application.objects.get(pk=created.application.pk).client_secret
    assert check_password(new_secret, stored)
    assert not check_password(created.client_secret, stored)
    assert AuditEvent.objects.filter(type=AuditEvent.Type.APPLICATION_SECRET_ROTATED).count() == 1
    assert new_secret not in str(list(AuditEvent.objects.values()))


def test_unknown_grant_type_is_refused_and_nothing_is_written(db):
    with pytest.raises(ValidationError, match="Unknown grant types"):
        application_create(
            tenant=TenantFactory(),
            name="App",
            app_type=AppType.MACHINE_TO_MACHINE,
            grant_types=["client_credentials", "magic"],
        )
    assert not Application.objects.exists()


def test_bad_callback_is_refused(db):
    with pytest.raises(ValidationError):
        application_create(
            tenant=TenantFactory(),
            name="App",
            app_type=AppType.REGULAR_WEB,
            callbacks=["javascript:alert(1)"],
        )
    assert not Application.objects.exists()


def test_unknown_field_cannot_be_updated(db):
    created = application_create(tenant=TenantFactory(), name="App", app_type=AppType.MACHINE_TO_MACHINE)
    with pytest.raises(ValidationError):
        application_update(application=created.application, client_id="mine-now")


def test_system_application_cannot_be_deleted(db):
    created = application_create(
        tenant=TenantFactory(), name="Mgmt", app_type=AppType.MACHINE_TO_MACHINE, is_system=True
    )
    with pytest.raises(ValidationError):
        application_delete(application=created.application)
    assert Application.objects.filter(pk=created.application.pk).exists()
