"""Quickstart snippets for an application, filled in with its issuer, client id and first callback.

The portal's "Quickstart" tab shows them, like Auth0's. One recipe per application type:

- regular web application: sign-in with the authorization code flow in Django, with Authlib;
- single-page application: the authorization code flow with PKCE in the browser (oidc-client-ts);
- native application: the same with AppAuth (RFC 8252), on a private-use scheme or loopback;
- machine to machine: client credentials with curl, Python (requests) and Node (fetch).

The client secret is never in a snippet (Portcullis cannot show it again): snippets read it
from an environment variable. Values are quoted for the language of each snippet (JSON string
literals are valid Python and JavaScript strings; ``shlex.quote`` for the shell).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from apps.applications.models import Application

AppType = Application.AppType
AuthMethod = Application.AuthMethod

# Where a value is missing, the snippet says what to put there.
CALLBACK_PLACEHOLDER = "https://YOUR-APP.example.com/callback"
NATIVE_CALLBACK_PLACEHOLDER = "com.example.app:/callback"
AUDIENCE_PLACEHOLDER = "https://YOUR-API.example.com"
SECRET_VARIABLE = "PORTCULLIS_CLIENT_SECRET"
TOKEN_PATH = "oauth/token"
DISCOVERY_PATH = ".well-known/openid-configuration"


@dataclass(frozen=True, slots=True)
class Snippet:
    """One code sample: a title, the language it is written in, and its text."""

    title: str
    language: str
    code: str


@dataclass(frozen=True, slots=True)
class Quickstart:
    """What the Quickstart tab shows for one application."""

    intro: str
    snippets: tuple[Snippet, ...]
    # Said before the snippets when something has to be done first (a callback, a client grant).
    todo: tuple[str, ...] = ()


def _js(value: str) -> str:
    return json.dumps(value)


def quickstart_for(application: Application, *, issuer: str) -> Quickstart:
    """The quickstart of ``application`` at ``issuer`` (built from the portal request's host)."""
    callbacks = application.redirect_uris.split()
    builders = {
        AppType.REGULAR_WEB: _regular_web,
        AppType.SPA: _spa,
        AppType.NATIVE: _native,
        AppType.MACHINE_TO_MACHINE: _machine_to_machine,
    }
    return builders[application.app_type](application, issuer, callbacks)


def _callback_todo(callbacks: list[str]) -> tuple[str, ...]:
    if callbacks:
        return ()
    return (
        "Add your application's callback URL under Application URIs first: the snippets use a placeholder.",
    )


def _regular_web(application: Application, issuer: str, callbacks: list[str]) -> Quickstart:
    callback = callbacks[0] if callbacks else CALLBACK_PLACEHOLDER
    auth_method = application.token_endpoint_auth_method
    settings = f"""\
# settings.py: pip install Authlib requests
import os

PORTCULLIS = {{
    "client_id": {_js(application.client_id)},
    "client_secret": os.environ[{_js(SECRET_VARIABLE)}],  # shown once when the app was created
    "server_metadata_url": {_js(issuer + DISCOVERY_PATH)},
    "client_kwargs": {{
        "scope": "openid profile email",
        "code_challenge_method": "S256",
        "token_endpoint_auth_method": {_js(auth_method)},
    }},
}}
"""
    views = f"""\
# views.py: sign in with the authorization code flow (PKCE too)
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.shortcuts import redirect

oauth = OAuth()
oauth.register("portcullis", **settings.PORTCULLIS)


def login(request):
    # Add audience="https://your-api.example.com" to get an access token for one of your APIs.
    return oauth.portcullis.authorize_redirect(request, {_js(callback)})


def callback(request):  # served at {callback}
    token = oauth.portcullis.authorize_access_token(request)
    request.session["user"] = token["userinfo"]
    return redirect("/")
"""
    return Quickstart(
        intro=(
            "A Django app signs users in with the authorization code flow, using Authlib. "
            "The client secret stays on your server: set it in the "
            f"{SECRET_VARIABLE} environment variable."
        ),
        snippets=(Snippet("settings.py", "python", settings), Snippet("views.py", "python", views)),
        todo=_callback_todo(callbacks),
    )


def _spa(application: Application, issuer: str, callbacks: list[str]) -> Quickstart:
    callback = callbacks[0] if callbacks else CALLBACK_PLACEHOLDER
    logout_urls = application.post_logout_redirect_uris.split()
    logout = f"\n  post_logout_redirect_uri: {_js(logout_urls[0])}," if logout_urls else ""
    code = f"""\
// npm install oidc-client-ts: the authorization code flow with PKCE, no client secret
import {{ UserManager }} from "oidc-client-ts";

export const userManager = new UserManager({{
  authority: {_js(issuer)},
  client_id: {_js(application.client_id)},
  redirect_uri: {_js(callback)},{logout}
  response_type: "code",
  scope: "openid profile email",
  // extraQueryParams: {{ audience: "https://your-api.example.com" }},
}});

// Sign in:                      await userManager.signinRedirect();
// On the callback page:         const user = await userManager.signinRedirectCallback();
// Call your API with:           fetch(url, {{ headers: {{ Authorization: `Bearer ${{user.access_token}}` }} }});
"""
    todo = list(_callback_todo(callbacks))
    if not application.allowed_origins.split():
        todo.append(
            "Add your app's origin (e.g. https://app.example.com) under Allowed web origins: "
            "the browser calls the token endpoint from it."
        )
    return Quickstart(
        intro=(
            "A single-page application is a public client: it signs users in with the "
            "authorization code flow and PKCE, and holds no secret."
        ),
        snippets=(Snippet("oidc-client-ts", "javascript", code),),
        todo=tuple(todo),
    )


def _native(application: Application, issuer: str, callbacks: list[str]) -> Quickstart:
    callback = callbacks[0] if callbacks else NATIVE_CALLBACK_PLACEHOLDER
    config = f"""\
{{
  "issuer": {_js(issuer)},
  "discovery": {_js(issuer + DISCOVERY_PATH)},
  "client_id": {_js(application.client_id)},
  "redirect_uri": {_js(callback)},
  "response_type": "code",
  "code_challenge_method": "S256",
  "scope": "openid profile offline_access"
}}
"""
    kotlin = f"""\
// Android, AppAuth (net.openid:appauth): PKCE is added by AppAuth itself
AuthorizationServiceConfiguration.fetchFromIssuer(Uri.parse({_js(issuer)})) {{ config, error ->
    val request = AuthorizationRequest.Builder(
        config!!,
        {_js(application.client_id)},
        ResponseTypeValues.CODE,
        Uri.parse({_js(callback)}),
    ).setScopes("openid", "profile", "offline_access").build()
    startActivityForResult(authService.getAuthorizationRequestIntent(request), RC_AUTH)
}}
"""
    return Quickstart(
        intro=(
            "A native application is a public client (RFC 8252): it opens the sign-in page in the "
            "system browser, receives the code on its own scheme or a loopback address, and "
            "exchanges it with PKCE, without a secret."
        ),
        snippets=(
            Snippet("AppAuth configuration", "json", config),
            Snippet("Android (AppAuth)", "kotlin", kotlin),
        ),
        todo=_callback_todo(callbacks),
    )


def _machine_to_machine(application: Application, issuer: str, callbacks: list[str]) -> Quickstart:
    grant = application.client_grants.select_related("api").order_by("api__name", "pk").first()
    audience = grant.api.identifier if grant is not None else AUDIENCE_PLACEHOLDER
    token_url = issuer + TOKEN_PATH
    basic = application.token_endpoint_auth_method == AuthMethod.CLIENT_SECRET_BASIC
    client_id = application.client_id
    if basic:
        curl_credentials = f'  -u {shlex.quote(client_id)}:"${SECRET_VARIABLE}" \\\n'
        python_credentials = f"    auth=({_js(client_id)}, os.environ[{_js(SECRET_VARIABLE)}]),\n"
        node_headers = (
            '    Authorization: "Basic " + Buffer.from(\n'
            f"      {_js(client_id + ':')} + process.env.{SECRET_VARIABLE}\n"
            '    ).toString("base64"),\n'
        )
        python_fields = node_fields = curl_fields = ""
    else:
        curl_credentials = ""
        curl_fields = (
            f"  -d client_id={shlex.quote(client_id)} \\\n"
            f'  --data-urlencode client_secret="${SECRET_VARIABLE}" \\\n'
        )
        python_credentials = ""
        python_fields = (
            f'        "client_id": {_js(client_id)},\n'
            f'        "client_secret": os.environ[{_js(SECRET_VARIABLE)}],\n'
        )
        node_headers = ""
        node_fields = f"    client_id: {_js(client_id)},\n    client_secret: process.env.{SECRET_VARIABLE},\n"
    curl = (
        f"curl -s {shlex.quote(token_url)} \\\n"
        f"{curl_credentials}"
        "  -d grant_type=client_credentials \\\n"
        f"{curl_fields}"
        f"  --data-urlencode audience={shlex.quote(audience)}\n"
    )
    python = f"""\
import os

import requests

response = requests.post(
    {_js(token_url)},
{python_credentials}    data={{
        "grant_type": "client_credentials",
{python_fields}        "audience": {_js(audience)},
    }},
    timeout=10,
)
response.raise_for_status()
access_token = response.json()["access_token"]
"""
    node = f"""\
const response = await fetch({_js(token_url)}, {{
  method: "POST",
  headers: {{
    "Content-Type": "application/x-www-form-urlencoded",
{node_headers}  }},
  body: new URLSearchParams({{
    grant_type: "client_credentials",
{node_fields}    audience: {_js(audience)},
  }}),
}});
const {{ access_token }} = await response.json();
"""
    todo: tuple[str, ...] = ()
    if grant is None:
        todo = (
            "Authorize this application for an API first (a client grant, on the API's Machine to "
            "Machine Applications tab): until then the token endpoint refuses it.",
        )
    return Quickstart(
        intro=(
            "A machine-to-machine application gets access tokens for your APIs as itself, with the "
            "client credentials grant. Set the secret (shown once, when the application was created "
            f"or its secret rotated) in the {SECRET_VARIABLE} environment variable."
        ),
        snippets=(
            Snippet("curl", "shell", curl),
            Snippet("Python (requests)", "python", python),
            Snippet("Node (fetch)", "javascript", node),
        ),
        todo=todo,
    )
