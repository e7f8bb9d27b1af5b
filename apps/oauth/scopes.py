"""DOT's scopes backend: scopes belong to APIs, not to a global settings list."""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes


class ApiScopes(BaseScopes):
    """Scopes are resolved per request from the API being asked for (apps.oauth.grants)."""

    def get_all_scopes(self) -> dict[str, str]:
        return {}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return []
