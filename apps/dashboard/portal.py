"""The portal's current tenant: the one the header's switcher shows, chosen per session.

A portal admin works in one tenant at a time, as in Auth0's dashboard. The choice is kept in
the session under ``SESSION_KEY``; it is honoured only while the user is still a member of
that tenant. Without a (valid) choice, a member works in their first tenant; a superuser who
chose nothing sees every tenant (``None``).
"""

from __future__ import annotations

from django.http import HttpRequest

from apps.tenants.models import Tenant
from apps.tenants.selectors import tenants_for_user

SESSION_KEY = "portal_tenant_id"
_REQUEST_ATTR = "_portcullis_portal_tenant"
_UNSET = object()


def portal_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant the signed-in portal user is working in; ``None``: every tenant (superusers only).

    Memoised on the request. A member with no tenant at all also gets ``None``, and then sees
    nothing, because scoping by membership still applies.
    """
    cached = getattr(request, _REQUEST_ATTR, _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    tenants = tenants_for_user(user=request.user)
    chosen_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    tenant = tenants.filter(pk=chosen_id).first() if chosen_id else None
    if tenant is None and not request.user.is_superuser:
        tenant = tenants.order_by("slug").first()
    setattr(request, _REQUEST_ATTR, tenant)
    return tenant


def portal_tenant_choose(request: HttpRequest, *, tenant: Tenant | None) -> None:
    """Remember ``tenant`` as the session's working tenant (``None``: every tenant, for superusers)."""
    if tenant is None:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = tenant.pk
    if hasattr(request, _REQUEST_ATTR):
        delattr(request, _REQUEST_ATTR)
