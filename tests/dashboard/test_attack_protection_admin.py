"""Attack protection in the admin: the tenant's settings, sign-in blocks and their unblocking,
setting a user's password, refusals in the audit list, and the application's IP-header trust."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.accounts.models import LoginBlock
from apps.applications.models import MSG_IP_HEADER_TRUST_NEEDS_SECRET, Application
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.tenants.selectors import tenant_attack_protection
from tests.dashboard.conftest import admin_url, attack_protection_form
from tests.factories import ApplicationFactory, LoginBlockFactory


def _tenant_form(tenant, **overrides) -> dict:
    return (
        {"name": tenant.name, "default_audience": tenant.default_audience}
        | attack_protection_form(tenant)
        | overrides
    )


def test_tenant_admin_configures_attack_protection(portal_client, portal_admin, alpha):
    # given alpha's page, showing Auth0's defaults
    page = portal_client.get(admin_url("tenants_tenant_change", alpha.tenant.pk)).content.decode()
    assert 'name="brute_force_max_attempts" value="10"' in page
    assert 'name="suspicious_ip_max_attempts" value="100"' in page
    # when its admin lowers the threshold, shortens blocks and allowlists an office range
    form = _tenant_form(
        alpha.tenant,
        brute_force_max_attempts="5",
        brute_force_block_duration_seconds="3600",
        brute_force_allowlist="192.0.2.0/24, 2001:db8::1",
    )
    response = portal_client.post(admin_url("tenants_tenant_change", alpha.tenant.pk), form)
    # then the tenant's settings say so, through the service, audited with the admin as actor
    assert response.status_code == HTTPStatus.FOUND
    alpha.tenant.refresh_from_db()
    brute = tenant_attack_protection(tenant=alpha.tenant).brute_force
    assert (brute.enabled, brute.max_attempts, brute.block_duration_seconds, brute.allowlist) == (
        True,
        5,
        3600,
        ("192.0.2.0/24", "2001:db8::1"),
    )
    event = AuditEvent.objects.get(type=AuditEvent.Type.TENANT_UPDATED, tenant=alpha.tenant)
    assert event.actor == portal_admin
    assert event.data["changed"] == ["settings.brute_force_protection"]


def test_tenant_admin_turns_throttling_off(portal_client, alpha):
    form = _tenant_form(alpha.tenant)
    del form["suspicious_ip_enabled"]
    portal_client.post(admin_url("tenants_tenant_change", alpha.tenant.pk), form)
    alpha.tenant.refresh_from_db()
    assert tenant_attack_protection(tenant=alpha.tenant).suspicious_ip.enabled is False
    assert tenant_attack_protection(tenant=alpha.tenant).brute_force.enabled is True


def test_a_bad_allowlist_entry_is_refused_on_the_form(portal_client, alpha):
    # when an allowlist entry is not an IP or range
    form = _tenant_form(alpha.tenant, suspicious_ip_allowlist="10.0.0.0/8\nthe-office")
    response = portal_client.post(admin_url("tenants_tenant_change", alpha.tenant.pk), form)
    # then the form says which, and nothing is saved
    assert response.status_code == HTTPStatus.OK
    assert "&#x27;the-office&#x27; is not an IP address or CIDR range." in response.content.decode()
    alpha.tenant.refresh_from_db()
    assert "suspicious_ip_throttling" not in alpha.tenant.settings


def test_blocks_are_listed_and_an_admin_unblocks_them(portal_client, portal_admin, alpha):
    # given alpha's block of its end user, and one of a username that matches no account
    unknown = LoginBlockFactory(
        user=None, tenant=alpha.tenant, username="nobody@alpha.example", ip="198.51.100.9"
    )
    changelist = portal_client.get(admin_url("accounts_loginblock_changelist")).content.decode()
    assert alpha.end_user.username in changelist and "nobody@alpha.example" in changelist
    # when the admin selects both and runs "Unblock"
    response = portal_client.post(
        admin_url("accounts_loginblock_changelist"),
        {"action": "unblock", ACTION_CHECKBOX_NAME: [alpha.login_block.pk, unknown.pk]},
    )
    # then both blocks are gone, each audited with the admin as actor
    assert response.status_code == HTTPStatus.FOUND
    assert not LoginBlock.objects.filter(tenant=alpha.tenant).exists()
    events = AuditEvent.objects.filter(type=AuditEvent.Type.USER_UNBLOCKED, tenant=alpha.tenant)
    assert {(event.actor, event.target, event.data["ip"]) for event in events} == {
        (portal_admin, alpha.end_user.username, "203.0.113.7"),
        (portal_admin, "nobody@alpha.example", "198.51.100.9"),
    }


def test_unblock_does_not_reach_another_tenants_blocks(portal_client, alpha, bravo):
    portal_client.post(
        admin_url("accounts_loginblock_changelist"),
        {"action": "unblock", ACTION_CHECKBOX_NAME: [bravo.login_block.pk]},
    )
    assert LoginBlock.objects.filter(pk=bravo.login_block.pk).exists()


def test_the_users_page_shows_their_blocks_and_links_to_unblocking(portal_client, alpha):
    page = portal_client.get(admin_url("accounts_user_change", alpha.end_user.pk)).content.decode()
    assert "203.0.113.7" in page
    link = admin_url("accounts_loginblock_changelist") + f"?user__id__exact={alpha.end_user.pk}"
    assert link in page
    # and the link lists exactly that user's blocks
    listed = portal_client.get(link)
    assert listed.status_code == HTTPStatus.OK
    assert admin_url("accounts_loginblock_change", alpha.login_block.pk) in listed.content.decode()


def test_setting_a_password_in_the_admin_lifts_the_users_blocks(portal_client, portal_admin, alpha):
    # when the admin sets the blocked user's password
    response = portal_client.post(
        admin_url("accounts_user_password", alpha.end_user.pk),
        {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"},
    )
    # then the password works, the blocks are lifted, and both are audited
    assert response.status_code == HTTPStatus.FOUND
    alpha.end_user.refresh_from_db()
    assert alpha.end_user.check_password("a new long passphrase")
    assert not LoginBlock.objects.filter(user=alpha.end_user).exists()
    changed = AuditEvent.objects.get(type=AuditEvent.Type.USER_PASSWORD_CHANGED, tenant=alpha.tenant)
    assert (changed.actor, changed.target) == (portal_admin, alpha.end_user.username)
    assert AuditEvent.objects.filter(
        type=AuditEvent.Type.USER_UNBLOCKED, data__reason="password_changed"
    ).exists()


def test_a_weak_or_mismatched_password_is_refused(portal_client, alpha):
    response = portal_client.post(
        admin_url("accounts_user_password", alpha.end_user.pk),
        {"new_password1": "a new long passphrase", "new_password2": "another one"},
    )
    assert response.status_code == HTTPStatus.OK
    assert LoginBlock.objects.filter(user=alpha.end_user).exists()


def test_another_tenants_user_password_cannot_be_set(portal_client, bravo):
    url = admin_url("accounts_user_password", bravo.end_user.pk)
    assert portal_client.get(url).status_code == HTTPStatus.NOT_FOUND
    response = portal_client.post(
        url, {"new_password1": "hijacked passphrase!", "new_password2": "hijacked passphrase!"}
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    bravo.end_user.refresh_from_db()
    assert not bravo.end_user.check_password("hijacked passphrase!")


def test_the_audit_list_filters_refusals_by_reason(portal_client, alpha):
    # given a wrong-password refusal and a too-many-attempts one
    for target, reason in (
        ("wrong@alpha.example", "invalid_grant"),
        ("blocked@alpha.example", "too_many_attempts"),
    ):
        audit_record(
            tenant=alpha.tenant,
            type=AuditEvent.Type.USER_LOGIN_FAILED,
            target=target,
            data={"ip": "203.0.113.7", "reason": reason},
        )
    # when the list is filtered by reason
    html = portal_client.get(
        admin_url("audit_auditevent_changelist") + "?reason=too_many_attempts"
    ).content.decode()
    # then only that refusal is listed
    assert "blocked@alpha.example" in html and "wrong@alpha.example" not in html
    # and searching by IP finds both
    html = portal_client.get(admin_url("audit_auditevent_changelist") + "?q=203.0.113.7").content.decode()
    assert "blocked@alpha.example" in html and "wrong@alpha.example" in html


def _application_form(application: Application, **overrides) -> dict:
    return {
        "name": application.name,
        "description": application.description,
        "is_active": "on",
        "is_first_party": "on",
        "grant_types": application.grant_types,
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "redirect_uris": "",
        "allowed_origins": "",
        "client_metadata": "{}",
    } | overrides


def test_an_admin_trusts_a_confidential_application_for_the_ip_header(portal_client, alpha):
    # when the admin ticks "Trust token endpoint IP header" on a confidential application
    response = portal_client.post(
        admin_url("applications_application_change", alpha.application.pk),
        _application_form(alpha.application, is_token_endpoint_ip_header_trusted="on"),
    )
    # then it is trusted
    assert response.status_code == HTTPStatus.FOUND
    alpha.application.refresh_from_db()
    assert alpha.application.is_token_endpoint_ip_header_trusted is True


def test_a_public_application_cannot_be_trusted_for_the_ip_header(portal_client, alpha):
    spa = ApplicationFactory(tenant=alpha.tenant, app_type=Application.AppType.SPA)
    assert spa.token_endpoint_auth_method == "none"
    response = portal_client.post(
        admin_url("applications_application_change", spa.pk),
        _application_form(spa, is_token_endpoint_ip_header_trusted="on"),
    )
    assert response.status_code == HTTPStatus.OK
    assert MSG_IP_HEADER_TRUST_NEEDS_SECRET in response.content.decode()
    spa.refresh_from_db()
    assert spa.is_token_endpoint_ip_header_trusted is False
