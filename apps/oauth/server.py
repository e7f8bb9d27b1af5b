"""The oauthlib server behind our endpoints: exactly the grants Portcullis implements.

Registering only implemented grants means oauthlib itself refuses the rest; later
issues add authorization_code, refresh_token, password and MFA here.
"""

from __future__ import annotations

from oauthlib.oauth2 import BearerToken, ClientCredentialsGrant, TokenEndpoint

from apps.oauth.constants import GrantType


class PortcullisServer(TokenEndpoint):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **kwargs,
    ) -> None:
        bearer = BearerToken(request_validator, token_generator, token_expires_in, refresh_token_generator)
        grant_types = {GrantType.CLIENT_CREDENTIALS.value: ClientCredentialsGrant(request_validator)}
        TokenEndpoint.__init__(
            self,
            default_grant_type=GrantType.CLIENT_CREDENTIALS.value,
            grant_types=grant_types,
            default_token_type=bearer,
        )
