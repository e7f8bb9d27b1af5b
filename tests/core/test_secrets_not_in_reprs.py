"""Secrets held in dataclasses never show in their repr (tracebacks, logs, debuggers print reprs)."""

from __future__ import annotations

import dataclasses

import pytest

from apps.apis.selectors import ApiSnapshot
from apps.applications.services import ApplicationWithSecret
from apps.management.services import ManagementCredentials
from apps.oauth.context import OAuthContext
from apps.tenants.keys import GeneratedKey
from apps.tenants.selectors import ActiveSigningKey
from apps.timesheets.webapp.config import RelyingPartyConfig
from apps.timesheets.webapp.store import BrowserState

SECRET = "s3cr3t-value-that-must-not-print"


SECRET_WORDS = ("secret", "private", "key")


def is_secret(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def build(cls):
    """An instance with every secret-named field holding SECRET and every other field a harmless value."""
    values = {}
    for field in dataclasses.fields(cls):
        if is_secret(field.name):
            values[field.name] = SECRET
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            values[field.name] = "x"
    return cls(**values)


@pytest.mark.parametrize(
    "cls",
    [
        ApiSnapshot,
        ApplicationWithSecret,
        ManagementCredentials,
        GeneratedKey,
        ActiveSigningKey,
        RelyingPartyConfig,
        BrowserState,
    ],
)
def test_secret_fields_are_left_out_of_the_repr(cls):
    # given a dataclass that holds a secret
    assert any(is_secret(field.name) for field in dataclasses.fields(cls)), cls
    # when it is printed
    printed = repr(build(cls))
    # then the secret is not
    assert SECRET not in printed and "x" in printed


def test_the_oauth_context_never_prints_the_request_parameters():
    context = OAuthContext(
        tenant=None, issuer="https://x/", params=[("client_secret", SECRET), ("code", SECRET)]
    )
    assert SECRET not in repr(context)
