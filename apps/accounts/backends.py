"""Authentication that never lets a tenant's end user into another tenant or the portal."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class TenantAwareModelBackend(ModelBackend):
    """Username/password within one tenant; ``tenant=None`` means a portal admin (``/admin/``)."""

    def authenticate(self, request, username=None, password=None, tenant=None, **kwargs):
        if username is None or password is None:
            return None
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get(username__iexact=username, tenant=tenant)
        except user_model.DoesNotExist:
            user_model().set_password(password)  # same work as a real check: no user enumeration by timing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
