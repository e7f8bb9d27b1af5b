"""Template tags of the portal's frame: the header's working tenant, its switcher and the portal's links."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from apps.dashboard.portal import (
    ALL_TENANTS,
    SWITCH_SLUG_FIELD,
    TenantChoices,
    portal_access,
    portal_tenant,
    portal_tenant_choices,
)
from apps.dashboard.views import readable_logs
from apps.tenants.models import TenantMembership

register = template.Library()


@register.inclusion_tag("dashboard/_tenant_switcher.html", takes_context=True)
def portal_tenant_header(context: template.Context) -> dict[str, Any]:
    """The working tenant's name and the user's role there; a switcher when there is a choice.

    The switcher is a plain form (a labelled select and a button, POSTed to
    ``portal_tenant_switch``): it works without JavaScript and from the keyboard. It is shown
    to superusers (any tenant, or all) and to members of more than one tenant.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not (user.is_active and user.is_staff):
        return {"show": False}
    access = portal_access(request)
    tenant = portal_tenant(request)
    role = access.role(tenant.pk) if tenant is not None else None
    switcher = access.is_superuser or len(access.tenants) > 1
    return {
        "show": True,
        "tenant": tenant,
        "role_label": TenantMembership.Role(role).label if role else "",
        "read_only": role == TenantMembership.Role.READ_ONLY,
        "switcher": switcher,
        "choices": portal_tenant_choices(request) if switcher else TenantChoices([]),
        "slug_field": SWITCH_SLUG_FIELD,
        "all_tenants": access.is_superuser,
        "all_tenants_value": ALL_TENANTS,
        "switch_url": reverse("portal_tenant_switch"),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }


# The portal's own pages in the header: (id, label, URL name). The events page is listed only to
# those who may read one of its logs (``apps.dashboard.views.events_view`` refuses the others).
DASHBOARD = ("portal-nav-dashboard", "Dashboard", "admin:index")
EVENTS = ("portal-nav-events", "Events", "admin:events")


@register.inclusion_tag("dashboard/_portal_nav.html", takes_context=True)
def portal_nav(context: template.Context) -> dict[str, Any]:
    """Links to the dashboard and the events page, next to the tenant, for signed-in staff.

    Plain links in a labelled ``<nav>``: Tab reaches them, Enter follows them; the page the user
    is on is marked ``aria-current="page"``.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not (user.is_active and user.is_staff):
        return {"links": ()}
    pages = [DASHBOARD, EVENTS] if readable_logs(request) else [DASHBOARD]
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else ""
    return {
        "links": [
            {"id": link_id, "label": label, "url": reverse(url_name), "current": url_name == current}
            for link_id, label, url_name in pages
        ]
    }
