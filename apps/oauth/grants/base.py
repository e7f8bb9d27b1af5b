"""What every grant type must say about itself. The pipeline (DOT + oauthlib) is shared.

Grants differ in their rules, not in their plumbing: where the API and the granted scopes
come from, which scopes a token gets by default, which claims identify the subject,
whether tokens get rows, and how the token log names the outcome. Each grant module
defines one ``GrantRules`` subclass; ``apps.oauth.grants.registry`` lists them, the
validator dispatches to them, and the oauthlib server is built from them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from apps.oauth.context import OAuthContext


class GrantRules:
    grant_type: ClassVar[str]
    # Auth0 log event codes for a token issued / refused by this grant (apps.audit.models.TokenEvent.Type).
    success_log_type: ClassVar[str]
    failure_log_type: ClassVar[str]
    # Whether issued tokens get rows (user tokens: revocable through their grant) or none (M2M JWTs).
    persists_tokens: ClassVar[bool]
    # Whether the token request runs in one transaction (``PortcullisOAuthLibCore``): needed when it
    # reads and locks a row it writes later (a code), not when its only write is the last statement.
    needs_transaction: ClassVar[bool] = False

    def oauthlib_grant(self, validator) -> GrantTypeBase:
        """The oauthlib grant (or dispatcher) that runs this grant's protocol steps."""
        raise NotImplementedError

    def default_scopes(self, request, context: OAuthContext) -> list[str]:
        """Scopes of a token when the request names none."""
        raise NotImplementedError

    def check_scopes(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        """The scopes to issue for ``scopes`` as requested; raises an ``errors.OAuthError`` to refuse."""
        raise NotImplementedError

    def subject_claims(self, request, context: OAuthContext) -> dict[str, Any]:
        """``sub`` and the grant-specific claims (``gty``) of the access token."""
        raise NotImplementedError
