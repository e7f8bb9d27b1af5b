"""The Permissions tab's services: adding one scope, editing and removing some, and what a removal takes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.rbac.services import user_permissions_add
from apps.apis.selectors import GrantLoss, api_scope_removal_impact
from apps.apis.services import MSG_SCOPE_EXISTS, api_scope_add, api_scopes_change
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, RoleFactory, UserFactory


def _scopes(api) -> dict[str, str]:
    return dict(api.scopes.values_list("value", "description"))


def test_api_scope_add_adds_one_and_keeps_the_others(db):
    # given an API with three scopes
    api = ApiFactory()
    before = _scopes(api)
    # when a scope is added
    scope = api_scope_add(api=api, value="export:things", description="Export things")
    # then it is there with the others, unchanged
    assert (scope.value, scope.description) == ("export:things", "Export things")
    assert _scopes(api) == before | {"export:things": "Export things"}


def test_api_scope_add_refuses_a_taken_value_instead_of_overwriting_it(db):
    # given an API with read:things, "Read things"
    api = ApiFactory()
    # when it is added again with another description
    with pytest.raises(ValidationError) as refused:
        api_scope_add(api=api, value="read:things", description="Overwritten")
    # then the refusal names the field and the code, and the description stayed
    assert refused.value.error_dict["value"][0].code == "duplicate"
    assert refused.value.messages == [MSG_SCOPE_EXISTS.format(value="read:things")]
    assert _scopes(api)["read:things"] == "Read things"


def test_api_scope_add_refuses_a_malformed_value(db):
    api = ApiFactory()
    with pytest.raises(ValidationError) as refused:
        api_scope_add(api=api, value="read things")
    assert refused.value.error_dict["value"][0].code == "invalid_scope"
    assert "read things" not in _scopes(api)


def test_api_scopes_change_edits_and_removes_only_what_it_names(db):
    # given an API with read, write and delete, and a grant holding read and write
    api = ApiFactory()
    grant = ClientGrantFactory(api=api, application=ApplicationFactory(tenant=api.tenant))
    # when write's description changes and read is removed (and a scope it never had is named)
    api_scopes_change(
        api=api, descriptions={"write:things": "Write", "ghost:things": "?"}, remove=["read:things", "gone:x"]
    )
    # then delete is untouched, write is edited, read is gone from the API and the grant
    assert _scopes(api) == {"write:things": "Write", "delete:things": "Delete things"}
    grant.refresh_from_db()
    assert grant.scopes == ["write:things"]
    event = AuditEvent.objects.filter(type=AuditEvent.Type.API_UPDATED).order_by("-pk").first()
    assert event.data["removed"] == ["read:things"]
    assert event.data["client_grants_changed"] == [grant.application.client_id]


def test_api_scopes_change_without_a_change_records_nothing(db):
    api = ApiFactory()
    before = AuditEvent.objects.count()
    api_scopes_change(api=api, descriptions=_scopes(api), remove=[])
    assert AuditEvent.objects.count() == before


def test_removal_impact_names_grants_roles_and_counts_direct_users(db, django_assert_num_queries):
    # given read:things held by two grants, a role, and three users directly (one also holds delete)
    api = ApiFactory()
    tenant = api.tenant
    zed = ClientGrantFactory(
        api=api, application=ApplicationFactory(tenant=tenant, name="Zed"), scopes=["read:things"]
    )
    amy = ClientGrantFactory(
        api=api,
        application=ApplicationFactory(tenant=tenant, name="Amy"),
        scopes=["read:things", "delete:things"],
    )
    ClientGrantFactory(
        api=api, application=ApplicationFactory(tenant=tenant, name="Bo"), scopes=["write:things"]
    )
    read, delete = api.scopes.get(value="read:things"), api.scopes.get(value="delete:things")
    RoleFactory(tenant=tenant, name="Reader", permissions=[read])
    RoleFactory(tenant=tenant, name="Writer", permissions=[api.scopes.get(value="write:things")])
    for index in range(3):
        user_permissions_add(user=UserFactory(tenant=tenant), scopes=[read, delete] if index == 0 else [read])
    # when the impact of removing read and delete is asked
    with django_assert_num_queries(3):
        impact = api_scope_removal_impact(api=api, values=["read:things", "delete:things"])
    # then it names exactly who loses what
    assert impact.scopes == ("delete:things", "read:things")
    assert impact.client_grants == (
        GrantLoss("Amy", amy.application.client_id, ("read:things", "delete:things")),
        GrantLoss("Zed", zed.application.client_id, ("read:things",)),
    )
    assert impact.roles == {"Reader": ("read:things",)}
    assert impact.direct_users == {"delete:things": 1, "read:things": 3}
    assert impact.in_use and impact.direct_user_total == 4


def test_removal_impact_of_an_unused_scope_is_nothing(db):
    api = ApiFactory()
    assert not api_scope_removal_impact(api=api, values=["delete:things"]).in_use
    assert ClientGrant.objects.count() == 0
