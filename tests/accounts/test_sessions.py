"""Who counts as signed in to a tenant: only an active end user of that tenant."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from apps.accounts.services import end_user_sign_in, portal_admin_create
from apps.accounts.sessions import (
    AUTH_TIME_SESSION_KEY,
    auth_time_of,
    end_user_for_request,
    end_user_login,
    end_user_logout,
)
from tests.factories import TenantFactory, UserFactory


def _request(*, tenant, user=None):
    request = RequestFactory().get(f"/t/{tenant.slug}/authorize")
    request.tenant = tenant
    request.user = user if user is not None else AnonymousUser()
    request.session = SessionStore()
    return request


def test_the_tenants_active_end_user_is_signed_in(tenant, end_user):
    # given a request of the tenant with its end user signed in
    request = _request(tenant=tenant)
    end_user_login(request, end_user)

    # then
    assert end_user_for_request(request) == end_user
    assert abs(auth_time_of(request) - time.time()) <= 2


def test_nobody_is_signed_in_on_an_anonymous_request(tenant):
    request = _request(tenant=tenant)
    assert end_user_for_request(request) is None
    assert auth_time_of(request) is None


def test_a_portal_admins_session_is_nobody_here(tenant):
    # given a portal admin of this very tenant, signed in (to the admin)
    admin = portal_admin_create(username="pat", password="portal admin's long passphrase", tenants=[tenant])
    request = _request(tenant=tenant, user=admin)
    request.session[AUTH_TIME_SESSION_KEY] = int(time.time())

    # then, for the tenant's pages, nobody is signed in
    assert end_user_for_request(request) is None
    assert auth_time_of(request) is None


def test_another_tenants_end_user_is_nobody_here(tenant):
    # given an end user of another tenant, signed in there
    stranger = UserFactory(tenant=TenantFactory(slug="globex"))
    request = _request(tenant=tenant)
    end_user_login(request, stranger)

    # then on this tenant's pages nobody is signed in, and there is no auth time to use
    assert end_user_for_request(request) is None
    assert auth_time_of(request) is None


def test_a_deactivated_end_user_is_nobody(tenant, end_user):
    request = _request(tenant=tenant)
    end_user_login(request, end_user)
    end_user.is_active = False

    assert end_user_for_request(request) is None


def test_logout_forgets_the_user_and_the_auth_time(tenant, end_user):
    # given a signed-in end user
    request = _request(tenant=tenant)
    end_user_login(request, end_user)

    # when
    end_user_logout(request)

    # then
    assert end_user_for_request(request) is None
    assert AUTH_TIME_SESSION_KEY not in request.session


def test_end_user_sign_in_refuses_a_request_without_tenant(db):
    # tenant=None would look up portal admins: the end-user service must never do that
    request = RequestFactory().post("/admin/login/")
    with pytest.raises(ValueError, match="End users sign in to a tenant"):
        end_user_sign_in(request=request, tenant=None, username="pat", password="whatever")
