"""OpenID Connect's own scopes (OIDC Core 5.4, 11) and how they are described to people.

Shared by the authorization server (which scopes it keeps) and the pages that list what a user
granted (consent, authorized applications), which sit in different layers.
"""

from __future__ import annotations

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
OIDC_SCOPES = frozenset({OPENID, "profile", "email", OFFLINE_ACCESS})
OIDC_SCOPE_DESCRIPTIONS = {
    OPENID: "Sign you in",
    "profile": "Your name and profile",
    "email": "Your email address",
    OFFLINE_ACCESS: "Access while you are not using the application (a refresh token)",
}
