"""Why a sample-app page could not do its job, said in words a person can act on.

These pages are not protocol endpoints: every refusal is a readable HTML page
(``templates/sample/error.html``) with the status that fits, never a 500.
"""

from __future__ import annotations

from http import HTTPStatus

MSG_UNKNOWN_STATE = (
    "This sign-in response does not belong to a sign-in this app started, or it was already used. "
    "Nothing was exchanged; start again."
)
MSG_NO_CODE = "The authorization server answered without an authorization code."
MSG_ISSUER_MISMATCH = (
    "The response names issuer {got!r}, not the one this app signs in with ({expected!r}). "
    "It may come from another server (RFC 9207 mix-up protection): refused."
)
MSG_ISSUER_MISSING = "The authorization server promises an 'iss' parameter (RFC 9207) but sent none: refused."
MSG_DISCOVERY_ISSUER = "The discovery document names issuer {got!r}, not {expected!r}: refused."
MSG_NO_ENDPOINT = (
    "The authorization server at {issuer} does not advertise {what} in its discovery document yet."
)
MSG_UNREACHABLE = "Could not reach the authorization server at {url}: {reason}"
MSG_TOKEN_REFUSED = "The token endpoint refused the request: {error}{description}"
MSG_NO_ID_TOKEN = "The token response has no ID token although the 'openid' scope was requested."
MSG_BAD_ID_TOKEN = "The ID token did not validate ({reason}); you are not signed in."


class RelyingPartyError(Exception):
    """A page that cannot be shown: ``title`` and ``detail`` for the person, ``status`` for HTTP."""

    def __init__(self, detail: str, *, title: str = "Sign-in failed", status: int = HTTPStatus.BAD_REQUEST):
        super().__init__(detail)
        self.title = title
        self.detail = detail
        self.status = status


class ServerUnavailable(RelyingPartyError):
    """The authorization server or the API did not answer usefully: 502, try again later."""

    def __init__(self, detail: str, *, title: str = "The authorization server is not available"):
        super().__init__(detail, title=title, status=HTTPStatus.BAD_GATEWAY)
