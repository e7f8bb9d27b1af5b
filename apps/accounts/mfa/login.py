"""The login page's second step: a sign-in that passed the password but still owes a second factor.

After ``credentials_check`` succeeds for a user who ``mfa_needed``, the user is NOT signed in:
the session carries a short-lived marker (user, tenant, time, the username as typed) and the
browser goes to ``/t/<tenant>/login/mfa``. Only there, once a code (or, for a user the policy
makes enrol, a new authenticator) is accepted, does ``end_user_login`` start the session. The
marker lives as long as an ``mfa_token`` (``MFA_TOKEN_LIFETIME_SECONDS``).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

from apps.accounts.models import User
from apps.accounts.sessions import end_user_login
from apps.core.client_ip import client_ip

MFA_PENDING_SESSION_KEY = "portcullis.mfa_pending"


def mfa_login_begin(request: HttpRequest, *, user: User, username: str) -> None:
    """Remember that ``user`` proved their password here and now owes a second factor."""
    request.session[MFA_PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "tenant_id": user.tenant_id,
        "at": int(time.time()),
        "username": username,
    }


def mfa_login_pending(request: HttpRequest) -> tuple[User, str] | None:
    """The user (and the username they typed) whose second step this session is in, or None.

    None when there is no marker, it is older than ``MFA_TOKEN_LIFETIME_SECONDS``, it is another
    tenant's, or the user was deactivated meanwhile.
    """
    marker = request.session.get(MFA_PENDING_SESSION_KEY)
    if not isinstance(marker, dict) or marker.get("tenant_id") != request.tenant.pk:
        return None
    at = marker.get("at")
    if not isinstance(at, int) or time.time() - at > settings.MFA_TOKEN_LIFETIME_SECONDS:
        request.session.pop(MFA_PENDING_SESSION_KEY, None)
        return None
    user = User.objects.filter(pk=marker.get("user_id"), tenant_id=request.tenant.pk, is_active=True).first()
    if user is None:
        return None
    return user, str(marker.get("username", user.username))


def mfa_login_complete(request: HttpRequest, *, user: User, username: str) -> None:
    """The second factor was accepted: sign the user in (new session key) and record the sign-in."""
    from apps.accounts.services import login_success_record  # services starts the second step

    request.session.pop(MFA_PENDING_SESSION_KEY, None)
    end_user_login(request, user)
    login_success_record(tenant=request.tenant, user=user, username=username, ip=client_ip(request))
