"""The URLs an application registers: callbacks, logout URLs and web origins, checked entry by entry.

``apps.applications.services`` checks every list it is given here, so the portal, the Management
API and config as code refuse the same entries with the same words: one message (with a code)
per bad entry, naming it. The rules, Auth0's where it has them:

- a callback or logout URL is absolute, with a host, and uses https, or http (local development,
  as Auth0 allows; RFC 7591 registration by third parties is stricter, see
  ``apps.oauth.registration.metadata``). A native application may also use its own private-use
  scheme (RFC 8252 7.1: ``com.example.app:/callback``), never one a browser runs or reads
  (``javascript:``, ``data:``, ``file:``...);
- no fragment (RFC 6749 3.1.2), no user name or password in it;
- no wildcards at all. Auth0 accepts a subdomain wildcard (``https://*.example.com``); we do
  not: redirect URIs are matched exactly (RFC 9700 4.1.1, DOT's ``ALLOW_URI_WILDCARDS`` off),
  so a wildcard entry could never match, and saying so beats storing it;
- a web origin is an origin: scheme, host and optional port, nothing after it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from apps.applications.models import Application

AppType = Application.AppType

MAX_URI_LENGTH = 2000
# Longer entries are cut in messages: the admin sees which entry it is without a wall of text.
SHOWN_LENGTH = 200

CALLBACKS = "callbacks"
LOGOUT_URLS = "logout_urls"
ALLOWED_ORIGINS = "allowed_origins"
# The services' argument -> the model field that stores the list (space-separated, as DOT does).
MODEL_FIELDS = {
    CALLBACKS: "redirect_uris",
    LOGOUT_URLS: "post_logout_redirect_uris",
    ALLOWED_ORIGINS: "allowed_origins",
}

CODE_TOO_LONG = "uri_too_long"
CODE_MALFORMED = "uri_malformed"
CODE_WILDCARD = "uri_wildcard"
CODE_FRAGMENT = "uri_fragment"
CODE_NOT_ABSOLUTE = "uri_not_absolute"
CODE_SCHEME = "uri_scheme"
CODE_NO_HOST = "uri_no_host"
CODE_CREDENTIALS = "uri_credentials"
CODE_NOT_AN_ORIGIN = "uri_not_an_origin"

MSG_TOO_LONG = "'{uri}' is longer than {limit} characters."
MSG_MALFORMED = "'{uri}' is not a valid URL."
MSG_CUSTOM_SCHEME_FORM = "'{uri}' is not a valid app URL: write the app's scheme, a colon and a path, e.g. com.example.app:/callback."
MSG_WILDCARD = "'{uri}' contains a wildcard (*): wildcards are not supported, list every URL in full."
MSG_FRAGMENT = "'{uri}' must not contain a fragment (the part from #)."
MSG_NOT_ABSOLUTE = (
    "'{uri}' is not an absolute URL: start it with https:// (or http:// for local development)."
)
MSG_SCHEME = "'{uri}' uses the {scheme}: scheme; use https (or http for local development)."
MSG_SCHEME_NATIVE = "'{uri}' uses the {scheme}: scheme; use https, http, or the app's own scheme such as com.example.app:/callback."
MSG_NO_HOST = "'{uri}' has no host name."
MSG_CREDENTIALS = "'{uri}' must not contain a user name or password."
MSG_NOT_AN_ORIGIN = (
    "'{uri}' is not an origin: give the scheme, host and port only, e.g. https://app.example.com "
    "(no path, query or trailing slash)."
)

WEB_SCHEMES = ("https", "http")
# Never a redirect target, whatever the type: a browser would run, read or misuse what follows.
_REFUSED_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob", "filesystem"})
# Schemes with a registered meaning of their own (RFC 3986 / IANA) that no app receives a redirect on.
_FOREIGN_SCHEMES = frozenset({"ftp", "ws", "wss", "mailto", "tel", "sms"})
_SCHEME_RE = re.compile(r"^[a-z][a-z0-9.+-]*$")
# RFC 8252 7.1: "com.example.app:/oauth2redirect"; "myapp://callback" is accepted too (Auth0 does).
_CUSTOM_SCHEME_URI_RE = re.compile(r"^[a-z][a-z0-9.+-]*:(?://|/)[^\s/]", re.IGNORECASE)
_CONTROL_OR_SPACE_RE = re.compile(r"[\x00-\x20\x7f]")
# RFC 1123 host name labels (after IDNA); dotless names too (http://intranet/callback).
_HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
MAX_HOST_LENGTH = 253


def _shown(uri: str) -> str:
    return uri if len(uri) <= SHOWN_LENGTH else uri[:SHOWN_LENGTH] + "…"


def _refusal(message: str, code: str, uri: str, **params: str) -> ValidationError:
    return ValidationError(message.format(uri=_shown(uri), **params), code=code)


def uri_error(uri: str, *, kind: str, app_type: str) -> ValidationError | None:
    """Why ``uri`` cannot be one of the application's ``kind`` URLs (``CALLBACKS``...), or None."""
    if len(uri) > MAX_URI_LENGTH:
        return _refusal(MSG_TOO_LONG, CODE_TOO_LONG, uri, limit=str(MAX_URI_LENGTH))
    if _CONTROL_OR_SPACE_RE.search(uri):
        return _refusal(MSG_MALFORMED, CODE_MALFORMED, uri)
    if "*" in uri:
        return _refusal(MSG_WILDCARD, CODE_WILDCARD, uri)
    if "#" in uri:
        return _refusal(MSG_FRAGMENT, CODE_FRAGMENT, uri)
    try:
        parts = urlsplit(uri)
        host, _port = parts.hostname, parts.port
    except ValueError:  # a port out of range, a broken IPv6 literal
        return _refusal(MSG_MALFORMED, CODE_MALFORMED, uri)
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME_RE.match(scheme):
        return _refusal(MSG_NOT_ABSOLUTE, CODE_NOT_ABSOLUTE, uri)
    custom_schemes = app_type == AppType.NATIVE and kind in (CALLBACKS, LOGOUT_URLS)
    if scheme not in WEB_SCHEMES:
        if not custom_schemes or scheme in _REFUSED_SCHEMES or scheme in _FOREIGN_SCHEMES:
            message = MSG_SCHEME_NATIVE if custom_schemes else MSG_SCHEME
            return _refusal(message, CODE_SCHEME, uri, scheme=scheme)
        if not _CUSTOM_SCHEME_URI_RE.match(uri):
            return _refusal(MSG_CUSTOM_SCHEME_FORM, CODE_MALFORMED, uri)
        return None
    if not host:
        return _refusal(MSG_NO_HOST, CODE_NO_HOST, uri)
    if parts.username is not None or parts.password is not None:
        return _refusal(MSG_CREDENTIALS, CODE_CREDENTIALS, uri)
    if kind == ALLOWED_ORIGINS and (parts.path or parts.query or uri.endswith("?")):
        return _refusal(MSG_NOT_AN_ORIGIN, CODE_NOT_AN_ORIGIN, uri)
    if not _is_host(host):
        return _refusal(MSG_MALFORMED, CODE_MALFORMED, uri)
    return None


def _is_host(host: str) -> bool:
    """An IP address, or a DNS name (internationalised names through IDNA)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = name.removesuffix(".").split(".")
    return len(name) <= MAX_HOST_LENGTH and all(_HOST_LABEL_RE.match(label) for label in labels)


def uri_list_errors(uris: list[str], *, kind: str, app_type: str) -> list[ValidationError]:
    """One error per bad entry of the list, in the list's order (empty: every entry is fine)."""
    errors = (uri_error(uri, kind=kind, app_type=app_type) for uri in uris)
    return [error for error in errors if error is not None]


def custom_schemes_of(uris: list[str]) -> list[str]:
    """The private-use schemes among a native application's registered URLs (already checked)."""
    schemes: list[str] = []
    for uri in uris:
        scheme = uri.partition(":")[0].lower()
        if scheme and scheme not in WEB_SCHEMES and scheme not in schemes and _SCHEME_RE.match(scheme):
            schemes.append(scheme)
    return schemes
