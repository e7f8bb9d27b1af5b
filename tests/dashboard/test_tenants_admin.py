"""Tenants, signing keys, users and audit events in the admin."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.auth.hashers import check_password

from apps.accounts.models import User
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.tenants.models import SigningKey, Tenant
from tests.dashboard.conftest import PORTAL_PASSWORD, admin_url, attack_protection_form, shown_secret


def test_portal_admin_cannot_create_tenants(portal_client, alpha):
    # given a portal admin
    # when they open the tenant add page
    response = portal_client.get(admin_url("tenants_tenant_add"))
    # then it is forbidden
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_portal_admin_changes_name_and_default_audience_only(portal_client, portal_admin, alpha):
    # given alpha
    tenant = alpha.tenant
    # when its admin changes the name and default audience, and posts a new slug too
    response = portal_client.post(
        admin_url("tenants_tenant_change", tenant.pk),
        {"name": "Alpha Corporation", "default_audience": alpha.api.identifier, "slug": "hijacked"}
        | attack_protection_form(tenant),
    )
    # then the name and audience change through the service, the slug does not
    assert response.status_code == HTTPStatus.FOUND
    tenant.refresh_from_db()
    assert (tenant.slug, tenant.name, tenant.default_audience) == (
        "alpha-corp",
        "Alpha Corporation",
        alpha.api.identifier,
    )
    event = AuditEvent.objects.get(type="tenant.updated", tenant=tenant)
    assert (event.actor, event.data) == (portal_admin, {"changed": ["default_audience", "name"]})


def test_tenants_cannot_be_deleted_in_the_admin(superuser_client, alpha):
    # given a superuser
    # when they try to delete a tenant
    response = superuser_client.post(admin_url("tenants_tenant_delete", alpha.tenant.pk), {"post": "yes"})
    # then it is refused (no tenant_delete service yet)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Tenant.objects.filter(pk=alpha.tenant.pk).exists()


def test_superuser_creates_tenant_with_management_client(superuser_client, superuser):
    # given a superuser
    # when they create a tenant
    response = superuser_client.post(admin_url("tenants_tenant_add"), {"slug": "charlie", "name": "Charlie"})
    # then it has keys, a Management API and a management client whose secret is shown once
    assert response.status_code == HTTPStatus.OK
    tenant = Tenant.objects.get(slug="charlie")
    client = Application.objects.get(tenant=tenant, is_system=True)
    assert check_password(shown_secret(response.content.decode()), client.client_secret)
    assert client.client_id in response.content.decode()
    # a current and a published next key per algorithm
    assert SigningKey.objects.for_tenant(tenant).count() == 2 * len(SigningKey.Algorithm.values)
    assert AuditEvent.objects.get(type=AuditEvent.Type.TENANT_CREATED, tenant=tenant).actor == superuser


def test_taken_slug_is_a_form_error(superuser_client, alpha):
    # given alpha
    # when a superuser creates another tenant with its slug
    response = superuser_client.post(admin_url("tenants_tenant_add"), {"slug": "alpha-corp", "name": "Again"})
    # then the form says so
    assert response.status_code == HTTPStatus.OK
    assert "already exists" in response.content.decode()


def test_signing_key_page_shows_public_jwk_never_the_private_key(portal_client, alpha):
    # given one of alpha's signing keys
    key = alpha.signing_key
    # when the admin opens it
    response = portal_client.get(admin_url("tenants_signingkey_change", key.pk))
    html = response.content.decode()
    # then it shows the kid and public JWK, read-only, and nothing of the private key
    assert response.status_code == HTTPStatus.OK
    assert key.kid in html
    assert key.public_jwk["kty"] in html
    assert key.private_key_encrypted not in html
    assert "private" not in html.lower()
    assert 'name="_save"' not in html
    assert portal_client.get(admin_url("tenants_signingkey_add")).status_code == HTTPStatus.FORBIDDEN


def test_audit_events_are_read_only_and_filterable_by_type(portal_client, alpha):
    # given alpha's audit trail
    # when the admin filters by type
    response = portal_client.get(
        admin_url("audit_auditevent_changelist"), {"type__exact": AuditEvent.Type.API_CREATED}
    )
    # then the API creation is listed, and events cannot be added
    assert response.status_code == HTTPStatus.OK
    assert alpha.api.identifier in response.content.decode()
    assert portal_client.get(admin_url("audit_auditevent_add")).status_code == HTTPStatus.FORBIDDEN


def test_portal_admin_creates_an_end_user_of_their_tenant(portal_client, portal_admin, alpha):
    # given a portal admin of alpha
    password = "a long and unusual passphrase 42"
    # when they create an end user
    response = portal_client.post(
        admin_url("accounts_user_add"),
        {
            "tenant": alpha.tenant.pk,
            "username": "new@alpha.example",
            "email": "",
            "password1": password,
            "password2": password,
        },
    )
    # then the user exists in alpha, audited, and no page shows the password or its hash
    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(tenant=alpha.tenant, username="new@alpha.example")
    assert user.check_password(password)
    assert (
        AuditEvent.objects.get(type=AuditEvent.Type.USER_CREATED, target=user.username).actor == portal_admin
    )
    html = portal_client.get(admin_url("accounts_user_change", user.pk)).content.decode()
    assert password not in html
    assert user.password not in html


def test_portal_admin_must_choose_a_tenant_for_a_user(portal_client, alpha):
    # given a portal admin
    # when they try to create a portal user (no tenant)
    response = portal_client.post(
        admin_url("accounts_user_add"),
        {"tenant": "", "username": "sneaky", "password1": PORTAL_PASSWORD, "password2": PORTAL_PASSWORD},
    )
    # then the form refuses it
    assert response.status_code == HTTPStatus.OK
    assert not User.objects.filter(username="sneaky").exists()


def test_superuser_creates_a_portal_admin(superuser_client, alpha):
    # given a superuser
    # when they create a user without a tenant, managing alpha
    response = superuser_client.post(
        admin_url("accounts_user_add"),
        {
            "tenant": "",
            "username": "pam",
            "password1": PORTAL_PASSWORD,
            "password2": PORTAL_PASSWORD,
            "manages": [alpha.tenant.pk],
        },
    )
    # then a portal admin of alpha exists
    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(tenant=None, username="pam")
    assert user.is_staff
    assert list(user.memberships.values_list("tenant__slug", flat=True)) == ["alpha-corp"]
