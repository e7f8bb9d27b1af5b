"""The portal's dashboard home (the admin index, ``/admin/``) and its events page (``/admin/events/``).

Both show the session's working tenant (``apps.dashboard.portal.portal_tenant``); a superuser who
chose no tenant sees every tenant together. They are hooked into ``admin.site`` by
``apps.dashboard.admin``, behind the admin's sign-in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from apps.applications.models import Application
from apps.dashboard.admin_base import may_write, member_tenant_ids, scope_to_tenants
from apps.dashboard.charts import Series, stacked_bar_chart
from apps.dashboard.event_forms import EventFilterForm
from apps.dashboard.portal import portal_tenant
from apps.dashboard.selectors import (
    KIND_AUDIT,
    KIND_TOKEN,
    Activity,
    EventCursor,
    TenantCounts,
    TokenBucket,
    dashboard_activity,
    dashboard_counts,
    events_page,
    latest_events,
)
from apps.grants.models import ClientGrant

EVENTS_PER_PAGE = 50
LATEST_EVENTS = 8
# At most this many applications are suggested in the events page's application filter.
APPLICATION_SUGGESTIONS = 200


def scope_tenant_ids(request: HttpRequest) -> frozenset[int] | None:
    """The tenants the portal's pages show: the working tenant, or every one for a superuser (None).

    The same scope as every admin list (``admin_base.member_tenant_ids``): a member without any
    tenant gets an empty set, and sees nothing.
    """
    return member_tenant_ids(request)


def readable_logs(request: HttpRequest) -> tuple[str, ...]:
    """The logs the user may read: each needs its model's view permission, as in its own admin."""
    logs = []
    if request.user.has_perm("audit.view_tokenevent"):
        logs.append(KIND_TOKEN)
    if request.user.has_perm("audit.view_auditevent"):
        logs.append(KIND_AUDIT)
    return tuple(logs)


# --- the dashboard ------------------------------------------------------------------------------


def _hourly_chart(buckets: list[TokenBucket]) -> str:
    zone = timezone.get_current_timezone_name()
    starts = [timezone.localtime(bucket.start) for bucket in buckets]
    return stacked_bar_chart(
        title="Tokens per hour, last 24 hours",
        labels=[f"{start:%H:%M}" for start in starts],
        long_labels=[f"{start:%d %b %H:%M} to {start + timedelta(hours=1):%H:%M} {zone}" for start in starts],
        series=_token_series(buckets),
        label_every=6,
        element_id="chart-tokens-hourly",
    )


def _daily_chart(buckets: list[TokenBucket]) -> str:
    days = [timezone.localtime(bucket.start).date() for bucket in buckets]
    return stacked_bar_chart(
        title="Tokens per day, last 30 days",
        labels=[f"{day.day} {day:%b}" for day in days],
        long_labels=[f"{day:%a} {day.day} {day:%b %Y}" for day in days],
        series=_token_series(buckets),
        label_every=7,
        element_id="chart-tokens-daily",
    )


def _token_series(buckets: list[TokenBucket]) -> list[Series]:
    return [
        Series(label="issued", css_class="pc-issued", values=tuple(bucket.issued for bucket in buckets)),
        Series(label="refused", css_class="pc-refused", values=tuple(bucket.refused for bucket in buckets)),
    ]


def _first_steps(
    request: HttpRequest, tenant_ids: frozenset[int] | None, counts: TenantCounts
) -> list[dict[str, Any]]:
    """What a tenant without any token does first, each step with its page and whether it is done.

    A read-only member gets the steps without links to pages they may not use.
    """
    has_grant = scope_to_tenants(ClientGrant.objects.filter(api__is_system=False), tenant_ids).exists()
    steps = [
        {"text": "Create an API and its permissions (scopes)", "url": reverse("admin:apis_api_add"),
         "done": counts.apis > 0},
        {"text": "Create an application (machine to machine, to start with)",
         "url": reverse("admin:applications_application_add"), "done": counts.applications > 0},
        {"text": "Authorize the application for the API: switch it on in the API's "
                 "“Machine to Machine Applications” tab and tick its scopes",
         "url": reverse("admin:apis_api_changelist"), "done": has_grant},
        {"text": "Request a token with its client ID and secret (the API's “Test” tab shows how)",
         "url": "", "done": False},
    ]  # fmt: skip
    if not may_write(request):
        for step in steps:
            step["url"] = ""
    return steps


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the dashboard home shows, for the admin index's template."""
    tenant = portal_tenant(request)
    tenant_ids = scope_tenant_ids(request)
    counts = dashboard_counts(tenant_ids=tenant_ids)
    activity: Activity = dashboard_activity(tenant_ids=tenant_ids)
    logs = readable_logs(request)
    context: dict[str, Any] = {
        "title": f"Dashboard: {tenant.name}" if tenant else "Dashboard: every tenant",
        "dashboard_tenant": tenant,
        "counts": counts,
        "activity": activity,
        "no_tokens": activity.tokens_30d == 0,
        "latest_events": latest_events(tenant_ids=tenant_ids, kinds=logs, limit=LATEST_EVENTS)
        if logs
        else [],
        "events_url": reverse("admin:events"),
        "time_zone": timezone.get_current_timezone_name(),
    }
    if context["no_tokens"]:
        context["first_steps"] = _first_steps(request, tenant_ids, counts)
    else:
        context["chart_hourly"] = _hourly_chart(activity.hourly)
        context["chart_daily"] = _daily_chart(activity.daily)
    return context


# --- the events page ----------------------------------------------------------------------------


def events_view(request: HttpRequest) -> TemplateResponse:
    """``/admin/events/``: both logs of the working tenant, newest first, filtered, 50 a page."""
    logs = readable_logs(request)
    if not logs:
        raise PermissionDenied
    tenant = portal_tenant(request)
    tenant_ids = scope_tenant_ids(request)
    form = EventFilterForm(request.GET)
    page = None
    older_url = ""
    if form.is_valid():
        before = EventCursor.decode(request.GET.get("before", ""))
        page = events_page(
            tenant_ids=tenant_ids, filters=form.filters(), kinds=logs, before=before, per_page=EVENTS_PER_PAGE
        )
        if page.next_cursor is not None:
            query = request.GET.copy()
            query["before"] = page.next_cursor.encode()
            older_url = f"?{query.urlencode()}"
    newest = QueryDict(mutable=True)
    newest.update({key: value for key, value in request.GET.items() if key != "before" and value})
    applications = scope_to_tenants(Application.objects.all(), tenant_ids).order_by("name")
    context = {
        **admin.site.each_context(request),
        "title": f"Events: {tenant.name}" if tenant else "Events: every tenant",
        "form": form,
        "page": page,
        "logs": logs,
        "show_tenant": tenant is None,
        "older_url": older_url,
        "newest_url": f"?{newest.urlencode()}" if newest else "?",
        "paged": bool(request.GET.get("before")),
        "time_zone": timezone.get_current_timezone_name(),
        "applications": applications.values_list("client_id", "name")[:APPLICATION_SUGGESTIONS],
    }
    request.current_app = admin.site.name
    return TemplateResponse(request, "dashboard/events.html", context)
