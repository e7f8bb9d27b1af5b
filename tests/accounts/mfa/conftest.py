"""Fixtures for the MFA tests: a tenant, an end user, and that user enrolled with a TOTP app."""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
import pytest
from django.core.cache import cache

from apps.accounts.mfa.services import Association, otp_verify, totp_associate
from apps.accounts.models import User
from apps.tenants.models import Tenant
from tests.factories import TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Counters start empty: in the database (without ``REDIS_URL``) rows are rolled back or flushed
    after each test; in a shared cache (with it) they would outlive the test, so it is emptied."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(slug="mfa-co", name="MFA Company")


@pytest.fixture
def end_user(tenant) -> User:
    return UserFactory(tenant=tenant, username="mia@mfa.example")


@dataclass
class Enrolled:
    user: User
    association: Association

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.association.secret)


def enrol(*, tenant, user, at: float | None = None) -> Enrolled:
    """Associate a TOTP authenticator and confirm it with a code of ``at`` (default: an old step)."""
    association = totp_associate(tenant=tenant, user=user)
    # Confirm with a code two minutes in the past, so the current step is still unused for the test.
    import time

    moment = at if at is not None else time.time() - 120
    otp_verify(tenant=tenant, user=user, code=pyotp.TOTP(association.secret).at(moment), ip=None, now=moment)
    return Enrolled(user=user, association=association)


@pytest.fixture
def enrolled(tenant, end_user) -> Enrolled:
    return enrol(tenant=tenant, user=end_user)
