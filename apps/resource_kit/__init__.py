"""The resource-server kit: verify Portcullis JWT access tokens in a DRF API, offline, via JWKS
(and, if asked, a polled deny list of revoked tokens).

Self-contained (Django, DRF and PyJWT only, relative imports) so an API team can copy this
package into their own project; see README.md next to this file. The public surface:

- ``authentication.JWTAccessTokenAuthentication`` and ``authentication.TokenUser``
- ``permissions.HasScope`` / ``permissions.RequiredScopes`` (RFC 6750 ``insufficient_scope``)
- ``views.ResourceServerMixin`` (wires both plus the kit's error rendering into a view)
- ``jwks.clear_jwks_cache`` (forget fetched keys; for tests and key-revocation drills)
- ``deny_list.clear_deny_list_cache`` (forget the polled deny lists of revoked tokens; for tests)
- ``verification.verify_access_token`` (the checks themselves, for non-DRF code)
"""
