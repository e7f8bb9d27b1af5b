"""Tenant admins see end users' consents and revoke them through ``user_grant_revoke``."""

from __future__ import annotations

from http import HTTPStatus

from apps.audit.models import AuditEvent
from apps.grants.models import UserGrant
from tests.dashboard.conftest import admin_url


def test_deleting_a_user_grant_in_the_admin_revokes_it_and_records_who(portal_client, alpha):
    # given alpha's end user consented to an application
    grant = alpha.user_grant
    # when the portal admin deletes it
    response = portal_client.post(admin_url("grants_usergrant_delete", grant.pk), {"post": "yes"})
    # then it is gone, through the service (an audit event names the admin)
    assert response.status_code == HTTPStatus.FOUND
    assert not UserGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.filter(type=AuditEvent.Type.USER_GRANT_REVOKED).get()
    assert event.actor is not None and event.actor.is_staff


def test_user_grants_cannot_be_added_or_edited_in_the_admin(portal_client, alpha):
    assert portal_client.get(admin_url("grants_usergrant_add")).status_code == HTTPStatus.FORBIDDEN
    page = portal_client.get(admin_url("grants_usergrant_change", alpha.user_grant.pk))
    assert page.status_code == HTTPStatus.OK
    assert 'name="_save"' not in page.content.decode()
