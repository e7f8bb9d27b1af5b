"""Protocol strings used by the authorization server. No bare literals elsewhere."""

from __future__ import annotations

from apps.applications.models import Application

GrantType = Application.GrantType
AuthMethod = Application.AuthMethod

# RFC 9068 section 2.1: the media type of a JWT access token.
ACCESS_TOKEN_JWT_TYPE = "at+jwt"
# Auth0's "gty" claim for tokens minted by the client credentials grant.
GTY_CLIENT_CREDENTIALS = "client-credentials"
# ... and for tokens issued by the password grants (both of Auth0's names for it).
GTY_PASSWORD = "password"
# Auth0: the "sub" of a machine-to-machine token is "<client_id>@clients".
M2M_SUBJECT_SUFFIX = "@clients"

# Every token-endpoint response, success or error: never cached (RFC 6749 section 5.1), never sniffed.
TOKEN_RESPONSE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
}

# The token endpoint's path under the issuer (discovery's token_endpoint; the portal's snippets).
TOKEN_PATH = "oauth/token"

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

PARAM_GRANT_TYPE = "grant_type"
PARAM_CLIENT_ID = "client_id"
PARAM_CLIENT_SECRET = "client_secret"
PARAM_AUDIENCE = "audience"
PARAM_RESOURCE = "resource"  # RFC 8707
PARAM_SCOPE = "scope"
