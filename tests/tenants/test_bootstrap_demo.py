"""``manage.py bootstrap_demo``: idempotent, and its printed credentials always work."""

from __future__ import annotations

import io
import json

from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from apps.accounts.models import User
from apps.applications.models import Application
from apps.grants.models import ClientGrant
from apps.tenants.models import Tenant

CONTRACT_KEYS = {"issuer", "admin", "user", "m2m", "web", "timesheets_url"}


def bootstrap(path) -> dict:
    call_command("bootstrap_demo", "--output", str(path), stdout=io.StringIO())
    return json.loads(path.read_text())


def assert_credentials_valid(demo: dict) -> None:
    for key in ("m2m", "web"):
        application = Application.objects.get(client_id=demo[key]["client_id"])
        assert check_password(demo[key]["client_secret"], application.client_secret), key
    assert User.objects.get(tenant__slug="demo", username=demo["user"]["username"]).check_password(
        demo["user"]["password"]
    )
    admin = User.objects.get(tenant=None, username=demo["admin"]["username"])
    assert admin.check_password(demo["admin"]["password"]) and admin.is_staff


def test_bootstrap_writes_the_contract(tmp_path, db):
    # when
    demo = bootstrap(tmp_path / "demo.json")
    # then
    assert set(demo) >= CONTRACT_KEYS
    assert demo["m2m"]["audience"] == "https://timesheets.example.com"
    assert demo["m2m"]["scopes"] == ["read:timesheets"]
    assert demo["issuer"].endswith("/t/demo/")
    assert_credentials_valid(demo)
    assert (tmp_path / "demo.json").stat().st_mode & 0o077 == 0  # secrets file is private


def test_bootstrap_is_idempotent(tmp_path, db):
    # given
    first = bootstrap(tmp_path / "demo.json")
    counts = (
        Tenant.objects.count(),
        Application.objects.count(),
        ClientGrant.objects.count(),
        User.objects.count(),
    )
    # when
    second = bootstrap(tmp_path / "demo.json")
    # then nothing is duplicated and the same credentials still work
    assert (
        Tenant.objects.count(),
        Application.objects.count(),
        ClientGrant.objects.count(),
        User.objects.count(),
    ) == counts
    assert second == first
    assert_credentials_valid(second)


def test_bootstrap_repairs_lost_credentials(tmp_path, db):
    # given the credentials file was lost after a first run
    first = bootstrap(tmp_path / "demo.json")
    (tmp_path / "demo.json").unlink()
    # when
    second = bootstrap(tmp_path / "demo.json")
    # then ids are stable, secrets are new, and they work
    assert second["m2m"]["client_id"] == first["m2m"]["client_id"]
    assert second["m2m"]["client_secret"] != first["m2m"]["client_secret"]
    assert_credentials_valid(second)
    assert Tenant.objects.filter(slug="demo").count() == 1
