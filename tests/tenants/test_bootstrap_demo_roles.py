"""The demo's "Timesheet approver" role: created once, RBAC left off for the demo API."""

from __future__ import annotations

import io

from django.core.management import call_command

from apps.accounts.models import Role
from apps.accounts.rbac.services import role_update
from apps.apis.models import Api
from apps.tenants.demo import APPROVER_ROLE, TIMESHEETS_AUDIENCE


def bootstrap(path) -> None:
    call_command("bootstrap_demo", "--output", str(path), stdout=io.StringIO())


def test_the_demo_has_an_approver_role_and_leaves_rbac_off(tmp_path, db):
    # when
    bootstrap(tmp_path / "demo.json")
    # then
    role = Role.objects.get(tenant__slug="demo", name=APPROVER_ROLE)
    assert set(role.permissions.values_list("value", flat=True)) == {"read:timesheets", "approve:timesheets"}
    assert role.permissions.filter(api__identifier=TIMESHEETS_AUDIENCE).count() == 2
    api = Api.objects.get(tenant__slug="demo", identifier=TIMESHEETS_AUDIENCE)
    assert not api.rbac_enabled


def test_rerunning_keeps_the_admins_changes_to_the_role(tmp_path, db):
    # given an admin changed the role's permissions
    bootstrap(tmp_path / "demo.json")
    role = Role.objects.get(tenant__slug="demo", name=APPROVER_ROLE)
    role_update(role=role, permissions=[])
    # when the bootstrap runs again
    bootstrap(tmp_path / "demo.json")
    # then the role is neither duplicated nor reset
    assert Role.objects.filter(tenant__slug="demo").count() == 1
    assert not role.permissions.exists()
