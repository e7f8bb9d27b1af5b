"""Cross-tenant checks generated from the Management API's URLconf: every route, every method it
maps to a scope. A route added to ``apps/management/api/urls.py`` is covered without editing this file.

1. Tenant B's token at tenant A's URL: 401 (the token's issuer and keys are B's).
2. A route with a path parameter (a "detail" route), called with A's token and the id of one of B's
   objects: 404. B's id is read generically from B's own list route (the route's path up to its
   first parameter): the item's field named like the parameter, else ``id``, else ``<resource>_id``
   (``log_id``), else any ``*id`` field. B is seeded with a user, a role, a user grant and a token-log entry so lists have items;
   when B's list has none, a made-up id is used (still 404, not 200 or 500).
"""

from __future__ import annotations

import re
from http import HTTPStatus

from apps.management.api import urls
from apps.management.api.base import ManagementView
from apps.management.api.schema import OpenApiView
from tests.factories import RoleFactory, UserFactory, UserGrantFactory

# Routes that are deliberately public (no token): everything else must be a ManagementView.
PUBLIC_VIEWS = {OpenApiView}
PARAM_RE = re.compile(r"<(?:\w+:)?(\w+)>")
MADE_UP_ID = "no-such-object-0000"
ERROR_FIELDS = {"statusCode", "error", "message", "errorCode"}


def _routes() -> list[tuple[str, str]]:
    routes = []
    for pattern in urls.urlpatterns:
        view = pattern.callback.view_class
        if not issubclass(view, ManagementView):
            continue
        for method in sorted(view.required_scopes):
            if method != "*" and hasattr(view, method.lower()):
                routes.append((str(pattern.pattern), method))
    return routes


ROUTES = _routes()
DETAIL_ROUTES = [(route, method) for route, method in ROUTES if PARAM_RE.search(route)]


def _fill(route: str, first: str) -> str:
    """The route with ``first`` for its first parameter and a made-up value for the others."""
    values = iter([first])
    return PARAM_RE.sub(lambda m: next(values, MADE_UP_ID), route)


def _body(method: str):
    return None if method in ("GET", "DELETE") else {}


def test_every_route_is_a_management_view_or_deliberately_public():
    # given every route of the URLconf
    views = {pattern.callback.view_class for pattern in urls.urlpatterns}
    # then
    assert all(issubclass(view, ManagementView) or view in PUBLIC_VIEWS for view in views)
    assert len(ROUTES) >= 15 and DETAIL_ROUTES


def test_another_tenants_token_is_refused_on_every_route(mgmt, other_mgmt):
    # given a token of tenant B, with every Management API scope
    token = other_mgmt.token()
    # when it is used at tenant A, on every route and method
    failures = []
    for route, method in ROUTES:
        response = mgmt.call(method, _fill(route, MADE_UP_ID), token=token, json=_body(method))
        if (
            response.status_code != HTTPStatus.UNAUTHORIZED
            or response.json().get("errorCode") != "invalid_token"
        ):
            failures.append(f"{method} {route}: {response.status_code} {response.text[:200]}")
    # then (one test for all routes: a tenant pair per route would cost seconds each)
    assert failures == []


def _seed(tenant) -> None:
    user = UserFactory(tenant=tenant)
    RoleFactory(tenant=tenant)
    UserGrantFactory(user=user)


def _an_id_of(session, route: str) -> str:
    """The id of one of ``session``'s objects, read from its list route (``MADE_UP_ID`` if none)."""
    param = PARAM_RE.search(route).group(1)
    prefix = route[: route.index("<")].rstrip("/")
    list_routes = [r for r, m in ROUTES if r == prefix and m == "GET"]
    if not list_routes:
        return MADE_UP_ID
    body = session.call("GET", prefix).json()
    items = body if isinstance(body, list) else next((v for v in body.values() if isinstance(v, list)), [])
    for item in items:
        if not isinstance(item, dict):
            continue
        singular = prefix.rsplit("/", 1)[-1].removesuffix("s").replace("-", "_")  # logs -> log_id
        for key in [param, "id", f"{singular}_id", *sorted(k for k in item if k.endswith("id"))]:
            if isinstance(item.get(key), str | int) and item.get(key) != "":
                return str(item[key])
    return MADE_UP_ID


def test_another_tenants_object_is_not_found_on_every_detail_route(mgmt, other_mgmt):
    # given objects of tenant B
    _seed(other_mgmt.tenant)
    failures = []
    for route, method in DETAIL_ROUTES:
        object_id = _an_id_of(other_mgmt, route)
        # The id is real in B (so a 404 at A is tenancy), when it is the route's only parameter.
        if method == "GET" and object_id != MADE_UP_ID and len(PARAM_RE.findall(route)) == 1:
            seen_by_owner = other_mgmt.call("GET", _fill(route, object_id))
            if seen_by_owner.status_code != HTTPStatus.OK:
                failures.append(
                    f"{method} {route}: B cannot read its own {object_id}: {seen_by_owner.status_code}"
                )
        # when tenant A's client names it under A's URL
        response = mgmt.call(method, _fill(route, object_id), json=_body(method))
        # then
        if response.status_code != HTTPStatus.NOT_FOUND or set(response.json()) != ERROR_FIELDS:
            failures.append(f"{method} {route} {object_id}: {response.status_code} {response.text[:200]}")
    assert failures == []


def test_detail_routes_find_real_ids_of_the_other_tenant(other_mgmt):
    # given (the generic id lookup must work at least for this group's routes)
    # then
    assert _an_id_of(other_mgmt, "keys/signing/<str:kid>") != MADE_UP_ID
    assert _an_id_of(other_mgmt, "logs/<str:id>") != MADE_UP_ID
