"""Our oauthlib request validator: DOT's, made tenant-aware. A thin dispatcher.

Each override delegates to the module that owns the rule: client lookup to
``applications.selectors``, client authentication to ``oauth.client_auth``, audience,
scope and claim rules to the grant's ``GrantRules`` (``oauth.grants.registry``; the
authorization endpoint's to ``oauth.authorization.rules``), minting to ``oauth.tokens``.
What was resolved for the request lives in its ``OAuthContext`` (``context.current()``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from apps.apis.selectors import api_get_by_identifier
from apps.applications.hashers import PREFIX as CLIENT_SECRET_HASH_PREFIX
from apps.applications.hashers import client_secret_verify
from apps.applications.selectors import application_get_for_token
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.oidc import OPENID
from apps.grants.selectors import token_is_denied
from apps.grants.services import access_tokens_deny, token_deny
from apps.oauth import client_auth, errors, tokens
from apps.oauth.authorization.rules import IMPLICIT_RESPONSE_TYPES, ResponseType
from apps.oauth.claims import USERINFO_PATH, standard_claims, user_subject
from apps.oauth.constants import AuthMethod, GrantType
from apps.oauth.context import current
from apps.oauth.grants.registry import rules_for_request
from apps.oauth.introspection import token_introspect
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken, checksum
from apps.oauth.refresh_lifetimes import refresh_token_expired, token_family_new
from apps.oauth.token_reads import code_grant_read, refresh_token_read
from apps.oauth.token_rows import token_rows_write
from apps.oauth.tokens import verify_access_token
from apps.tenants.selectors import tenant_refresh_token_lifetimes


def original_scopes(refresh_token: RefreshToken) -> str:
    """What ``refresh_token`` may be refreshed for; a row from before ``RefreshToken.scope`` existed
    falls back on its access token's scope (the validator refuses a token whose access token is gone)."""
    if refresh_token.scope:
        return refresh_token.scope
    return refresh_token.access_token.scope if refresh_token.access_token is not None else ""


class PortcullisValidator(OAuth2Validator):
    # --- Clients ------------------------------------------------------------------------
    def _load_application(self, client_id, request):
        """Only the resolved tenant's clients exist for this request (no cross-tenant lookup)."""
        if not client_id:
            return None
        context = current()
        context.client_id = client_id
        client = application_get_for_token(tenant_id=context.tenant.pk, client_id=client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    def client_authentication_required(self, request, *args, **kwargs) -> bool:
        """RFC 6749 3.2.1: clients with a secret authenticate; a public client identifies itself."""
        if client_auth.sends_credentials(request):
            return True
        client = self._load_application(request.client_id, request)
        return client is None or client.token_endpoint_auth_method != AuthMethod.NONE

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        method = client_auth.used_method(request)
        if method == AuthMethod.CLIENT_SECRET_BASIC:
            authenticated = self._authenticate_basic_auth(request)
        else:
            authenticated = self._authenticate_request_body(request)
        if not authenticated:
            raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_FAILED, request=request)
        client_auth.check_registered_method(request, method)
        return True

    def _check_secret(self, provided_secret, stored_secret) -> bool:
        """Our keyed hash verified directly (``applications.hashers``); anything else as DOT does."""
        if stored_secret.startswith(CLIENT_SECRET_HASH_PREFIX):
            return client_secret_verify(provided_secret, stored_secret)
        return super()._check_secret(provided_secret, stored_secret)

    def authenticate_client_id(self, client_id, request, *args, **kwargs) -> bool:
        client = self._load_application(client_id, request)
        return client is not None and client.token_endpoint_auth_method == AuthMethod.NONE

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type not in client.grant_types:
            raise errors.UnauthorizedClient(
                errors.MSG_GRANT_TYPE_NOT_ALLOWED.format(grant_type=grant_type), request=request
            )
        return True

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs) -> bool:
        """What the client may ask at /authorize follows its grant types (Auth0), not DOT's single field."""
        if response_type == ResponseType.CODE:
            return GrantType.AUTHORIZATION_CODE in client.grant_types
        if response_type in IMPLICIT_RESPONSE_TYPES:
            return GrantType.IMPLICIT in client.grant_types
        raise oauthlib_errors.UnsupportedResponseTypeError(request=request)  # e.g. hybrid "code id_token"

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs) -> bool:
        """RFC 9700 4.1.1: exact string comparison with a registered callback (no port, path or
        query leniency, loopback included, as Auth0 does)."""
        return redirect_uri in request.client.redirect_uris.split()

    def is_pkce_required(self, client_id, request) -> bool:
        """RFC 9700 2.1.1: public clients (SPA, native) must use PKCE; confidential ones may."""
        return request.client is not None and request.client.token_endpoint_auth_method == AuthMethod.NONE

    # --- Scopes: the grant's rules --------------------------------------------------------
    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        return rules_for_request(request).default_scopes(request, current())

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        request.scopes = rules_for_request(request).check_scopes(request, current(), list(scopes))
        return True

    # --- The password grant: the rules sign the user in (``grants.password``) ---------------------
    def validate_user(self, username, password, client, request, *args, **kwargs) -> bool:
        rules_for_request(request).authenticate(request, current(), username=username, password=password)
        return True

    # --- Authorization codes ----------------------------------------------------------------
    def _create_authorization_code(self, request, code, expires=None):
        context = current()
        if request.code_challenge_method and request.code_challenge_method != "S256":
            raise errors.InvalidRequest(errors.MSG_PKCE_METHOD, request=request)
        expires = expires or timezone.now() + timedelta(seconds=self._code_lifetime())
        return Grant.objects.create(
            **context.row_binding(),
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=expires,
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims="{}",
        )

    @staticmethod
    def _code_lifetime() -> int:
        return oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS

    def _code_row(self, code: str) -> Grant | None:
        """The code's row, read once per request and locked (the token endpoint runs user grants in
        a transaction), so two concurrent exchanges of one code cannot both succeed."""
        context = current()
        if context.code_grant is None:
            context.code_grant = code_grant_read(tenant_id=context.tenant.pk, code=code) or False
        return context.code_grant or None

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        """RFC 6749 4.1.2: single use; a replay revokes what the first exchange issued."""
        context = current()
        grant = self._code_row(code)
        if grant is None or grant.application_id != client.pk or grant.is_expired():
            return False
        if grant.used_at is not None:
            self._revoke_replayed_code(grant, request)
            raise errors.InvalidGrant(errors.MSG_CODE_REPLAYED, request=request)
        if not grant.user.is_active:
            return False
        api = None
        if grant.audience:
            api = api_get_by_identifier(tenant_id=context.tenant.pk, identifier=grant.audience)
            if api is None:  # the API was deleted since the user consented
                return False
        request.scopes = grant.scope.split()
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        context.api, context.audience, context.user_grant_id = api, grant.audience, grant.user_grant_id
        return True

    def _revoke_replayed_code(self, grant: Grant, request) -> None:
        tenant = current().tenant
        if grant.issued_family:
            RefreshToken.revoke_family(grant.issued_family)
        if grant.issued_jti:
            issued = AccessToken.objects.for_tenant(tenant).filter(jti=grant.issued_jti)
            access_tokens_deny(access_tokens=issued, reason="authorization code replayed")
            issued.delete()
        audit_record(
            tenant=tenant,
            type=AuditEvent.Type.AUTHORIZATION_CODE_REPLAYED,
            target=request.client.client_id,
            data={"user": grant.user_id, "revoked_jti": grant.issued_jti},
        )
        current().keep_writes = True  # the refusal commits the revocation

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs) -> bool:
        """RFC 6749 4.1.3: identical to the authorization request's ``redirect_uri``."""
        grant = current().code_grant
        return grant is not None and redirect_uri == grant.redirect_uri

    def get_code_challenge(self, code, request):
        return current().code_grant.code_challenge or None

    def get_code_challenge_method(self, code, request):
        return current().code_grant.code_challenge_method or None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request) -> list[str]:
        """oauthlib's dispatcher asks first (``openid`` picks the OIDC grant): this reads the row."""
        grant = self._code_row(code)
        return grant.scope.split() if grant is not None else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = current().code_grant
        return (grant.nonce or None) if grant is not None else None

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        """Mark the code used, remembering what it issued, instead of deleting it (replay detection)."""
        context = current()
        Grant.objects.filter(pk=context.code_grant.pk).update(
            used_at=timezone.now(), issued_jti=context.jti, issued_family=context.issued_family
        )

    # --- Refresh tokens ------------------------------------------------------------------------
    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        """The presented refresh token, read in one query; DOT's rules, with no grace period:

        - unknown, another client's, or from another tenant: refused;
        - retired (rotated or revoked) and presented again: RFC 9700 4.14.2 reuse, the whole
          family is revoked (``REFRESH_TOKEN_REUSE_PROTECTION``);
        - past its family's absolute lifetime or idle past the inactivity lifetime (the tenant's
          refresh-token lifetimes, ``refresh_lifetimes``): refused with its own message;
        - its access token gone (revoked out of band), its user inactive, its API gone or no
          longer allowing offline access: refused.
        """
        context = current()
        token = refresh_token_read(tenant_id=context.tenant.pk, token=refresh_token)
        if token is None or token.application_id != client.pk:
            return False
        if token.revoked is not None:
            RefreshToken.revoke_family(token.token_family)
            audit_record(
                tenant=context.tenant,
                type=AuditEvent.Type.REFRESH_TOKEN_REUSED,
                target=client.client_id,
                data={"user": token.user_id},
            )
            context.keep_writes = True  # the refusal commits the revocation
            return False
        lifetimes = tenant_refresh_token_lifetimes(tenant=context.tenant)
        if refresh_token_expired(token=token, lifetimes=lifetimes, now=timezone.now()):
            raise errors.InvalidGrant(errors.MSG_REFRESH_TOKEN_EXPIRED, request=request)
        if token.access_token is None or not token.user.is_active:
            return False
        api = None
        if token.audience:
            api = api_get_by_identifier(tenant_id=context.tenant.pk, identifier=token.audience)
            if api is None or not api.allow_offline_access:
                return False
        request.user = token.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = token
        context.api, context.audience, context.user_grant_id = api, token.audience, token.user_grant_id
        return True

    def get_original_scopes(self, refresh_token, request, *args, **kwargs) -> list[str]:
        """The scopes the presented refresh token may be used for: its own (see ``RefreshToken.scope``),
        not its last access token's, which the API's RBAC may have narrowed."""
        return original_scopes(request.refresh_token_instance).split()

    def refresh_id_token(self, request) -> bool:
        return OPENID in (request.scopes or ())

    # --- Token rows (user grants only) ----------------------------------------------------------
    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        """Rows for user tokens; none for M2M JWTs (self-contained; revocation is by ``jti``).

        Not DOT's ``_save_bearer_token``: it re-reads the refresh token, its access token and the
        code, and deletes the previous access token through Django's collector (about fifteen
        statements a refresh). Here one statement (``token_rows.token_rows_write``) retires the
        presented refresh token if it is still live (a concurrent use of the same token finds it
        retired and is refused) and inserts the ID token, access token and next refresh token rows;
        the previous access token lives out its lifetime, as Auth0's do. The token endpoint's
        transaction (``PortcullisOAuthLibCore``) makes the request all or nothing.
        """
        if not rules_for_request(request).persists_tokens:
            return None
        context = current()
        now = timezone.now()
        previous = getattr(request, "refresh_token_instance", None)
        access_token = self._access_token_row(now + timedelta(seconds=token["expires_in"]), request, token)
        refresh_token = (
            self._refresh_token_row(request, token["refresh_token"], previous)
            if token.get("refresh_token")
            else None
        )
        id_token = context.id_token_row if token.get("id_token") else None
        if id_token is not None and id_token.pk is not None:
            access_token.id_token = id_token  # written already (authorization endpoint)
            id_token = None
        written = token_rows_write(
            retire=previous,
            retired_at=now,
            id_token=id_token,
            access_token=access_token,
            refresh_token=refresh_token,
        )
        if not written:
            raise errors.InvalidGrant(errors.MSG_REFRESH_TOKEN_INVALID, request=request)
        if refresh_token is not None:
            context.issued_family = refresh_token.token_family
        return None

    def _access_token_row(self, expires, request, token) -> AccessToken:
        context = current()
        access_token = AccessToken(
            **context.row_binding(),
            jti=context.jti,
            user=request.user,
            scope=token["scope"],
            expires=expires,
            application=request.client,
        )
        self._set_token_value(access_token, token["access_token"])
        return access_token

    def _refresh_token_row(self, request, refresh_token_code, previous_refresh_token) -> RefreshToken:
        """DOT's, bound to the tenant, audience and user grant; a new family unless rotating."""
        context = current()
        # A new family's id is a UUIDv7 carrying its start: the absolute lifetime's clock.
        family = previous_refresh_token.token_family if previous_refresh_token else token_family_new()
        # RFC 6749 section 6: a rotated token's scope is identical to the presented one's; a new
        # family keeps the scopes as requested, before RBAC narrowed them (``rbac_apply``).
        if previous_refresh_token is not None:
            scope = original_scopes(previous_refresh_token)
        elif context.requested_scopes is not None:
            scope = " ".join(context.requested_scopes)
        else:
            scope = " ".join(request.scopes or ())
        refresh_token = RefreshToken(
            **context.row_binding(),
            user=request.user,
            application=request.client,
            token_family=family,
            scope=scope,
        )
        self._set_token_value(refresh_token, refresh_token_code)
        return refresh_token

    def _load_access_token(self, token):
        """Userinfo's lookup: this tenant's row for the token, unless its JWT was deny-listed or is
        signed by a key the tenant no longer publishes (the row proves we issued it, not that its
        key is still trusted: a revoked key takes its tokens with it at once)."""
        context = current()
        tenant_id = context.tenant.pk
        if tokens.signed_by_unpublished_key(token, tenant_id=tenant_id):
            return None
        row = (
            AccessToken.objects.for_tenant(context.tenant)
            .select_related("application", "user")
            .filter(token_checksum=checksum(token))
            .first()
        )
        if row is None or token_is_denied(tenant_id=tenant_id, jti=row.jti):
            return None
        return row

    # --- Introspection (RFC 7662) and revocation (RFC 7009) ----------------------------------------
    def introspect_token(self, token, token_type_hint, request, *args, **kwargs) -> dict | None:
        return token_introspect(
            token=token, token_type_hint=token_type_hint, client=request.client, context=current()
        )

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs) -> None:
        """RFC 7009: a JWT access token issued to the calling client is deny-listed by ``jti`` (its
        row, for a user token, goes too); refresh tokens and stored access tokens are DOT's (the
        refresh token retired, its access token deleted and deny-listed). Another client's token
        is left alone, and the answer is 200 whatever happened (section 2.2)."""
        context = current()
        claims = (
            verify_access_token(token, tenant_id=context.tenant.pk, issuer=context.issuer)
            if token.count(".") == 2
            else None
        )
        if claims is not None:
            if claims.get("client_id") == request.client.client_id:
                audience = claims["aud"][0] if isinstance(claims["aud"], list) else claims["aud"]
                token_deny(
                    tenant=context.tenant,
                    jti=claims["jti"],
                    audience=audience if audience != f"{context.issuer}{USERINFO_PATH}" else "",
                    expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
                    reason="revoked by the client (RFC 7009)",
                )
                AccessToken.objects.for_tenant(context.tenant).filter(jti=claims["jti"]).delete()
            return
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)

    # --- OpenID Connect ---------------------------------------------------------------------------
    def get_oidc_issuer_endpoint(self, request) -> str:
        return current().issuer

    def get_claim_dict(self, request) -> dict:
        return {"sub": user_subject(request.user), **standard_claims(request.user)}

    def finalize_id_token(self, id_token, token, token_handler, request) -> str:
        """Sign the ID token with the tenant's current RS256 key (OIDC Core 2, 3.1.3.7)."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        signed = tokens.sign_id_token(id_token, tenant_id=current().tenant.pk)
        self._save_id_token(id_token["jti"], request, expiration_time)
        return signed

    def _save_id_token(self, jti, request, expires, *args, **kwargs):
        """The ID token's row. At the token endpoint it is written with the access and refresh
        token rows in ``save_bearer_token`` (one statement); the authorization endpoint (implicit,
        where ``id_token`` alone saves no access token) writes it at once."""
        context = current()
        id_token = IDToken(
            tenant=context.tenant,
            user_grant_id=context.user_grant_id,
            user=request.user,
            scope=" ".join(request.scopes or ()),
            expires=expires,
            jti=jti,
            application=request.client,
        )
        if not request.grant_type:
            id_token.save()
        context.id_token_row = id_token
        return id_token

    # Silent authentication (prompt=none) and id_token_hint are decided by our authorization
    # flow (apps.oauth.authorization.flow) before oauthlib runs; here they always pass.
    def validate_silent_login(self, request) -> bool:
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    def validate_user_match(self, id_token_hint, scopes, claims, request) -> bool:
        return True
