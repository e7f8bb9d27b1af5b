"""Tenant admins deny-list access tokens by jti in the admin, through ``token_deny`` / ``token_undeny``."""

from __future__ import annotations

from http import HTTPStatus

from apps.audit.models import AuditEvent
from apps.grants.models import DeniedToken
from apps.grants.selectors import token_is_denied
from tests.dashboard.conftest import admin_url


def test_a_portal_admin_deny_lists_a_token_in_the_admin_and_can_take_it_back(portal_client, alpha):
    # when the admin adds a jti for alpha's API
    response = portal_client.post(
        admin_url("grants_deniedtoken_add"),
        {
            "tenant": alpha.tenant.pk,
            "jti": "leaked-jti",
            "audience": alpha.api.identifier,
            "reason": "leaked",
        },
    )
    # then it is on the deny list, through the service (audited with the admin as actor)
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    entry = DeniedToken.objects.get(jti="leaked-jti")
    assert token_is_denied(tenant_id=alpha.tenant.pk, jti="leaked-jti")
    assert AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_DENIED, target="leaked-jti").actor is not None
    # and deleting the entry takes it off
    response = portal_client.post(admin_url("grants_deniedtoken_delete", entry.pk), {"post": "yes"})
    assert response.status_code == HTTPStatus.FOUND
    assert not token_is_denied(tenant_id=alpha.tenant.pk, jti="leaked-jti")
    assert AuditEvent.objects.filter(type=AuditEvent.Type.TOKEN_UNDENIED, target="leaked-jti").exists()


def test_the_admin_form_shows_the_service_refusal(portal_client, alpha):
    response = portal_client.post(
        admin_url("grants_deniedtoken_add"), {"tenant": alpha.tenant.pk, "jti": "   ", "audience": ""}
    )
    assert response.status_code == HTTPStatus.OK
    assert not DeniedToken.objects.filter(jti="").exists()
    assert "errorlist" in response.content.decode()
