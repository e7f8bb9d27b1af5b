"""The application pages: create by type, the secret shown once, tabs, URL and grant-type refusals,
Quickstart per type, read-only members, other tenants' applications and the empty list."""

from __future__ import annotations

import html as html_lib
import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.accounts.services import portal_admin_create
from apps.applications import rules, uris
from apps.applications.models import Application
from apps.applications.services import application_update
from apps.audit.models import AuditEvent
from apps.management.services import management_api_provision
from tests.dashboard.conftest import PORTAL_PASSWORD, admin_url, shown_secret
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory

AppType = Application.AppType
ISSUER = "http://testserver/t/alpha-corp/"
TABS = ["Settings", "Credentials", "Application URIs", "Grant types", "Advanced", "Quickstart"]


def page_text(response) -> str:
    return html_lib.unescape(response.content.decode())


def create(client, tenant, app_type: str, name: str = "New app"):
    return client.post(
        admin_url("applications_application_add"), {"tenant": tenant.pk, "name": name, "app_type": app_type}
    )


def change_form(application: Application, **overrides) -> dict:
    """The change form as the browser posts it, unchanged, with ``overrides``."""
    data = {
        "name": application.name,
        "description": application.description,
        "is_active": "on" if application.is_active else "",
        "is_first_party": "on" if application.is_first_party else "",
        "grant_types": list(application.grant_types),
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "redirect_uris": "\n".join(application.redirect_uris.split()),
        "post_logout_redirect_uris": "\n".join(application.post_logout_redirect_uris.split()),
        "allowed_origins": "\n".join(application.allowed_origins.split()),
        "client_metadata": "{}",
        # The browser posts it too: the model's callable default gives the field a hidden initial.
        "initial-client_metadata": "{}",
    } | overrides
    return {key: value for key, value in data.items() if value != ""}


def view_only_client(tenant) -> Client:
    """A staff member of ``tenant`` who may only view applications."""
    user = portal_admin_create(username="viewer", password=PORTAL_PASSWORD, tenants=[tenant])
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_application"))
    client = Client()
    client.force_login(user)
    return client


# --- create by type -----------------------------------------------------------------------------


def test_the_create_form_asks_only_for_tenant_name_and_type(portal_client, alpha):
    # when the admin opens "Add application"
    html = page_text(portal_client.get(admin_url("applications_application_add")))
    # then it asks for the tenant, a name and one of four types, each a labelled radio with its use
    names = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([^"]+)"', html)) - {
        "csrfmiddlewaretoken",
        "_save",
    }
    assert names == {"tenant", "name", "app_type"}
    for value, label in [
        ("native", "Native application"),
        ("spa", "Single-page application"),
        ("regular_web", "Regular web application"),
        ("non_interactive", "Machine to machine"),
    ]:
        radio = re.search(
            rf'<label for="(id_app_type_\d)"><input type="radio" name="app_type" value="{value}"', html
        )
        assert radio, value
        label_html = re.search(rf'<label for="{radio.group(1)}">(.*?)</label>', html, re.S).group(1)
        assert f"<strong>{label}</strong>" in label_html
        assert 'class="portcullis-choice-help"' in label_html
    assert 'id="create-application"' in html


@pytest.mark.parametrize(
    ("app_type", "grant_types", "auth_method", "client_type"),
    [
        (
            AppType.REGULAR_WEB,
            ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "client_secret_post",
            "confidential",
        ),
        (AppType.MACHINE_TO_MACHINE, ["client_credentials"], "client_secret_post", "confidential"),
        (AppType.SPA, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
        (AppType.NATIVE, ["authorization_code", "implicit", "refresh_token"], "none", "public"),
    ],
)
def test_each_type_is_created_with_its_defaults(
    portal_client, alpha, app_type, grant_types, auth_method, client_type
):
    # when the admin creates an application of the type through the short form
    response = create(portal_client, alpha.tenant, app_type)
    # then it has the type's defaults, exactly
    application = Application.objects.get(tenant=alpha.tenant, name="New app")
    assert application.grant_types == grant_types
    assert application.token_endpoint_auth_method == auth_method
    assert application.client_type == client_type
    assert application.is_first_party is True
    # and a confidential one's secret is shown (with a copy button); a public one goes to its page
    if client_type == "confidential":
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert shown_secret(html)
        assert 'id="copy-secret" data-copy-target="client-secret"' in html
        assert "portcullis/copy_button.js" in html
    else:
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"] == admin_url("applications_application_change", application.pk)
        followed = page_text(portal_client.get(response["Location"]))
        assert "It is a public client: it has no secret." in followed
        assert 'id="client-secret"' not in followed


def test_the_secret_is_shown_once_then_never(portal_client, alpha):
    # given an M2M application just created, its secret on the response
    response = create(portal_client, alpha.tenant, AppType.MACHINE_TO_MACHINE)
    secret = shown_secret(response.content.decode())
    application = Application.objects.get(tenant=alpha.tenant, name="New app")
    assert "no-store" in response["Cache-Control"]
    # when the admin opens every page of it, and the list
    urls = [
        admin_url("applications_application_change", application.pk),
        admin_url("applications_application_quickstart", application.pk),
        admin_url("applications_application_changelist"),
        admin_url("applications_application_history", application.pk),
    ]
    for url in urls:
        page = portal_client.get(url)
        # then the secret is on none of them, nor its hash
        assert page.status_code == HTTPStatus.OK, url
        assert secret not in page.content.decode(), url
        assert application.client_secret.split("$")[-1] not in page.content.decode(), url
    # and the Credentials tab says why
    assert "Hidden. Portcullis keeps only a hash of it" in page_text(portal_client.get(urls[0]))


# --- the application's page: tabs --------------------------------------------------------------


def test_the_page_has_tabs_over_one_form(portal_client, alpha):
    # when the admin opens the application
    html = portal_client.get(
        admin_url("applications_application_change", alpha.application.pk)
    ).content.decode()
    # then a tab bar names the sections of the one form, and links the Quickstart page
    nav = re.search(r'<nav class="portcullis-tabs"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r"<a [^>]*>([^<]+)</a>", nav) == TABS
    for anchor in ["settings", "credentials", "application-uris", "grant-types", "advanced"]:
        assert f'href="#tab-{anchor}" data-tab="tab-{anchor}"' in nav
        assert f'<section id="tab-{anchor}" class="portcullis-tab-panel" data-tab-panel>' in html
    assert admin_url("applications_application_quickstart", alpha.application.pk) in nav
    assert html.count('id="application_form"') == 1
    assert "portcullis/section_tabs.js" in html
    # and "Rotate secret" is in Credentials
    credentials = re.search(r'<section id="tab-credentials".*?</section>', html, re.S).group(0)
    assert admin_url("applications_application_rotate_secret", alpha.application.pk) in credentials


def test_a_public_application_has_no_rotate_secret(portal_client, alpha):
    spa = ApplicationFactory(tenant=alpha.tenant, app_type=AppType.SPA)
    html = page_text(portal_client.get(admin_url("applications_application_change", spa.pk)))
    assert "Rotate secret" not in html
    assert "None: a public client (single-page or native app) has no secret" in html


def test_settings_uris_and_first_party_are_saved_with_one_service_call(portal_client, portal_admin, alpha):
    # given a regular web application
    web = ApplicationFactory(tenant=alpha.tenant, app_type=AppType.REGULAR_WEB)
    # when the admin fills its URIs and makes it third-party, in one save
    response = portal_client.post(
        admin_url("applications_application_change", web.pk),
        change_form(
            web,
            is_first_party="",
            redirect_uris="https://app.example.com/callback\r\nhttp://localhost:3000/callback",
            post_logout_redirect_uris="https://app.example.com/",
            allowed_origins="https://app.example.com",
        ),
    )
    # then everything is stored, and one audit event names every change
    assert response.status_code == HTTPStatus.FOUND, page_text(response)[:3000]
    web.refresh_from_db()
    assert web.redirect_uris.split() == ["https://app.example.com/callback", "http://localhost:3000/callback"]
    assert web.post_logout_redirect_uris == "https://app.example.com/"
    assert web.allowed_origins == "https://app.example.com"
    assert web.is_first_party is False
    events = AuditEvent.objects.filter(type=AuditEvent.Type.APPLICATION_UPDATED, target=web.client_id)
    assert [event.data["changed"] for event in events] == [
        ["allowed_origins", "callbacks", "is_first_party", "logout_urls"]
    ]
    assert events.get().actor == portal_admin


@pytest.mark.parametrize(
    ("field", "entries", "messages"),
    [
        (
            "redirect_uris",
            ["https://ok.example.com/cb", "https://app.example.com/cb#x", "ftp://files.example.com/cb"],
            [
                uris.MSG_FRAGMENT.format(uri="https://app.example.com/cb#x"),
                uris.MSG_SCHEME.format(uri="ftp://files.example.com/cb", scheme="ftp"),
            ],
        ),
        (
            "post_logout_redirect_uris",
            ["https://*.example.com/bye", "example.com/bye"],
            [
                uris.MSG_WILDCARD.format(uri="https://*.example.com/bye"),
                uris.MSG_NOT_ABSOLUTE.format(uri="example.com/bye"),
            ],
        ),
        (
            "allowed_origins",
            ["https://app.example.com/path", "https://user:pw@app.example.com"],
            [
                uris.MSG_NOT_AN_ORIGIN.format(uri="https://app.example.com/path"),
                uris.MSG_CREDENTIALS.format(uri="https://user:pw@app.example.com"),
            ],
        ),
    ],
)
def test_each_bad_url_is_named_on_its_field(portal_client, alpha, field, entries, messages):
    # given a regular web application
    web = ApplicationFactory(tenant=alpha.tenant, app_type=AppType.REGULAR_WEB)
    # when the admin saves a list with bad entries
    response = portal_client.post(
        admin_url("applications_application_change", web.pk),
        change_form(web, **{field: "\r\n".join(entries)}),
    )
    # then the form comes back with one message per bad entry, on that field's row
    assert response.status_code == HTTPStatus.OK
    html = page_text(response)
    row = re.search(rf'<div class="form-row[^"]*field-{field}[^"]*">(.*?)</textarea>', html, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", row) == messages
    # and nothing was saved
    web.refresh_from_db()
    assert getattr(web, field) == ""


@pytest.mark.parametrize(
    ("app_type", "offered"),
    [
        (AppType.MACHINE_TO_MACHINE, ["client_credentials"]),
        (AppType.SPA, [value for value in Application.GrantType.values if value != "client_credentials"]),
        (AppType.REGULAR_WEB, list(Application.GrantType.values)),
    ],
)
def test_grant_type_checkboxes_offer_what_the_type_may_use(portal_client, alpha, app_type, offered):
    application = ApplicationFactory(tenant=alpha.tenant, app_type=app_type)
    html = portal_client.get(admin_url("applications_application_change", application.pk)).content.decode()
    assert re.findall(r'<input type="checkbox" name="grant_types" value="([^"]+)"', html) == offered


def test_a_grant_type_the_service_refuses_is_a_form_error(portal_client, alpha):
    # given a regular web application (client credentials among its grant types)
    web = ApplicationFactory(tenant=alpha.tenant, app_type=AppType.REGULAR_WEB)
    # when the admin makes it public but keeps client credentials
    response = portal_client.post(
        admin_url("applications_application_change", web.pk),
        change_form(web, token_endpoint_auth_method="none"),
    )
    # then the grant types say why, and nothing changed
    assert response.status_code == HTTPStatus.OK
    row = re.search(
        r'<div class="form-row[^"]*field-grant_types[^"]*">(.*?)</fieldset>', page_text(response), re.S
    )
    assert re.findall(r"<li>([^<]*)</li>", row.group(1)) == [rules.MSG_CLIENT_CREDENTIALS_NEEDS_SECRET]
    web.refresh_from_db()
    assert web.token_endpoint_auth_method == "client_secret_post"


def test_a_third_party_application_cannot_keep_the_password_grant(portal_client, alpha):
    web = ApplicationFactory(
        tenant=alpha.tenant, app_type=AppType.REGULAR_WEB, grant_types=["authorization_code", "password"]
    )
    response = portal_client.post(
        admin_url("applications_application_change", web.pk), change_form(web, is_first_party="")
    )
    assert response.status_code == HTTPStatus.OK
    assert rules.MSG_GRANT_TYPE_NEEDS_FIRST_PARTY.format(grant_type="Password") in page_text(response)
    assert Application.objects.get(pk=web.pk).is_first_party is True


# --- Quickstart --------------------------------------------------------------------------------


def quickstart(client, application) -> str:
    response = client.get(admin_url("applications_application_quickstart", application.pk))
    assert response.status_code == HTTPStatus.OK
    return page_text(response)


def snippets(html: str) -> list[str]:
    return re.findall(
        r'<pre class="portcullis-code"><code id="snippet-\d+"[^>]*>(.*?)</code></pre>', html, re.S
    )


def test_quickstart_of_a_regular_web_app_signs_in_with_authlib(portal_client, alpha):
    # given a regular web application with a callback
    web = ApplicationFactory(
        tenant=alpha.tenant,
        app_type=AppType.REGULAR_WEB,
        callbacks=["https://app.example.com/callback", "https://app.example.com/other"],
    )
    # when the admin opens its Quickstart
    html = quickstart(portal_client, web)
    settings_py, views_py = snippets(html)
    # then the Authlib snippets carry the issuer's discovery URL, the client id and the first callback
    assert f'"server_metadata_url": "{ISSUER}.well-known/openid-configuration"' in settings_py
    assert f'"client_id": "{web.client_id}"' in settings_py
    assert '"client_secret": os.environ["PORTCULLIS_CLIENT_SECRET"]' in settings_py
    assert '"token_endpoint_auth_method": "client_secret_post"' in settings_py
    assert "from authlib.integrations.django_client import OAuth" in views_py
    assert 'authorize_redirect(request, "https://app.example.com/callback")' in views_py
    assert "authorize_access_token(request)" in views_py
    assert 'aria-current="page">Quickstart</a>' in html
    assert 'id="quickstart-todo"' not in html
    assert web.plaintext_secret not in html


def test_quickstart_of_a_spa_uses_pkce_without_a_secret(portal_client, alpha):
    spa = ApplicationFactory(
        tenant=alpha.tenant,
        app_type=AppType.SPA,
        callbacks=["https://spa.example.com/callback"],
        logout_urls=["https://spa.example.com/"],
    )
    html = quickstart(portal_client, spa)
    (code,) = snippets(html)
    assert 'import { UserManager } from "oidc-client-ts";' in code
    assert f'authority: "{ISSUER}"' in code
    assert f'client_id: "{spa.client_id}"' in code
    assert 'redirect_uri: "https://spa.example.com/callback"' in code
    assert 'post_logout_redirect_uri: "https://spa.example.com/"' in code
    assert 'response_type: "code"' in code
    assert "secret" not in code.replace("no client secret", "")
    # and it says what is missing: the origin the browser calls the token endpoint from
    assert "Add your app's origin (e.g. https://app.example.com) under Allowed web origins" in html


def test_quickstart_of_a_native_app_is_an_appauth_config(portal_client, alpha):
    native = ApplicationFactory(
        tenant=alpha.tenant, app_type=AppType.NATIVE, callbacks=["com.example.app:/callback"]
    )
    config, kotlin = snippets(quickstart(portal_client, native))
    assert f'"issuer": "{ISSUER}"' in config
    assert f'"client_id": "{native.client_id}"' in config
    assert '"redirect_uri": "com.example.app:/callback"' in config
    assert '"code_challenge_method": "S256"' in config
    assert f'AuthorizationServiceConfiguration.fetchFromIssuer(Uri.parse("{ISSUER}"))' in kotlin


def test_a_quickstart_without_a_callback_says_to_add_one(portal_client, alpha):
    native = ApplicationFactory(tenant=alpha.tenant, app_type=AppType.NATIVE)
    html = quickstart(portal_client, native)
    assert "Add your application's callback URL under Application URIs first" in html
    assert '"redirect_uri": "com.example.app:/callback"' in snippets(html)[0]


def test_quickstart_of_an_m2m_app_gets_a_token_for_its_granted_api(portal_client, alpha):
    # given alpha's M2M application, granted alpha's API
    application = alpha.application
    # when the admin opens its Quickstart
    html = quickstart(portal_client, application)
    curl, python, node = snippets(html)
    token_url = f"{ISSUER}oauth/token"
    # then curl, Python and Node ask the token endpoint for that API with client credentials (POST body)
    assert curl.startswith(f"curl -s {token_url} \\")
    assert "-d grant_type=client_credentials" in curl
    assert f"-d client_id={application.client_id}" in curl
    assert '--data-urlencode client_secret="$PORTCULLIS_CLIENT_SECRET"' in curl
    assert f"--data-urlencode audience={alpha.api.identifier}" in curl
    assert f'requests.post(\n    "{token_url}"' in python
    assert f'"client_id": "{application.client_id}"' in python
    assert f'"audience": "{alpha.api.identifier}"' in python
    assert f'await fetch("{token_url}"' in node
    assert "client_secret: process.env.PORTCULLIS_CLIENT_SECRET" in node
    assert f'audience: "{alpha.api.identifier}"' in node
    assert 'id="quickstart-todo"' not in html
    assert application.plaintext_secret not in html


def test_quickstart_of_a_basic_auth_m2m_app_sends_basic_credentials(portal_client, alpha):
    application_update(application=alpha.application, token_endpoint_auth_method="client_secret_basic")
    curl, python, node = snippets(quickstart(portal_client, alpha.application))
    assert f'-u {alpha.application.client_id}:"$PORTCULLIS_CLIENT_SECRET"' in curl
    assert "client_secret" not in curl
    assert f'auth=("{alpha.application.client_id}", os.environ["PORTCULLIS_CLIENT_SECRET"])' in python
    assert 'Authorization: "Basic " + Buffer.from(' in node


def test_quickstart_of_an_m2m_app_without_a_grant_says_to_authorize_it(portal_client, alpha):
    application = ApplicationFactory(tenant=alpha.tenant)
    html = quickstart(portal_client, application)
    assert "Authorize this application for an API first" in html
    assert f'href="{admin_url("grants_clientgrant_add")}?application={application.pk}"' in html
    assert "--data-urlencode audience=https://YOUR-API.example.com" in snippets(html)[0]


def test_quickstart_names_the_issuer_of_the_host_the_portal_is_on(alpha, portal_admin, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "auth.example.org"]
    client = Client(HTTP_HOST="auth.example.org")
    client.force_login(portal_admin)
    html = quickstart(client, alpha.application)
    assert "http://auth.example.org/t/alpha-corp/oauth/token" in snippets(html)[0]


# --- who may do what ------------------------------------------------------------------------------


def test_a_view_only_member_sees_no_forms_and_every_write_is_refused(alpha):
    # given a member of alpha who may only view applications
    client = view_only_client(alpha.tenant)
    application = alpha.application
    change_url = admin_url("applications_application_change", application.pk)
    # when they open the application, then they see it without a form field or a save button
    html = page_text(client.get(change_url))
    assert application.client_id in html
    form = re.search(r'<form [^>]*id="application_form".*?</form>', html, re.S).group(0)
    assert not re.search(r'<(?:input|select|textarea)[^>]* name="(?!csrfmiddlewaretoken)', form)
    assert 'name="_save"' not in html and "Rotate secret" not in html
    # and the Quickstart, which changes nothing, is theirs to read
    assert quickstart(client, application)
    # and every write is refused
    writes = [
        ("get", admin_url("applications_application_add"), None),
        (
            "post",
            admin_url("applications_application_add"),
            {"tenant": alpha.tenant.pk, "name": "x", "app_type": "spa"},
        ),
        ("post", change_url, change_form(application, name="Changed")),
        ("get", admin_url("applications_application_rotate_secret", application.pk), None),
        ("post", admin_url("applications_application_rotate_secret", application.pk), {}),
        ("get", admin_url("applications_application_delete", application.pk), None),
        ("post", admin_url("applications_application_delete", application.pk), {"post": "yes"}),
    ]
    for method, url, data in writes:
        assert getattr(client, method)(url, data).status_code == HTTPStatus.FORBIDDEN, (method, url)
    application.refresh_from_db()
    assert application.name != "Changed"
    assert not Application.objects.filter(name="x").exists()


def test_every_tab_of_another_tenants_application_is_not_found(portal_client, alpha, bravo):
    # given bravo's application, and a portal admin of alpha only
    foreign = bravo.application
    # then each of its URLs is a 404, read or write
    for name in ["change", "history", "delete", "quickstart", "rotate_secret"]:
        url = admin_url(f"applications_application_{name}", foreign.pk)
        assert portal_client.get(url).status_code == HTTPStatus.NOT_FOUND, name
        assert portal_client.post(url, {"post": "yes"}).status_code == HTTPStatus.NOT_FOUND, name
    assert Application.objects.get(pk=foreign.pk).client_secret == foreign.client_secret


# --- the empty list ------------------------------------------------------------------------------------


@pytest.fixture
def newcomer(db) -> tuple[Client, object]:
    """A portal admin of a new tenant: only its management client (a system application)."""
    tenant = TenantFactory(slug="newcomer")
    management_api_provision(tenant=tenant)
    user = portal_admin_create(username="nel", password=PORTAL_PASSWORD, tenants=[tenant])
    client = Client()
    client.force_login(user)
    return client, tenant


def test_a_tenant_without_applications_is_told_to_create_its_first(newcomer):
    # given a new tenant's admin
    client, tenant = newcomer
    # when they open the applications list
    html = page_text(client.get(admin_url("applications_application_changelist")))
    # then it says what to do first, with the link
    empty = re.search(r'<div class="portcullis-empty" id="first-application">(.*?)</div>', html, re.S).group(
        1
    )
    assert "<h2>Create your first application</h2>" in empty
    assert f'href="{admin_url("applications_application_add")}"' in empty
    # and once they have one, it does not
    ApplicationFactory(tenant=tenant)
    html = page_text(client.get(admin_url("applications_application_changelist")))
    assert "first-application" not in html


def test_a_view_only_member_of_an_empty_tenant_is_not_offered_the_create_link(db):
    tenant = TenantFactory(slug="quiet")
    client = view_only_client(tenant)
    html = page_text(client.get(admin_url("applications_application_changelist")))
    assert "No applications yet" in html
    assert admin_url("applications_application_add") not in html


def test_client_grant_factory_m2m_is_the_quickstart_audience_of_its_first_api(portal_client, alpha):
    # given an M2M application granted two APIs
    application = ApplicationFactory(tenant=alpha.tenant)
    first = ApiFactory(tenant=alpha.tenant, name="A first API", identifier="https://a-first.example.com")
    second = ApiFactory(tenant=alpha.tenant, name="B second API", identifier="https://b-second.example.com")
    ClientGrantFactory(application=application, api=second)
    ClientGrantFactory(application=application, api=first)
    # then the snippets use the first by name
    assert f"audience={first.identifier}" in snippets(quickstart(portal_client, application))[0]
