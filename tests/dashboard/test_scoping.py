"""Every admin page is scoped by tenant: a portal admin of one tenant never sees or reaches another's rows."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.apis.models import Api
from tests.dashboard.conftest import TenantWorld, admin_url, select_values

# (admin URL prefix, the TenantWorld attribute holding that admin's object)
ADMIN_OBJECTS = [
    pytest.param("tenants_tenant", "tenant", id="tenant"),
    pytest.param("tenants_signingkey", "signing_key", id="signing-key"),
    pytest.param("apis_api", "api", id="api"),
    pytest.param("applications_application", "application", id="application"),
    pytest.param("grants_clientgrant", "grant", id="client-grant"),
    pytest.param("grants_usergrant", "user_grant", id="user-grant"),
    pytest.param("grants_deniedtoken", "denied_token", id="denied-token"),
    pytest.param("audit_auditevent", "audit_event", id="audit-event"),
    pytest.param("audit_tokenevent", "token_event", id="token-event"),
    pytest.param("accounts_user", "end_user", id="user"),
    pytest.param("token_rules_tokenrule", "token_rule", id="token-rule"),
    pytest.param("accounts_loginblock", "login_block", id="login-block"),
    pytest.param("accounts_role", "role", id="role"),
]


def assert_scoped(client, url_name: str, own: object, foreign: object, foreign_tenant) -> None:
    """The shared cross-tenant check: list, pages and writes of ``foreign`` are out of reach."""
    # the changelist lists the own row, not the foreign one, nor the foreign tenant in a filter
    changelist = client.get(admin_url(f"{url_name}_changelist"))
    assert changelist.status_code == HTTPStatus.OK
    html = changelist.content.decode()
    assert admin_url(f"{url_name}_change", own.pk) in html
    assert admin_url(f"{url_name}_change", foreign.pk) not in html
    assert foreign_tenant.slug not in html
    assert f"tenant__id__exact={foreign_tenant.pk}" not in html
    # the foreign object's URLs are not found, whatever the view or method
    for view in ("change", "history", "delete"):
        assert client.get(admin_url(f"{url_name}_{view}", foreign.pk)).status_code == HTTPStatus.NOT_FOUND
    assert client.post(admin_url(f"{url_name}_change", foreign.pk), {}).status_code == HTTPStatus.NOT_FOUND
    assert client.post(admin_url(f"{url_name}_delete", foreign.pk), {"post": "yes"}).status_code == (
        HTTPStatus.NOT_FOUND
    )
    # the own object's page is there
    assert client.get(admin_url(f"{url_name}_change", own.pk)).status_code == HTTPStatus.OK


@pytest.mark.parametrize(("url_name", "attribute"), ADMIN_OBJECTS)
def test_portal_admin_sees_only_their_tenant(
    portal_client, alpha: TenantWorld, bravo: TenantWorld, url_name, attribute
):
    # given a portal admin of alpha, and bravo's rows of the same kind
    own, foreign = getattr(alpha, attribute), getattr(bravo, attribute)
    # when / then they browse the admin for that model
    assert_scoped(portal_client, url_name, own, foreign, bravo.tenant)


@pytest.mark.parametrize(("url_name", "attribute"), ADMIN_OBJECTS)
def test_superuser_sees_every_tenant(
    superuser_client, alpha: TenantWorld, bravo: TenantWorld, url_name, attribute
):
    # given a superuser and two tenants' rows
    rows = [getattr(alpha, attribute), getattr(bravo, attribute)]
    # when they open the changelist
    html = superuser_client.get(admin_url(f"{url_name}_changelist")).content.decode()
    # then both tenants' rows are listed, and both change pages open
    for row in rows:
        assert admin_url(f"{url_name}_change", row.pk) in html
        assert superuser_client.get(admin_url(f"{url_name}_change", row.pk)).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("url_name", "select"),
    [
        ("apis_api", "tenant"),
        ("applications_application", "tenant"),
        ("accounts_user", "tenant"),
        ("accounts_role", "tenant"),
        ("grants_clientgrant", "application"),
        ("grants_clientgrant", "api"),
        ("token_rules_tokenrule", "tenant"),
        ("token_rules_tokenrule", "application"),
        ("token_rules_tokenrule", "api"),
    ],
)
def test_add_form_pickers_offer_only_own_tenant(portal_client, alpha, bravo, url_name, select):
    # given a portal admin of alpha
    # when they open an add form
    html = portal_client.get(admin_url(f"{url_name}_add")).content.decode()
    # then the picker offers alpha's rows and none of bravo's
    own = {"tenant": alpha.tenant, "application": alpha.application, "api": alpha.api}[select]
    foreign = {"tenant": bravo.tenant, "application": bravo.application, "api": bravo.api}[select]
    values = select_values(html, select)
    assert str(own.pk) in values
    assert str(foreign.pk) not in values


def test_choosing_a_foreign_tenant_is_refused_by_form_validation(portal_client, alpha, bravo):
    # given a portal admin of alpha
    # when they post an API for bravo anyway
    response = portal_client.post(
        admin_url("apis_api_add"),
        {
            "tenant": bravo.tenant.pk,
            "name": "Sneaky",
            "identifier": "https://sneaky.example.com",
            "signing_alg": "RS256",
            "token_lifetime": 3600,
            "skip_consent_for_first_party": "on",
            "scopes-TOTAL_FORMS": 0,
            "scopes-INITIAL_FORMS": 0,
        },
    )
    # then the form refuses the choice and nothing is created
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()
    assert not Api.objects.filter(identifier="https://sneaky.example.com").exists()


def test_search_does_not_reach_other_tenants(portal_client, alpha, bravo):
    # given a portal admin of alpha
    # when they search applications for bravo's client id
    html = portal_client.get(
        admin_url("applications_application_changelist"), {"q": bravo.application.client_id}
    ).content.decode()
    # then nothing of bravo's is found
    assert admin_url("applications_application_change", bravo.application.pk) not in html


def test_portal_admin_cannot_use_oauth_token_admins(portal_client, alpha):
    # given a portal admin (no permission on issued tokens)
    # when they open the access token list
    response = portal_client.get(admin_url("oauth_accesstoken_changelist"))
    # then it is forbidden
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("model", ["accesstoken", "refreshtoken", "grant", "idtoken"])
def test_superuser_token_admins_load(superuser_client, alpha, model):
    # given a superuser
    # when they open DOT's token lists (our tenant-scoped, view-only versions)
    response = superuser_client.get(admin_url(f"oauth_{model}_changelist"))
    # then they load, without an "add" link
    assert response.status_code == HTTPStatus.OK
    assert admin_url(f"oauth_{model}_add") not in response.content.decode()


@pytest.mark.parametrize(("url_name", "attribute"), ADMIN_OBJECTS)
def test_object_permissions_check_membership(rf, portal_admin, alpha, bravo, url_name, attribute):
    # given the admin of a model, and a request by alpha's portal admin
    from django.contrib import admin

    own, foreign = getattr(alpha, attribute), getattr(bravo, attribute)
    model_admin = admin.site.get_model_admin(type(own))
    request = rf.get("/admin/")
    request.user = portal_admin
    # when / then: the object-level checks (behind the scoped queryset) refuse bravo's object
    assert model_admin.has_view_permission(request, own)
    assert not model_admin.has_view_permission(request, foreign)
    assert not model_admin.has_change_permission(request, foreign)
    assert not model_admin.has_delete_permission(request, foreign)
