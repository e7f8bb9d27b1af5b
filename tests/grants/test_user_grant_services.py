"""user_grant_record / user_grant_revoke: consents are extended, never narrowed, and revocable."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from apps.applications.services import AppType
from apps.audit.models import AuditEvent
from apps.grants.models import UserGrant
from apps.grants.services import user_grant_record, user_grant_revoke
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory, UserFactory


@pytest.fixture
def parties(db):
    tenant = TenantFactory()
    return {
        "tenant": tenant,
        "user": UserFactory(tenant=tenant),
        "application": ApplicationFactory(tenant=tenant, app_type=AppType.REGULAR_WEB),
        "api": ApiFactory(tenant=tenant),
    }


def test_a_second_approval_extends_the_grant_and_never_narrows_it(parties):
    # given
    first = user_grant_record(**parties, scopes=["openid", "read:things"])
    # when the user approves a narrower and then a wider request
    user_grant_record(**parties, scopes=["openid"])
    second = user_grant_record(**parties, scopes=["write:things"])
    # then there is one grant with the union
    assert second.pk == first.pk
    assert UserGrant.objects.get().scopes == ["openid", "read:things", "write:things"]
    types = list(AuditEvent.objects.filter(type__startswith="user_grant").values_list("type", flat=True))
    assert sorted(types) == [AuditEvent.Type.USER_GRANT_CREATED, AuditEvent.Type.USER_GRANT_UPDATED]


def test_parties_of_another_tenant_are_refused(parties):
    stranger = UserFactory(tenant=TenantFactory())
    with pytest.raises(ValidationError) as refused:
        user_grant_record(**(parties | {"user": stranger}), scopes=["openid"])
    assert refused.value.code == "cross_tenant"
    assert not UserGrant.objects.exists()


def test_revoke_deletes_the_grant_and_records_who(parties):
    grant = user_grant_record(**parties, scopes=["openid"])
    user_grant_revoke(grant=grant, actor=parties["user"])
    assert not UserGrant.objects.exists()
    assert AuditEvent.objects.filter(type=AuditEvent.Type.USER_GRANT_REVOKED, actor=parties["user"]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_first_approvals_at_once_make_one_grant():
    # given two requests approving the same application for the first time, at the same moment
    tenant = TenantFactory()
    parties = {
        "tenant": tenant,
        "user": UserFactory(tenant=tenant),
        "application": ApplicationFactory(tenant=tenant, app_type=AppType.REGULAR_WEB),
        "api": ApiFactory(tenant=tenant),
    }
    barrier, results, failures = threading.Barrier(2), [], []

    def approve():
        try:
            barrier.wait()
            results.append(user_grant_record(**parties, scopes=["openid", "read:things"]).pk)
        except Exception as exc:  # the test reports any failure below
            failures.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then neither failed and both got the same grant
    assert failures == []
    assert len(set(results)) == 1 and UserGrant.objects.count() == 1
