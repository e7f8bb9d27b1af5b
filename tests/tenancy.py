"""Shared cross-tenant checks: the same request, made from tenant A against tenant B."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from tests.conftest import M2MSetup, make_m2m_setup


@dataclass(frozen=True)
class TwoTenants:
    a: M2MSetup
    b: M2MSetup


def two_tenants() -> TwoTenants:
    return TwoTenants(a=make_m2m_setup(), b=make_m2m_setup())


@dataclass(frozen=True)
class CrossTenantProbe:
    """A request built from tenant ``a``'s credentials but sent to tenant ``b``'s URL space."""

    id: str
    send: Callable[[object, TwoTenants], object]
    expected_status: HTTPStatus
    expected_error: str | None = None


def assert_refused(response, probe: CrossTenantProbe) -> None:
    assert response.status_code == probe.expected_status, (probe.id, response.text)
    if probe.expected_error is not None:
        assert response.json()["error"] == probe.expected_error, (probe.id, response.text)
