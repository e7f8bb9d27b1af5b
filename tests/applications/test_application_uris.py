"""Callback, logout and origin URLs: each bad entry refused with its own message and code, by the service."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.applications import uris
from apps.applications.models import Application
from apps.applications.services import AppType, application_create, application_update
from tests.factories import ApplicationFactory, TenantFactory

WEB = AppType.REGULAR_WEB
NATIVE = AppType.NATIVE
SPA = AppType.SPA
FIELD = {
    "callbacks": "redirect_uris",
    "logout_urls": "post_logout_redirect_uris",
    "allowed_origins": "allowed_origins",
}


def refusals(raised: pytest.ExceptionInfo[ValidationError], field: str) -> list[tuple[str | None, str]]:
    return [(error.code, error.messages[0]) for error in raised.value.error_dict[field]]


@pytest.mark.parametrize(
    ("kind", "app_type", "uri", "code", "message"),
    [
        pytest.param(
            "callbacks",
            WEB,
            "ftp://files.example.com/cb",
            uris.CODE_SCHEME,
            "'ftp://files.example.com/cb' uses the ftp: scheme; use https (or http for local development).",
            id="scheme",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "javascript:alert(1)",
            uris.CODE_SCHEME,
            "'javascript:alert(1)' uses the javascript: scheme; use https (or http for local development).",
            id="javascript",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "com.example.app:/callback",
            uris.CODE_SCHEME,
            "'com.example.app:/callback' uses the com.example.app: scheme; use https (or http for local "
            "development).",
            id="custom-scheme-not-native",
        ),
        pytest.param(
            "callbacks",
            NATIVE,
            "javascript:alert(1)",
            uris.CODE_SCHEME,
            "'javascript:alert(1)' uses the javascript: scheme; use https, http, or the app's own scheme "
            "such as com.example.app:/callback.",
            id="native-javascript",
        ),
        pytest.param(
            "callbacks",
            NATIVE,
            "myapp:callback",
            uris.CODE_MALFORMED,
            "'myapp:callback' is not a valid app URL: write the app's scheme, a colon and a path, "
            "e.g. com.example.app:/callback.",
            id="native-custom-scheme-form",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://app.example.com/cb#done",
            uris.CODE_FRAGMENT,
            "'https://app.example.com/cb#done' must not contain a fragment (the part from #).",
            id="fragment",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://*.example.com/cb",
            uris.CODE_WILDCARD,
            "'https://*.example.com/cb' contains a wildcard (*): wildcards are not supported, list every URL "
            "in full.",
            id="wildcard",
        ),
        pytest.param(
            "allowed_origins",
            SPA,
            "https://*.example.com",
            uris.CODE_WILDCARD,
            "'https://*.example.com' contains a wildcard (*): wildcards are not supported, list every URL in "
            "full.",
            id="origin-wildcard",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "app.example.com/callback",
            uris.CODE_NOT_ABSOLUTE,
            "'app.example.com/callback' is not an absolute URL: start it with https:// (or http:// for local "
            "development).",
            id="not-absolute",
        ),
        pytest.param(
            "logout_urls",
            WEB,
            "https:///bye",
            uris.CODE_NO_HOST,
            "'https:///bye' has no host name.",
            id="no-host",
        ),
        pytest.param(
            "logout_urls",
            WEB,
            "https://user:pw@app.example.com/bye",
            uris.CODE_CREDENTIALS,
            "'https://user:pw@app.example.com/bye' must not contain a user name or password.",
            id="credentials",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://exa mple.com/cb",
            uris.CODE_MALFORMED,
            "'https://exa mple.com/cb' is not a valid URL.",
            id="space",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://bad_host!.example.com/cb",
            uris.CODE_MALFORMED,
            "'https://bad_host!.example.com/cb' is not a valid URL.",
            id="bad-host",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://app.example.com:99999/cb",
            uris.CODE_MALFORMED,
            "'https://app.example.com:99999/cb' is not a valid URL.",
            id="bad-port",
        ),
        pytest.param(
            "allowed_origins",
            SPA,
            "https://app.example.com/",
            uris.CODE_NOT_AN_ORIGIN,
            "'https://app.example.com/' is not an origin: give the scheme, host and port only, e.g. "
            "https://app.example.com (no path, query or trailing slash).",
            id="origin-with-slash",
        ),
        pytest.param(
            "allowed_origins",
            NATIVE,
            "com.example.app:/callback",
            uris.CODE_SCHEME,
            "'com.example.app:/callback' uses the com.example.app: scheme; use https (or http for local "
            "development).",
            id="origin-custom-scheme",
        ),
        pytest.param(
            "callbacks",
            WEB,
            "https://app.example.com/" + "a" * 2000,
            uris.CODE_TOO_LONG,
            "'https://app.example.com/" + "a" * 176 + "…' is longer than 2000 characters.",
            id="too-long",
        ),
    ],
)
def test_each_bad_url_is_refused_with_its_own_message(db, kind, app_type, uri, code, message):
    # given an application of the type
    application = ApplicationFactory(app_type=app_type)
    # when the list is set with the bad entry
    with pytest.raises(ValidationError) as raised:
        application_update(application=application, **{kind: ["https://fine.example.com", uri]})
    # then exactly that entry is refused, on the list's field, with its code and words
    assert refusals(raised, FIELD[kind]) == [(code, message)]
    assert getattr(Application.objects.get(pk=application.pk), FIELD[kind]) == ""


def test_every_bad_entry_gets_a_message_and_nothing_is_created(db):
    with pytest.raises(ValidationError) as raised:
        application_create(
            tenant=TenantFactory(),
            name="Two bad",
            app_type=WEB,
            callbacks=["https://ok.example.com/cb", "https://a.example.com/#x", "ftp://b.example.com"],
            allowed_origins=["https://ok.example.com/path"],
        )
    assert [code for code, _message in refusals(raised, "redirect_uris")] == [
        uris.CODE_FRAGMENT,
        uris.CODE_SCHEME,
    ]
    assert [code for code, _message in refusals(raised, "allowed_origins")] == [uris.CODE_NOT_AN_ORIGIN]
    assert not Application.objects.filter(name="Two bad").exists()


@pytest.mark.parametrize(
    ("kind", "app_type", "uri"),
    [
        ("callbacks", WEB, "https://app.example.com/callback?tenant=a"),
        ("callbacks", WEB, "http://localhost:3000/callback"),
        ("callbacks", WEB, "http://127.0.0.1:8000/sample/callback"),
        ("callbacks", WEB, "http://[::1]:8080/callback"),
        ("callbacks", WEB, "http://intranet/callback"),
        ("callbacks", NATIVE, "com.example.app:/callback"),
        ("callbacks", NATIVE, "myapp://callback"),
        ("logout_urls", NATIVE, "com.example.app:/signed-out"),
        ("logout_urls", WEB, "https://app.example.com/"),
        ("allowed_origins", SPA, "https://app.example.com"),
        ("allowed_origins", SPA, "http://localhost:3000"),
    ],
)
def test_good_urls_are_stored(db, kind, app_type, uri):
    application = ApplicationFactory(app_type=app_type)
    application_update(application=application, **{kind: [uri]})
    assert getattr(Application.objects.get(pk=application.pk), FIELD[kind]) == uri


def test_a_native_apps_own_scheme_is_one_dot_may_redirect_to(db):
    # given a native app with a private-use callback scheme, and a web app
    native = ApplicationFactory(app_type=NATIVE, callbacks=["com.example.app:/callback"])
    web = ApplicationFactory(app_type=WEB, callbacks=["https://app.example.com/cb"])
    # then DOT may redirect the native app to its scheme, and nobody else to it
    assert native.get_allowed_schemes() == ["http", "https", "com.example.app"]
    assert web.get_allowed_schemes() == ["http", "https"]
