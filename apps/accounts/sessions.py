"""Who is signed in to a tenant, and since when: the one place that reads and writes that session state.

Portal admins and every tenant's end users share one session cookie per browser (one user
table, one ``AuthenticationMiddleware``), so "is someone signed in?" is never enough under
``/t/<tenant>/``: only an active end user *of that tenant* counts. The authorize endpoint, the
account pages and the sample app ask ``end_user_for_request``; OIDC's ``auth_time`` and
``max_age`` come from ``auth_time_of``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.contrib.auth import login, logout
from django.http import HttpRequest

if TYPE_CHECKING:
    from apps.accounts.models import User

# When the end user last proved who they are (seconds since the epoch; OIDC Core 2: auth_time).
AUTH_TIME_SESSION_KEY = "portcullis.auth_time"


def end_user_login(request: HttpRequest, user: User) -> None:
    """Start ``user``'s session (a new session key: no fixation) and record the time of sign-in.

    ``user`` must come from ``authenticate(..., tenant=request.tenant)``; this function does no
    credential check of its own.
    """
    previous_key = request.session.session_key
    login(request, user)
    if previous_key and request.session.session_key == previous_key:
        # Django keeps the key when the same user signs in again; we rotate on every sign-in
        # (a re-authentication, e.g. for prompt=login, is then visible as a new session).
        request.session.cycle_key()
    request.session[AUTH_TIME_SESSION_KEY] = int(time.time())


def end_user_for_request(request: HttpRequest) -> User | None:
    """The active end user of ``request.tenant`` signed in on this request, or None.

    A portal admin's session, another tenant's end user and a deactivated user all count as
    nobody signed in here.
    """
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    if tenant is None or user is None or not user.is_authenticated:
        return None
    if user.tenant_id != tenant.pk or not user.is_active:
        return None
    return user


def auth_time_of(request: HttpRequest) -> int | None:
    """When the end user signed in to ``request.tenant`` (epoch seconds); None if nobody is."""
    if end_user_for_request(request) is None:
        return None
    value = request.session.get(AUTH_TIME_SESSION_KEY)
    return value if isinstance(value, int) else None


def end_user_logout(request: HttpRequest) -> None:
    """End the browser's session: the user, the auth time and everything else in it."""
    logout(request)
