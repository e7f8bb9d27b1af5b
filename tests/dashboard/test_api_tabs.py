"""The API page's tabs (Settings, Permissions, Machine to Machine Applications, Test) with the test client.

Each tab's GET and POST, the confirmation before removing scopes in use, client grants written
through the M2M tab, a test token that verifies against the tenant's JWKS, permissions (read-only
users, system APIs), cross-tenant 404s and query counts that do not grow with the applications.
"""

from __future__ import annotations

import html
import json
import re
from http import HTTPStatus

import jwt
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role, User
from apps.accounts.rbac.services import user_permissions_add
from apps.accounts.services import user_create
from apps.apis.models import Api, Scope
from apps.apis.services import MSG_SCOPE_EXISTS, api_scope_add
from apps.applications.models import Application
from apps.audit.models import AuditEvent, TokenEvent
from apps.grants.models import ClientGrant
from apps.management.services import management_api_provision
from apps.oauth.token_snippets import SECRET_PLACEHOLDER
from apps.tenants.services import membership_add
from apps.token_rules.models import TokenRule
from tests.dashboard.conftest import PORTAL_PASSWORD, TenantWorld, admin_url
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    ClientGrantFactory,
    RoleFactory,
    TokenRuleFactory,
    UserFactory,
)

TAB_URLS = ["apis_api_change", "apis_api_permissions", "apis_api_m2m", "apis_api_test"]
POST_TABS = ["apis_api_permissions", "apis_api_m2m", "apis_api_test"]


def _page(response) -> str:
    assert response.status_code == HTTPStatus.OK, response.status_code
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def _scope_ids(api: Api) -> dict[str, int]:
    return dict(api.scopes.values_list("value", "pk"))


def _list_form(api: Api, *, remove: tuple[str, ...] = (), descriptions: dict[str, str] | None = None) -> dict:
    """The Permissions list form as the browser posts it: every description, the ticked "Remove" boxes."""
    data: dict = {"action": "save"}
    for scope in api.scopes.all():
        data[f"description-{scope.pk}"] = (descriptions or {}).get(scope.value, scope.description)
        if scope.value in remove:
            data[f"remove-{scope.pk}"] = "on"
    return data


def _m2m_form(rows: dict[Application, list[str] | None]) -> dict:
    """The M2M tab's form: ``{application: scopes}`` switched on, ``{application: None}`` switched off."""
    data: dict = {}
    for application, scopes in rows.items():
        if scopes is not None:
            data[f"authorized-{application.pk}"] = "on"
            data[f"scopes-{application.pk}"] = scopes
    return data


def _hidden_inputs(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


@pytest.fixture
def viewer(alpha: TenantWorld) -> Client:
    """A member of alpha whose model permissions allow viewing APIs and client grants only."""
    user = user_create(username="vera", password=PORTAL_PASSWORD, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_api", "view_scope", "view_clientgrant"])
    )
    membership_add(tenant=alpha.tenant, user=user)
    client = Client()
    client.force_login(user)
    return client


# --- the tab bar -----------------------------------------------------------------------------------


@pytest.mark.parametrize("current", TAB_URLS)
def test_every_tab_has_the_tab_bar_with_itself_current(portal_client, alpha, current):
    # given alpha's API
    api = alpha.api
    # when the admin opens one of its tabs
    page = _page(portal_client.get(admin_url(current, api.pk)))
    # then the four tabs link to each other, in order, and only this one is the current page
    links = re.findall(r'<a href="([^"]+)" id="api-tab-(\w+)"( aria-current="page")?>', page)
    assert [(href, key) for href, key, _ in links] == [
        (admin_url(url_name, api.pk), key)
        for url_name, key in zip(TAB_URLS, ["settings", "permissions", "m2m", "test"], strict=True)
    ]
    assert [href for href, _, is_current in links if is_current] == [admin_url(current, api.pk)]


def test_settings_tab_changes_settings_and_leaves_scopes_to_the_permissions_tab(portal_client, alpha):
    # given an API with three scopes
    api = alpha.api
    page = _page(portal_client.get(admin_url("apis_api_change", api.pk)))
    # when the admin saves the settings form (which has no scope inline any more)
    response = portal_client.post(
        admin_url("apis_api_change", api.pk),
        {"name": "Renamed API", "signing_alg": "RS256", "token_lifetime": 900},
    )
    # then the settings changed, the identifier is shown read-only, and the scopes are untouched
    assert 'name="scopes-TOTAL_FORMS"' not in page
    assert api.identifier in page and 'name="identifier"' not in page
    assert response.status_code == HTTPStatus.FOUND
    api.refresh_from_db()
    assert (api.name, api.token_lifetime) == ("Renamed API", 900)
    assert sorted(_scope_ids(api)) == ["delete:things", "read:things", "write:things"]


# --- Permissions -----------------------------------------------------------------------------------


def test_permissions_tab_lists_scopes_with_their_descriptions(portal_client, alpha):
    # given an API with three described scopes
    # when the admin opens the Permissions tab
    page = _page(portal_client.get(admin_url("apis_api_permissions", alpha.api.pk)))
    # then each scope is a row, with its description editable and a labelled "Remove" box
    rows = re.findall(r'<tr class="permission-row" data-scope="([^"]+)">', page)
    assert rows == ["delete:things", "read:things", "write:things"]
    read = _scope_ids(alpha.api)["read:things"]
    assert f'name="description-{read}" value="Read things"' in page
    assert f'<label for="id_remove-{read}">' in page


def test_add_a_permission(portal_client, portal_admin, alpha):
    # given an API
    api = alpha.api
    # when the admin adds a permission
    response = portal_client.post(
        admin_url("apis_api_permissions", api.pk),
        {"action": "add", "add-value": "approve:things", "add-description": "Approve things"},
        follow=True,
    )
    # then it is there, with its description, and the change is audited with the admin
    assert response.redirect_chain == [(admin_url("apis_api_permissions", api.pk), HTTPStatus.FOUND)]
    assert "Permission approve:things added." in _messages(response)
    assert api.scopes.get(value="approve:things").description == "Approve things"
    event = AuditEvent.objects.filter(type=AuditEvent.Type.API_UPDATED, target=api.identifier).first()
    assert event.actor == portal_admin
    assert "approve:things" in event.data["scopes"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("read things", "A scope is printable ASCII without spaces", id="space"),
        pytest.param('say:"hi"', "A scope is printable ASCII without spaces", id="quote"),
        pytest.param("read:things", MSG_SCOPE_EXISTS.format(value="read:things"), id="duplicate"),
    ],
)
def test_a_bad_or_duplicate_permission_is_an_error_on_the_page(portal_client, alpha, value, message):
    # given an API with read:things
    api = alpha.api
    before = dict(api.scopes.values_list("value", "description"))
    # when the admin adds a malformed or existing value
    response = portal_client.post(
        admin_url("apis_api_permissions", api.pk),
        {"action": "add", "add-value": value, "add-description": "Changed"},
    )
    # then the add form says why, with the value kept, and nothing changed
    page = _page(response)
    assert html.escape(message, quote=True) in page or message in html.unescape(page)
    assert re.search(r'<ul class="errorlist"[^>]*>', page)
    assert response.context["add_form"]["value"].value() == value
    assert dict(api.scopes.values_list("value", "description")) == before


def test_edit_descriptions(portal_client, alpha):
    # given an API
    api = alpha.api
    # when the admin edits one description in the list and saves
    response = portal_client.post(
        admin_url("apis_api_permissions", api.pk),
        _list_form(api, descriptions={"write:things": "Create and change things"}),
    )
    # then that description changed and nothing else
    assert response.status_code == HTTPStatus.FOUND
    assert dict(api.scopes.values_list("value", "description")) == {
        "read:things": "Read things",
        "write:things": "Create and change things",
        "delete:things": "Delete things",
    }


def test_removing_an_unused_permission_needs_no_confirmation(portal_client, alpha):
    # given an API with a permission nobody holds
    api = alpha.api
    api_scope_add(api=api, value="export:things")
    # when the admin ticks "Remove" for it and saves
    response = portal_client.post(
        admin_url("apis_api_permissions", api.pk), _list_form(api, remove=("export:things",)), follow=True
    )
    # then it is gone at once
    assert response.redirect_chain == [(admin_url("apis_api_permissions", api.pk), HTTPStatus.FOUND)]
    assert "Removed export:things." in _messages(response)
    assert sorted(_scope_ids(api)) == ["delete:things", "read:things", "write:things"]


@pytest.fixture
def scope_in_use(alpha: TenantWorld) -> dict:
    """read:things held by alpha's grant, a second application's grant, two roles and two users directly
    (alpha's own role holds delete:things only)."""
    api = alpha.api
    other = ApplicationFactory(tenant=alpha.tenant, name="Nightly exporter")
    ClientGrantFactory(application=other, api=api, scopes=["read:things", "delete:things"])
    read = api.scopes.get(value="read:things")
    for name in ("Reviewer", "Auditor"):
        RoleFactory(tenant=alpha.tenant, name=name, permissions=[read])
    for name in ("ann@alpha.example", "bob@alpha.example"):
        user_permissions_add(user=UserFactory(tenant=alpha.tenant, username=name), scopes=[read])
    return {"other": other, "read": read}


def test_removing_a_permission_in_use_asks_first_and_says_what_changes(portal_client, alpha, scope_in_use):
    # given read:things held by two client grants, two roles and two users directly
    api = alpha.api
    # when the admin removes read:things (and edits a description in the same save)
    response = portal_client.post(
        admin_url("apis_api_permissions", api.pk),
        _list_form(api, remove=("read:things",), descriptions={"write:things": "Write"}),
    )
    # then a confirmation page names exactly what will lose it, and nothing has changed yet
    page = _page(response)
    grants = re.search(r'<ul id="impact-grants">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<strong>([^<]+)</strong>", grants) == [alpha.application.name, "Nightly exporter"]
    assert alpha.application.client_id in grants and scope_in_use["other"].client_id in grants
    roles = re.search(r'<ul id="impact-roles">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<strong>([^<]+)</strong>", roles) == ["Auditor", "Reviewer"]
    assert "2 users directly hold <code>read:things</code>" in page
    assert "Client grants of 2 applications" in page and "2 roles lose" in page
    assert Scope.objects.filter(pk=scope_in_use["read"].pk).exists()
    assert api.scopes.get(value="write:things").description == "Write things"
    # and its Cancel goes back to the tab
    assert f'href="{admin_url("apis_api_permissions", api.pk)}"' in page

    # when the admin confirms (the page's own form, as posted)
    confirmed = portal_client.post(
        admin_url("apis_api_permissions", api.pk), _hidden_inputs(page), follow=True
    )
    # then read:things is gone from the API, both grants, the roles and the users; the edit applied too
    assert "Removed read:things." in _messages(confirmed)
    assert sorted(_scope_ids(api)) == ["delete:things", "write:things"]
    assert api.scopes.get(value="write:things").description == "Write"
    assert sorted(grant.scopes for grant in ClientGrant.objects.filter(api=api)) == [
        ["delete:things"],
        ["write:things"],
    ]
    assert not Role.objects.filter(name__in=["Auditor", "Reviewer"], permissions__isnull=False).exists()
    assert list(alpha.role.permissions.values_list("value", flat=True)) == ["delete:things"]
    assert not User.objects.filter(api_permissions__scope__value="read:things").exists()
    event = AuditEvent.objects.filter(type=AuditEvent.Type.API_UPDATED).order_by("-pk").first()
    assert event.data["removed"] == ["read:things"]
    assert event.data["roles_changed"] == ["Auditor", "Reviewer"]


def test_a_scope_added_while_the_confirmation_was_open_survives(portal_client, alpha, scope_in_use):
    # given the confirmation page for removing read:things
    api = alpha.api
    page = _page(
        portal_client.post(
            admin_url("apis_api_permissions", api.pk), _list_form(api, remove=("read:things",))
        )
    )
    # when someone adds a scope meanwhile, and the admin then confirms
    Scope.objects.create(tenant=alpha.tenant, api=api, value="export:things")
    portal_client.post(admin_url("apis_api_permissions", api.pk), _hidden_inputs(page))
    # then only read:things went
    assert sorted(_scope_ids(api)) == ["delete:things", "export:things", "write:things"]


# --- Machine to Machine Applications ---------------------------------------------------------------


@pytest.fixture
def m2m_tab(alpha: TenantWorld) -> dict:
    """alpha's API with: its granted M2M app, an M2M app without a grant, a regular web app (client
    credentials by default), an SPA and a native app (public clients), and a disabled-grant-type app."""
    tenant = alpha.tenant
    return {
        "granted": alpha.application,
        "m2m": ApplicationFactory(tenant=tenant, name="Billing sync"),
        "web": ApplicationFactory(tenant=tenant, name="Web portal", app_type=Application.AppType.REGULAR_WEB),
        "spa": ApplicationFactory(tenant=tenant, name="Dashboard SPA", app_type=Application.AppType.SPA),
        "native": ApplicationFactory(tenant=tenant, name="Phone app", app_type=Application.AppType.NATIVE),
        "code_only": ApplicationFactory(
            tenant=tenant,
            name="Code only",
            app_type=Application.AppType.REGULAR_WEB,
            grant_types=[Application.GrantType.AUTHORIZATION_CODE],
        ),
    }


def _listed(page: str) -> dict[str, dict]:
    """``{client_id: {"authorized", "disabled", "switch", "scopes"}}`` of the M2M tab's rows."""
    rows = {}
    for chunk in page.split('<li class="portcullis-m2m-row')[1:]:
        client_id = re.search(r'data-client-id="([^"]+)"', chunk).group(1)
        switch = re.search(r'<input type="checkbox" name="authorized-\d+"[^>]*>', chunk).group(0)
        rows[client_id] = {
            "authorized": " checked" in switch,
            "disabled": " disabled" in switch,
            "switch": switch,
            "scopes": re.findall(
                r'<input type="checkbox" name="scopes-\d+" value="([^"]+)"[^>]*checked', chunk
            ),
        }
    return rows


def _main(page: str) -> str:
    """The page below the header (whose "Log out" is a form of its own)."""
    return page[page.index('id="content-main"') :]


def test_m2m_tab_lists_every_application_that_can_use_client_credentials(portal_client, alpha, m2m_tab):
    # given alpha's applications of every type
    # when the admin opens the M2M tab of alpha's API
    page = _page(portal_client.get(admin_url("apis_api_m2m", alpha.api.pk)))
    rows = _listed(page)
    # then the confidential ones allowed client credentials are listed (the world's regular web app
    # too); public and code-only ones are not
    listed = {m2m_tab[name].client_id for name in ("granted", "m2m", "web")}
    assert set(rows) == listed | {alpha.user_grant.application.client_id}
    # and the granted one is switched on with its scopes ticked, the others off
    assert rows[alpha.application.client_id]["authorized"]
    assert rows[alpha.application.client_id]["scopes"] == ["read:things", "write:things"]
    assert not rows[m2m_tab["m2m"].client_id]["authorized"]
    # and each switch is a labelled checkbox with role=switch, one box per scope of the API
    switch = rows[m2m_tab["m2m"].client_id]["switch"]
    assert 'role="switch"' in switch
    switch_id = re.search(r'id="([^"]+)"', switch).group(1)
    assert re.search(
        rf'<label for="{switch_id}"><span class="visually-hidden">Billing sync: </span>Authorized</label>',
        page,
    )
    assert page.count(f'name="scopes-{m2m_tab["m2m"].pk}"') == 3


def test_an_application_that_lost_client_credentials_is_listed_while_it_holds_a_grant(
    portal_client, alpha, m2m_tab
):
    # given a code-only application that still holds a grant for the API (made before its grant types changed)
    ClientGrant.objects.create(
        tenant=alpha.tenant, application=m2m_tab["code_only"], api=alpha.api, scopes=["read:things"]
    )
    # when the admin opens the M2M tab
    page = _page(portal_client.get(admin_url("apis_api_m2m", alpha.api.pk)))
    # then it is listed, switched on, and flagged, so that the grant can be withdrawn
    row = _listed(page)[m2m_tab["code_only"].client_id]
    assert row["authorized"]
    assert "Cannot use client credentials now" in page


def test_m2m_tab_creates_updates_and_deletes_client_grants(portal_client, portal_admin, alpha, m2m_tab):
    # given alpha's granted app (read, write) and two apps without a grant
    api, granted, billing, web = alpha.api, alpha.application, m2m_tab["m2m"], m2m_tab["web"]
    # when the admin switches billing on with delete:things, narrows the granted app to read:things,
    # switches web on without scopes, in one save
    response = portal_client.post(
        admin_url("apis_api_m2m", api.pk),
        _m2m_form({granted: ["read:things"], billing: ["delete:things"], web: []}),
        follow=True,
    )
    # then the grants are exactly that, each written by the grant services with the admin as actor
    assert response.redirect_chain == [(admin_url("apis_api_m2m", api.pk), HTTPStatus.FOUND)]
    grants = {grant.application: grant.scopes for grant in ClientGrant.objects.filter(api=api)}
    assert grants == {granted: ["read:things"], billing: ["delete:things"], web: []}
    events = AuditEvent.objects.filter(actor=portal_admin).values_list("type", flat=True)
    assert sorted(events) == sorted(
        [
            AuditEvent.Type.CLIENT_GRANT_UPDATED,
            AuditEvent.Type.CLIENT_GRANT_CREATED,
            AuditEvent.Type.CLIENT_GRANT_CREATED,
        ]
    )
    [message] = _messages(response)
    assert "Billing sync authorized (delete:things)" in message

    # when the admin then switches the originally granted app off (its scope boxes still ticked)
    response = portal_client.post(
        admin_url("apis_api_m2m", api.pk),
        {**_m2m_form({billing: ["delete:things"], web: []}), f"scopes-{granted.pk}": ["read:things"]},
    )
    # then its grant is deleted and the others are untouched
    assert response.status_code == HTTPStatus.FOUND
    assert set(ClientGrant.objects.filter(api=api).values_list("application__name", flat=True)) == {
        "Billing sync",
        "Web portal",
    }
    assert (
        AuditEvent.objects.filter(type=AuditEvent.Type.CLIENT_GRANT_DELETED, actor=portal_admin).count() == 1
    )


def test_m2m_tab_saving_without_changes_writes_nothing(portal_client, alpha, m2m_tab):
    # given the tab as shown (alpha's app granted read and write)
    before = AuditEvent.objects.count()
    # when the admin saves without touching anything
    response = portal_client.post(
        admin_url("apis_api_m2m", alpha.api.pk),
        _m2m_form({alpha.application: ["write:things", "read:things"]}),
        follow=True,
    )
    # then nothing was written
    assert _messages(response) == ["No changes."]
    assert AuditEvent.objects.count() == before


def test_m2m_tab_an_undefined_scope_is_an_error_and_nothing_is_saved(portal_client, alpha, m2m_tab):
    # given two applications to switch on
    billing, web = m2m_tab["m2m"], m2m_tab["web"]
    # when the posted form names a scope the API does not define for one of them
    response = portal_client.post(
        admin_url("apis_api_m2m", alpha.api.pk),
        _m2m_form(
            {
                alpha.application: ["read:things", "write:things"],
                billing: ["read:things"],
                web: ["launch:rockets"],
            }
        ),
    )
    # then the page says so and no grant was created (one transaction)
    page = _page(response)
    assert "launch:rockets is not one of the available choices" in page
    assert not ClientGrant.objects.filter(application__in=[billing, web]).exists()


def test_m2m_tab_queries_do_not_grow_with_applications(portal_client, alpha):
    # given the tab with a few applications
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _page(portal_client.get(admin_url("apis_api_m2m", alpha.api.pk)))
        return len(captured)

    few = queries()
    # when ten more applications, half of them with grants, join
    for index in range(10):
        application = ApplicationFactory(tenant=alpha.tenant, name=f"Worker {index}")
        if index % 2:
            ClientGrantFactory(application=application, api=alpha.api, scopes=["read:things"])
    # then the page costs the same number of queries
    assert queries() == few


def test_m2m_tab_of_the_management_api_is_read_only(portal_client, alpha):
    # given the Management API, whose management client holds a grant
    management_api_provision(tenant=alpha.tenant)
    api = Api.objects.get(tenant=alpha.tenant, is_system=True)
    client = Application.objects.get(tenant=alpha.tenant, is_system=True)
    # when the admin opens its M2M tab and posts to it
    page = _page(portal_client.get(admin_url("apis_api_m2m", api.pk)))
    posted = portal_client.post(admin_url("apis_api_m2m", api.pk), _m2m_form({client: None}))
    # then the grant is shown, disabled, without a form, and the POST is refused
    row = _listed(page)[client.client_id]
    assert row["authorized"] and row["disabled"]
    assert 'method="post"' not in _main(page)
    assert posted.status_code == HTTPStatus.FORBIDDEN
    assert ClientGrant.objects.filter(application=client, api=api).exists()


def test_the_management_client_row_is_read_only_on_other_apis(portal_client, alpha):
    # given the management client next to alpha's own M2M app, on alpha's API
    management_api_provision(tenant=alpha.tenant)
    client = Application.objects.get(tenant=alpha.tenant, is_system=True)
    # when the admin opens the tab and posts the management client switched on
    page = _page(portal_client.get(admin_url("apis_api_m2m", alpha.api.pk)))
    portal_client.post(
        admin_url("apis_api_m2m", alpha.api.pk),
        _m2m_form({alpha.application: ["read:things", "write:things"], client: ["read:things"]}),
    )
    # then its row is disabled and no grant was made for it
    rows = _listed(page)
    assert rows[client.client_id]["disabled"] and not rows[alpha.application.client_id]["disabled"]
    assert not ClientGrant.objects.filter(application=client, api=alpha.api).exists()


# --- Test ------------------------------------------------------------------------------------------


def _jwks_verified(client: Client, token: str, *, tenant_slug: str, audience: str) -> dict:
    """Verify ``token`` as an API would: the key from the tenant's JWKS, the issuer of its discovery."""
    metadata = client.get(f"/t/{tenant_slug}/.well-known/openid-configuration").json()
    keys = jwt.PyJWKSet.from_dict(client.get(f"/t/{tenant_slug}/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(key for key in keys.keys if key.key_id == kid)
    return jwt.decode(
        token, key.key, algorithms=["RS256", "ES256"], audience=audience, issuer=metadata["issuer"]
    )


def test_test_tab_without_an_authorized_application_says_what_to_do(portal_client, alpha):
    # given an API no application is authorized for
    api = ApiFactory(tenant=alpha.tenant)
    # when the admin opens its Test tab
    page = _page(portal_client.get(admin_url("apis_api_test", api.pk)))
    # then it points to the M2M tab, with no snippets and no button
    assert f'<a href="{admin_url("apis_api_m2m", api.pk)}">Machine to Machine Applications</a>' in page
    assert 'id="snippet-curl"' not in page and 'id="get-test-token"' not in page


def test_test_tab_shows_snippets_for_the_chosen_application(portal_client, alpha):
    # given alpha's granted app (client_secret_post) and a second one using HTTP Basic
    api = alpha.api
    basic = ApplicationFactory(
        tenant=alpha.tenant,
        name="A basic client",
        token_endpoint_auth_method=Application.AuthMethod.CLIENT_SECRET_BASIC,
    )
    ClientGrantFactory(application=basic, api=api, scopes=["read:things"])
    # when the admin opens the Test tab (the first application is chosen), then picks the other
    first = _page(portal_client.get(admin_url("apis_api_test", api.pk)))
    second = _page(
        portal_client.get(admin_url("apis_api_test", api.pk), {"application": alpha.application.pk})
    )
    # then the snippets name the issuer's token endpoint on this host, the API and the application
    token_url = f"http://testserver/t/{alpha.tenant.slug}/oauth/token"
    curl, python, node = (
        html.unescape(re.search(rf'<code id="snippet-{key}"[^>]*>(.*?)</code>', second, re.S).group(1))
        for key in ("curl", "python", "node")
    )
    assert f"--data-urlencode client_id={alpha.application.client_id}" in curl
    assert f"client_secret={SECRET_PLACEHOLDER}" in curl and f"audience={api.identifier}" in curl
    assert token_url in curl
    assert f'"client_id": "{alpha.application.client_id}"' in python and f'"{token_url}"' in python
    assert f'client_id: "{alpha.application.client_id}"' in node and f'audience: "{api.identifier}"' in node
    # and never a secret: the placeholder stands for it
    assert alpha.application.plaintext_secret not in second
    # and an HTTP Basic client's snippet (the first by name) authenticates with Basic
    basic_curl = html.unescape(re.search(r'<code id="snippet-curl"[^>]*>(.*?)</code>', first, re.S).group(1))
    assert f"--user {basic.client_id}:{SECRET_PLACEHOLDER}" in basic_curl
    assert "client_secret=" not in basic_curl


def test_get_test_token_mints_a_real_token_shown_once(portal_client, portal_admin, alpha):
    # given alpha's app granted read and write, and alpha's token rule adding a "plan" claim
    api, application = alpha.api, alpha.application
    # when the admin asks for a test token
    response = portal_client.post(admin_url("apis_api_test", api.pk), {"application": application.pk})
    page = _page(response)
    # then the page shows the token, which verifies against the tenant's JWKS with the API as audience
    token = re.search(r'<code id="test-token"[^>]*>([^<]+)</code>', page).group(1)
    claims = _jwks_verified(portal_client, token, tenant_slug=alpha.tenant.slug, audience=api.identifier)
    assert claims["sub"] == f"{application.client_id}@clients"
    assert claims["scope"] == "read:things write:things"
    assert claims["gty"] == "client-credentials"
    assert claims["https://example.com/plan"] == "gold"  # the tenant's token rules applied
    # and its decoded header and claims are on the page as JSON
    header_json = html.unescape(re.search(r'<code id="test-token-header">(.*?)</code>', page, re.S).group(1))
    claims_json = html.unescape(re.search(r'<code id="test-token-claims">(.*?)</code>', page, re.S).group(1))
    assert json.loads(header_json) == jwt.get_unverified_header(token)
    assert json.loads(claims_json) == claims
    # and the response is not stored anywhere
    assert "no-store" in response["Cache-Control"]
    # and it is in the token log like any token, and an audit event names the admin
    logged = TokenEvent.objects.get(jti=claims["jti"])
    assert (logged.type, logged.client_id, logged.audience, logged.scope) == (
        TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS,
        application.client_id,
        api.identifier,
        "read:things write:things",
    )
    event = AuditEvent.objects.get(type=AuditEvent.Type.API_TEST_TOKEN_ISSUED)
    assert (event.actor, event.target, event.data["jti"]) == (portal_admin, api.identifier, claims["jti"])
    # and the Test tab, opened again, does not show it
    assert token not in _page(portal_client.get(admin_url("apis_api_test", api.pk)))


def test_get_test_token_shows_the_token_endpoints_refusal(portal_client, alpha):
    # given a token rule that denies every token of alpha's app
    TokenRule.objects.filter(tenant=alpha.tenant).delete()
    TokenRuleFactory(
        tenant=alpha.tenant,
        application=alpha.application,
        action=TokenRule.Action.DENY,
        claims={},
        deny_message="Tokens are paused for maintenance.",
    )
    # when the admin asks for a test token
    page = _page(
        portal_client.post(admin_url("apis_api_test", alpha.api.pk), {"application": alpha.application.pk})
    )
    # then the refusal is on the page, no token is, and the token log has the refusal
    refusal = re.search(r'<div class="errornote" id="test-token-refusal"[^>]*>(.*?)</div>', page, re.S).group(
        1
    )
    assert "<code>access_denied</code>" in refusal and "Tokens are paused for maintenance." in refusal
    assert 'id="test-token"' not in page
    logged = TokenEvent.objects.filter(type=TokenEvent.Type.FAILED_CLIENT_CREDENTIALS).get()
    assert logged.error_description == "Tokens are paused for maintenance."
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.API_TEST_TOKEN_ISSUED).exists()


def test_get_test_token_only_for_an_authorized_application(portal_client, alpha, m2m_tab):
    # given an application of the tenant without a grant for the API
    # when the admin posts its id
    page = _page(
        portal_client.post(admin_url("apis_api_test", alpha.api.pk), {"application": m2m_tab["m2m"].pk})
    )
    # then nothing is minted
    assert 'id="test-token-refusal"' in page and 'id="test-token"' not in page
    assert not TokenEvent.objects.filter(client_id=m2m_tab["m2m"].client_id).exists()


def test_a_management_api_test_token_works(portal_client, alpha):
    # given the Management API and its management client's grant
    management_api_provision(tenant=alpha.tenant)
    api = Api.objects.get(tenant=alpha.tenant, is_system=True)
    # when the admin opens its Test tab and gets a test token
    tab = _page(portal_client.get(admin_url("apis_api_test", api.pk)))
    page = _page(
        portal_client.post(
            admin_url("apis_api_test", api.pk),
            {"application": Application.objects.get(tenant=alpha.tenant, is_system=True).pk},
        )
    )
    token = re.search(r'<code id="test-token"[^>]*>([^<]+)</code>', page).group(1)
    # then the token is accepted by the Management API itself
    assert 'id="get-test-token"' in tab
    response = portal_client.get(
        f"/t/{alpha.tenant.slug}/api/v2/resource-servers", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == HTTPStatus.OK, response.content
    assert api.identifier in response.content.decode()


# --- permissions and tenancy -------------------------------------------------------------------------


@pytest.mark.parametrize("url_name", TAB_URLS)
def test_a_read_only_user_sees_every_tab_without_forms(viewer, alpha, url_name):
    # given a member who may only view APIs
    # when they open a tab
    page = _page(viewer.get(admin_url(url_name, alpha.api.pk)))
    # then it shows, with no form to post and no button
    assert 'id="api-tab-test"' in page
    if url_name == "apis_api_change":  # Django's own view-only change form: no save buttons
        assert 'name="_save"' not in page and 'name="_continue"' not in page
    else:
        assert 'method="post"' not in _main(page)
        assert 'type="submit"' not in _main(page)


@pytest.mark.parametrize("url_name", POST_TABS)
def test_a_read_only_user_cannot_post_to_a_tab(viewer, alpha, url_name):
    # given a member who may only view APIs
    grants_before = list(ClientGrant.objects.values_list("pk", "scopes"))
    # when they post what each tab's form would
    data = {
        "apis_api_permissions": {"action": "add", "add-value": "sneaky:things"},
        "apis_api_m2m": _m2m_form({alpha.application: None}),
        "apis_api_test": {"application": alpha.application.pk},
    }[url_name]
    response = viewer.post(admin_url(url_name, alpha.api.pk), data)
    # then it is refused and nothing changed or was minted
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not Scope.objects.filter(value="sneaky:things").exists()
    assert list(ClientGrant.objects.values_list("pk", "scopes")) == grants_before
    assert (
        not TokenEvent.objects.filter(client_id=alpha.application.client_id)
        .exclude(pk=alpha.token_event.pk)
        .exists()
    )


@pytest.mark.parametrize("url_name", TAB_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_api_is_not_found_on_every_tab(portal_client, alpha, bravo, url_name, method):
    # given bravo's API, and alpha's admin
    # when alpha's admin opens or posts any tab of it
    response = getattr(portal_client, method)(
        admin_url(url_name, bravo.api.pk), {"application": bravo.application.pk}
    )
    # then it is not found, and nothing of bravo's changed
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert ClientGrant.objects.filter(pk=bravo.grant.pk).exists()
    assert (
        not TokenEvent.objects.filter(client_id=bravo.application.client_id)
        .exclude(pk=bravo.token_event.pk)
        .exists()
    )


def test_test_tab_queries_do_not_grow_with_applications(portal_client, alpha):
    # given the Test tab with one authorized application
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _page(portal_client.get(admin_url("apis_api_test", alpha.api.pk)))
        return len(captured)

    few = queries()
    # when ten more applications are authorized
    for index in range(10):
        ClientGrantFactory(
            application=ApplicationFactory(tenant=alpha.tenant, name=f"Worker {index}"), api=alpha.api
        )
    # then the page costs the same number of queries
    assert queries() == few
