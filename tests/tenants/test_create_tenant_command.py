"""``manage.py create_tenant``: a working tenant and management client from one command."""

from __future__ import annotations

import io
import json
from http import HTTPStatus

import jwt
import pytest
from django.core.management import CommandError, call_command

from apps.apis.models import Api
from apps.applications.models import Application
from apps.tenants.models import SigningKey, Tenant


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command("create_tenant", *args, stdout=out)
    return json.loads(out.getvalue())


def test_create_tenant_prints_credentials_that_get_a_management_token(http, live_server, settings, db):
    # given the public URL is the live server's
    settings.PUBLIC_URL = live_server.url
    # when
    created = run("acme", "--name", "Acme Corp")
    # then the JSON has the contract's keys
    assert set(created) == {"issuer", "client_id", "client_secret", "audience"}
    assert created["issuer"] == f"{live_server.url}/t/acme/"
    assert created["audience"] == f"{live_server.url}/t/acme/api/v2/"
    # and the credentials work at the new tenant's token endpoint
    response = http.post(
        "/t/acme/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
            "audience": created["audience"],
        },
    )
    assert response.status_code == HTTPStatus.OK, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert "read:clients" in claims["scope"].split()
    assert claims["iss"] == created["issuer"]


def test_create_tenant_makes_keys_and_system_rows(db):
    # when
    run("globex")
    # then
    tenant = Tenant.objects.get(slug="globex")
    assert sorted(SigningKey.objects.for_tenant(tenant).values_list("algorithm", "state")) == [
        ("ES256", "current"),
        ("ES256", "next"),
        ("RS256", "current"),
        ("RS256", "next"),
    ]
    assert Api.objects.for_tenant(tenant).get().is_system
    assert Application.objects.for_tenant(tenant).get().is_system


@pytest.mark.parametrize(
    ("slug", "message"),
    [("Bad Slug!", "lowercase"), ("trailing-", "lowercase"), ("x" * 64, "at most 63")],
)
def test_invalid_slug_is_refused_and_writes_nothing(db, slug, message):
    with pytest.raises(CommandError, match=message):
        run(slug)
    assert not Tenant.objects.exists()
    assert not SigningKey.objects.exists()


def test_taken_slug_is_refused_and_writes_nothing(db):
    # given
    run("initech")
    counts = (Tenant.objects.count(), Api.objects.count(), Application.objects.count())
    # when / then
    with pytest.raises(CommandError, match="already exists"):
        run("initech")
    assert (Tenant.objects.count(), Api.objects.count(), Application.objects.count()) == counts
