"""The portal's current tenant: the one the header's switcher shows, chosen per session.

A portal admin works in one tenant at a time, as in Auth0's dashboard. The choice is kept in
the session under ``SESSION_KEY``; it is honoured only while the user is still a member of
that tenant. Without a (valid) choice, a member works in their first tenant; a superuser who
chose nothing sees every tenant (``None``).

The user's memberships and roles are read once per request (``portal_access``): scoping,
permission checks and the header all ask it, and it costs one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.tenants.models import Tenant
from apps.tenants.selectors import MEMBER_MANAGER_ROLES, WRITER_ROLES, memberships_for_user

SESSION_KEY = "portal_tenant_id"
# The switcher form's field (not "tenant": add forms on the same page have a "tenant" field).
SWITCH_FIELD = "portal_tenant"
# The switcher's value for "every tenant" (superusers only).
ALL_TENANTS = ""
# The switcher is on every page. Past this many tenants a superuser's lists none of them but the
# working one, and takes another tenant's slug in this field instead (make scale: 10,000 tenants).
SWITCHER_MAX_CHOICES = 100
SWITCH_SLUG_FIELD = "portal_tenant_slug"
_REQUEST_ATTR = "_portcullis_portal_tenant"
_ACCESS_ATTR = "_portcullis_portal_access"
_UNSET = object()


@dataclass(frozen=True, slots=True)
class PortalAccess:
    """Who the signed-in user is in the portal: superuser or not, and their role in each tenant.

    ``tenants`` are the tenants they are a member of, by slug; ``roles`` maps a tenant id to the
    membership's role. A superuser may do everything everywhere, member or not.
    """

    is_superuser: bool
    tenants: tuple[Tenant, ...] = ()
    roles: dict[int, str] = field(default_factory=dict)

    def role(self, tenant_id: int | None) -> str | None:
        return self.roles.get(tenant_id) if tenant_id is not None else None

    def may_view(self, tenant_id: int | None) -> bool:
        return self.is_superuser or self.role(tenant_id) is not None

    def may_write(self, tenant_id: int | None) -> bool:
        """Change the tenant's configuration: owners and admins (read-only members may not)."""
        return self.is_superuser or self.role(tenant_id) in WRITER_ROLES

    def may_manage_members(self, tenant_id: int | None) -> bool:
        """Add and remove the tenant's members and change their roles: owners only."""
        return self.is_superuser or self.role(tenant_id) in MEMBER_MANAGER_ROLES


def portal_access(request: HttpRequest) -> PortalAccess:
    """The signed-in user's memberships and roles, read once per request (one query)."""
    access = getattr(request, _ACCESS_ATTR, None)
    if access is None:
        user = request.user
        memberships = memberships_for_user(user=user) if user.is_authenticated else []
        access = PortalAccess(
            is_superuser=bool(user.is_superuser),
            tenants=tuple(membership.tenant for membership in memberships),
            roles={membership.tenant_id: membership.role for membership in memberships},
        )
        setattr(request, _ACCESS_ATTR, access)
    return access


def portal_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant the signed-in portal user is working in; ``None``: every tenant (superusers only).

    Memoised on the request. A member with no tenant at all also gets ``None``, and then sees
    nothing, because scoping by membership still applies.
    """
    cached = getattr(request, _REQUEST_ATTR, _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    access = portal_access(request)
    chosen_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    tenant = next((tenant for tenant in access.tenants if tenant.pk == chosen_id), None)
    if tenant is None and chosen_id and access.is_superuser:
        tenant = Tenant.objects.filter(pk=chosen_id).first()
    if tenant is None and not access.is_superuser and access.tenants:
        tenant = access.tenants[0]
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


@dataclass(frozen=True, slots=True)
class TenantChoices:
    """What the header's switcher offers; not ``complete``: too many tenants to list, ask for a slug."""

    tenants: list[Tenant]
    complete: bool = True


def portal_tenant_choices(request: HttpRequest) -> TenantChoices:
    """The tenants the header's switcher offers: the user's own, or every tenant for a superuser,
    up to ``SWITCHER_MAX_CHOICES``; beyond that only the working tenant (and a slug field)."""
    access = portal_access(request)
    if not access.is_superuser:
        return TenantChoices(list(access.tenants))
    first = list(Tenant.objects.order_by("slug")[: SWITCHER_MAX_CHOICES + 1])
    if len(first) <= SWITCHER_MAX_CHOICES:
        return TenantChoices(first)
    working = portal_tenant(request)
    return TenantChoices([working] if working is not None else [], complete=False)


def _tenant_for_slug(request: HttpRequest, slug: str) -> Tenant:
    """The tenant the switcher's slug field names; ``Http404`` for one the user may not work in."""
    access = portal_access(request)
    tenant = next((tenant for tenant in access.tenants if tenant.slug == slug), None)
    if tenant is None and access.is_superuser:
        tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def _tenant_for_choice(request: HttpRequest, value: str) -> Tenant | None:
    """The tenant the switcher's ``value`` names; ``Http404`` for one the user may not work in."""
    access = portal_access(request)
    if value == ALL_TENANTS and access.is_superuser:
        return None
    try:
        tenant_id = int(value)
    except ValueError:
        raise Http404("No such tenant.") from None
    tenant = next((tenant for tenant in access.tenants if tenant.pk == tenant_id), None)
    if tenant is None and access.is_superuser:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        # Not a member: the same answer as for a tenant that does not exist.
        raise Http404("No such tenant.")
    return tenant


def _back_to(request: HttpRequest, next_url: str) -> str:
    """Where to go after switching: the page the user was on, if it is ours and tenant-neutral.

    An object's page belongs to the tenant just left (it would now be a 404), so an object URL
    leads to its list instead. Query strings (filters by the old tenant's rows) are dropped.
    Another site, or a scheme other than the request's, is never a destination.
    """
    home = reverse("admin:index")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return home
    path = next_url.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith(home):
        return home
    try:
        match = resolve(path)
    except Resolver404:
        return home
    if "object_id" in match.kwargs:
        # Admin object URLs are <admin>/<app_label>/<model_name>/<object_id>/...
        app_label, model_name = [*path[len(home) :].split("/"), "", ""][:2]
        try:
            return reverse(f"admin:{app_label}_{model_name}_changelist")
        except NoReverseMatch:
            return home
    return path


@require_POST
@staff_member_required
def portal_tenant_switch(request: HttpRequest) -> HttpResponseRedirect:
    """The header's switcher: POST ``portal_tenant`` (an id, or empty for every tenant) or
    ``portal_tenant_slug`` (a slug, when there are too many tenants to list), and ``next``.

    A tenant the user is not a member of is a 404 (superusers may choose any, or all).
    """
    slug = request.POST.get(SWITCH_SLUG_FIELD, "").strip()
    if slug:  # typed in (many tenants), it wins over the select
        tenant = _tenant_for_slug(request, slug)
    else:
        tenant = _tenant_for_choice(request, request.POST.get(SWITCH_FIELD, ALL_TENANTS))
    portal_tenant_choose(request, tenant=tenant)
    return HttpResponseRedirect(_back_to(request, request.POST.get("next", "")))
