"""``manage.py bootstrap_demo``: idempotent, and its printed credentials always work."""

from __future__ import annotations

import io
import json

from django.contrib.auth.hashers import check_password
from django.core.management import call_command

from apps.accounts.models import User
from apps.apis.models import Api
from apps.apis.services import api_update
from apps.applications.models import Application
from apps.applications.services import application_update
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from apps.tenants.models import Tenant

CONTRACT_KEYS = {"issuer", "admin", "user", "m2m", "web", "timesheets_url"}
SAMPLE_KEYS = {"spa", "implicit", "sample_url"}


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


def test_bootstrap_registers_the_sample_web_app_and_the_browser_clients(tmp_path, db, settings):
    # given
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    # when
    demo = bootstrap(tmp_path / "demo.json")
    # then demo.json tells every flow's client where it lives
    assert set(demo) >= CONTRACT_KEYS | SAMPLE_KEYS
    assert demo["sample_url"] == "http://127.0.0.1:8123/sample/"
    assert demo["web"]["redirect_uri"] == "http://127.0.0.1:8123/sample/callback"
    assert demo["web"]["post_logout_redirect_uri"] == "http://127.0.0.1:8123/sample/"
    assert demo["spa"]["redirect_uri"] == "http://127.0.0.1:3001/callback"
    assert demo["implicit"]["redirect_uri"] == "http://127.0.0.1:8123/sample/implicit-callback"
    # and the server holds the same registrations
    web = Application.objects.get(client_id=demo["web"]["client_id"])
    assert web.redirect_uris == demo["web"]["redirect_uri"]
    assert web.post_logout_redirect_uris == demo["web"]["post_logout_redirect_uri"]
    spa = Application.objects.get(client_id=demo["spa"]["client_id"])
    assert (spa.app_type, spa.token_endpoint_auth_method) == ("spa", "none")
    assert spa.redirect_uris == demo["spa"]["redirect_uri"]
    implicit = Application.objects.get(client_id=demo["implicit"]["client_id"])
    assert implicit.name == "Timesheets Legacy (implicit)"
    assert (implicit.app_type, implicit.token_endpoint_auth_method) == ("spa", "none")
    assert "implicit" in implicit.grant_types
    assert implicit.redirect_uris == demo["implicit"]["redirect_uri"]
    # and the Timesheets API issues refresh tokens
    assert Api.objects.get(tenant__slug="demo", identifier=demo["m2m"]["audience"]).allow_offline_access


def test_bootstrap_converges_an_older_demo(tmp_path, db, settings):
    # given a demo bootstrapped before the sample web app existed: other callbacks, no refresh tokens
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    first = bootstrap(tmp_path / "demo.json")
    web = Application.objects.get(client_id=first["web"]["client_id"])
    application_update(application=web, callbacks=["http://127.0.0.1:3000/callback"], logout_urls=[])
    api_update(api=Api.objects.get(identifier=first["m2m"]["audience"]), allow_offline_access=False)
    # when
    second = bootstrap(tmp_path / "demo.json")
    # then the same application now calls back to the sample app, with the same credentials
    web.refresh_from_db()
    assert web.redirect_uris == "http://127.0.0.1:8123/sample/callback"
    assert web.post_logout_redirect_uris == "http://127.0.0.1:8123/sample/"
    assert second["web"] == first["web"]
    assert Api.objects.get(identifier=first["m2m"]["audience"]).allow_offline_access
    assert_credentials_valid(second)


def test_bootstrap_follows_a_new_public_url(tmp_path, db, settings):
    # given a demo bootstrapped on one port
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    bootstrap(tmp_path / "demo.json")
    # when it is bootstrapped again for another
    settings.PUBLIC_URL = "http://127.0.0.1:9000"
    demo = bootstrap(tmp_path / "demo.json")
    # then the sample app's registrations follow
    assert Application.objects.get(client_id=demo["web"]["client_id"]).redirect_uris == (
        "http://127.0.0.1:9000/sample/callback"
    )
    assert Application.objects.get(client_id=demo["implicit"]["client_id"]).redirect_uris == (
        "http://127.0.0.1:9000/sample/implicit-callback"
    )


def test_rerunning_bootstrap_changes_no_application(tmp_path, db):
    # given
    bootstrap(tmp_path / "demo.json")
    updates = AuditEvent.objects.filter(type=AuditEvent.Type.APPLICATION_UPDATED).count()
    # when
    bootstrap(tmp_path / "demo.json")
    # then convergence found nothing to change
    assert AuditEvent.objects.filter(type=AuditEvent.Type.APPLICATION_UPDATED).count() == updates


def test_bootstrap_prints_the_sample_app(tmp_path, db, settings):
    # given
    settings.PUBLIC_URL = "http://127.0.0.1:8123"
    out = io.StringIO()
    # when
    call_command("bootstrap_demo", "--output", str(tmp_path / "demo.json"), stdout=out)
    # then
    assert "Sample app   http://127.0.0.1:8123/sample/" in out.getvalue()


def test_the_demo_user_has_a_name_and_some_timesheets_once(tmp_path, db):
    # given / when bootstrapped twice
    bootstrap(tmp_path / "demo.json")
    bootstrap(tmp_path / "demo.json")
    # then Jane has a name for the sample app to greet and two timesheets, not four
    from apps.accounts.models import User
    from apps.oauth.claims import user_subject
    from apps.timesheets.models import Timesheet

    jane = User.objects.get(username="jane@example.com")
    assert jane.get_full_name() == "Jane Doe"
    assert Timesheet.objects.filter(owner_sub=user_subject(jane)).count() == 2


def test_bootstrap_gives_an_older_demo_admin_the_permissions_of_newer_models(tmp_path, db):
    # given a demo whose tenant admins' group predates the deny list (its permission is missing)
    from django.contrib.auth.models import Group

    demo = bootstrap(tmp_path / "demo.json")
    group = Group.objects.get(name="Tenant admins")
    group.permissions.remove(*group.permissions.filter(codename="add_deniedtoken"))
    admin = User.objects.get(tenant=None, username=demo["admin"]["username"])
    assert not User.objects.get(pk=admin.pk).has_perm("grants.add_deniedtoken")
    # when make run bootstraps it again
    bootstrap(tmp_path / "demo.json")
    # then the demo admin may deny-list tokens
    assert User.objects.get(pk=admin.pk).has_perm("grants.add_deniedtoken")
