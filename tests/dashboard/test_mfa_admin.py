"""MFA in the admin: the tenant's policy, a user's authenticators (never the secret), and Reset MFA."""

from __future__ import annotations

from http import HTTPStatus

import pyotp

from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled, mfa_policy
from apps.accounts.mfa.services import otp_verify, totp_associate
from apps.audit.models import AuditEvent
from tests.dashboard.conftest import admin_url, attack_protection_form


def _enrol(world):
    association = totp_associate(tenant=world.tenant, user=world.end_user)
    otp_verify(tenant=world.tenant, user=world.end_user, code=pyotp.TOTP(association.secret).now(), ip=None)
    return association


def test_tenant_admin_sets_the_mfa_policy(portal_client, portal_admin, alpha):
    # given
    url = admin_url("tenants_tenant_change", alpha.tenant.pk)
    assert 'name="mfa_policy"' in portal_client.get(url).content.decode()

    # when
    response = portal_client.post(
        url,
        {
            "name": alpha.tenant.name,
            "default_audience": alpha.tenant.default_audience,
            "mfa_policy": "always",
        }
        | attack_protection_form(alpha.tenant),
    )

    # then through the service, audited
    assert response.status_code == HTTPStatus.FOUND
    alpha.tenant.refresh_from_db()
    assert mfa_policy(tenant=alpha.tenant) == MfaPolicy.ALWAYS
    event = AuditEvent.objects.get(tenant=alpha.tenant, type=AuditEvent.Type.TENANT_UPDATED)
    assert (event.actor, event.data) == (
        portal_admin,
        {"changed": ["settings.mfa_policy"], "mfa_policy": "always"},
    )


def test_the_user_page_lists_authenticators_without_the_secret_and_resets_mfa(
    portal_client, portal_admin, alpha
):
    # given an enrolled end user
    association = _enrol(alpha)
    change_url = admin_url("accounts_user_change", alpha.end_user.pk)

    # when the admin opens the user
    page = portal_client.get(change_url).content.decode()

    # then type and confirmation show, the secret never does
    assert "One-time password (authenticator app)" in page
    assert association.secret not in page
    reset_url = admin_url("accounts_user_reset_mfa", alpha.end_user.pk)
    assert reset_url in page

    # when they confirm the reset
    confirm = portal_client.get(reset_url)
    assert confirm.status_code == HTTPStatus.OK
    response = portal_client.post(reset_url)

    # then the user has no authenticator, and the reset is audited with the admin as actor
    assert response.status_code == HTTPStatus.FOUND
    assert not mfa_enrolled(user=alpha.end_user)
    event = AuditEvent.objects.get(tenant=alpha.tenant, type=AuditEvent.Type.MFA_RESET)
    assert (event.actor, event.data) == (portal_admin, {"authenticators_removed": 1})


def test_an_admin_cannot_reset_another_tenants_user(portal_client, alpha, bravo):
    _enrol(bravo)
    response = portal_client.post(admin_url("accounts_user_reset_mfa", bravo.end_user.pk))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert mfa_enrolled(user=bravo.end_user)
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.MFA_RESET).exists()
