"""Client grants (M2M authorisations) and user grants (end users' consents): creating, changing, removing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from apps.apis.models import DEFAULT_TOKEN_LIFETIME, Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.grants.models import ClientGrant, DeniedToken, UserGrant
from apps.grants.selectors import client_grant_cache_key, deny_list_cache_key


def _invalidate(grant: ClientGrant) -> None:
    ttlcache.invalidate(client_grant_cache_key(grant.application_id, grant.api_id))


def _validated_scopes(*, api: Api, scopes: Iterable[str]) -> list[str]:
    requested = list(dict.fromkeys(scopes))
    defined = set(api.scopes.values_list("value", flat=True))
    unknown = [scope for scope in requested if scope not in defined]
    if unknown:
        raise ValidationError(
            {"scopes": f"Not defined by the API {api.identifier}: {', '.join(unknown)}"}, code="invalid_scope"
        )
    return requested


@transaction.atomic
def client_grant_create(
    *, tenant, application: Application, api: Api, scopes: Iterable[str], actor=None
) -> ClientGrant:
    """Authorise ``application`` for ``api`` with ``scopes`` (each defined by the API)."""
    if application.tenant_id != tenant.pk or api.tenant_id != tenant.pk:
        raise ValidationError("The application and the API must belong to this tenant.", code="cross_tenant")
    if ClientGrant.objects.filter(application=application, api=api).exists():
        raise ValidationError(
            f"{application} already has a client grant for {api.identifier}.", code="conflict"
        )
    grant = ClientGrant.objects.create(
        tenant=tenant, application=application, api=api, scopes=_validated_scopes(api=api, scopes=scopes)
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.CLIENT_GRANT_CREATED,
        actor=actor,
        target=grant,
        data={"client_id": application.client_id, "audience": api.identifier, "scopes": grant.scopes},
    )
    _invalidate(grant)
    return grant


@transaction.atomic
def client_grant_update(*, grant: ClientGrant, scopes: Iterable[str], actor=None) -> ClientGrant:
    grant.scopes = _validated_scopes(api=grant.api, scopes=scopes)
    grant.save(update_fields=["scopes", "updated_at"])
    audit_record(
        tenant=grant.tenant,
        type=AuditEvent.Type.CLIENT_GRANT_UPDATED,
        actor=actor,
        target=grant,
        data={"scopes": grant.scopes},
    )
    _invalidate(grant)
    return grant


@transaction.atomic
def client_grant_delete(*, grant: ClientGrant, actor=None) -> None:
    audit_record(
        tenant=grant.tenant,
        type=AuditEvent.Type.CLIENT_GRANT_DELETED,
        actor=actor,
        target=grant,
        data={"client_id": grant.application.client_id, "audience": grant.api.identifier},
    )
    _invalidate(grant)
    grant.delete()


def client_grants_drop_scopes(*, api: Api, scopes: Iterable[str]) -> list[str]:
    """Called when an API stops defining ``scopes``: no grant may keep them.

    Returns the client ids of the applications whose grant changed, for the caller's audit event.
    """
    dropped = set(scopes)
    changed = []
    for grant in (
        ClientGrant.objects.filter(api=api).select_related("application").select_for_update(of=("self",))
    ):
        kept = [scope for scope in grant.scopes if scope not in dropped]
        if kept != grant.scopes:
            grant.scopes = kept
            grant.save(update_fields=["scopes", "updated_at"])
            _invalidate(grant)
            changed.append(grant.application.client_id)
    return sorted(changed)


@transaction.atomic
def user_grant_record(
    *, tenant, user, application: Application, api: Api | None, scopes: Iterable[str], actor=None
) -> UserGrant:
    """Store the user's approval of ``scopes`` for ``application`` on ``api`` (None: OpenID scopes only).

    An existing grant for the same (user, application, API) is extended, never narrowed:
    approving a request asks only about what was not approved before.
    """
    if (
        application.tenant_id != tenant.pk
        or user.tenant_id != tenant.pk
        or (api and api.tenant_id != tenant.pk)
    ):
        raise ValidationError(
            "The user, application and API must belong to this tenant.", code="cross_tenant"
        )
    audience = api.identifier if api else ""
    approved = list(dict.fromkeys(scopes))
    # get_or_create survives two first approvals racing (the unique constraint decides, the loser
    # reads the winner's row); the row is then locked while its scopes are extended.
    grant, created = UserGrant.objects.get_or_create(
        tenant=tenant,
        user=user,
        application=application,
        audience=audience,
        defaults={"api": api, "scopes": approved},
    )
    if created:
        type_ = AuditEvent.Type.USER_GRANT_CREATED
    else:
        grant = UserGrant.objects.select_for_update(of=("self",)).get(pk=grant.pk)
        added = [scope for scope in approved if scope not in grant.scopes]
        if not added:
            return grant
        grant.scopes = [*grant.scopes, *added]
        grant.save(update_fields=["scopes", "updated_at"])
        type_ = AuditEvent.Type.USER_GRANT_UPDATED
    audit_record(
        tenant=tenant,
        type=type_,
        actor=actor or user,
        target=grant,
        data={"client_id": application.client_id, "audience": audience, "scopes": grant.scopes},
    )
    return grant


@transaction.atomic
def user_grant_revoke(*, grant: UserGrant, actor=None) -> None:
    """Withdraw a consent. Every code, access, refresh and ID token issued under it goes with it
    (their foreign keys to the grant cascade): refresh tokens are refused from now on, the access
    tokens are deny-listed (introspection and resource servers refuse them) and the application
    must ask for consent again."""
    access_tokens_deny(access_tokens=grant.access_tokens.all(), reason="user grant revoked")
    audit_record(
        tenant=grant.tenant,
        type=AuditEvent.Type.USER_GRANT_REVOKED,
        actor=actor,
        target=grant,
        data={"client_id": grant.application.client_id, "audience": grant.audience, "user": grant.user_id},
    )
    grant.delete()


# --- The deny list ------------------------------------------------------------------------------

MSG_DENY_JTI_REQUIRED = "A jti is required: it names the token to deny."
MSG_DENY_EXPIRED = "This token has already expired: there is nothing to deny."


def _deny_list_changed(tenant_id: int) -> None:
    ttlcache.invalidate(deny_list_cache_key(tenant_id))


def _longest_token_lifetime(tenant) -> int:
    """The longest an access token of this tenant can live: how long a row for an unknown ``exp`` stays."""
    longest = Api.objects.for_tenant(tenant).aggregate(longest=Max("token_lifetime"))["longest"]
    return max(longest or 0, DEFAULT_TOKEN_LIFETIME)


@transaction.atomic
def token_deny(
    *,
    tenant,
    jti: str,
    audience: str = "",
    expires_at: datetime | None = None,
    reason: str = "",
    actor=None,
) -> DeniedToken:
    """Put the access token ``jti`` (for ``audience``) on the deny list until ``expires_at``.

    ``expires_at`` is the token's ``exp`` when it is known (revocation, a pasted token); without
    it the row lives as long as the tenant's longest access-token lifetime, which any token with
    this ``jti`` has outlived by then. Denying a token twice keeps one row (the later expiry).
    """
    jti = jti.strip()
    if not jti:
        raise ValidationError({"jti": MSG_DENY_JTI_REQUIRED}, code="required")
    now = timezone.now()
    expires_at = expires_at or now + timedelta(seconds=_longest_token_lifetime(tenant))
    if expires_at <= now:
        raise ValidationError({"expires_at": MSG_DENY_EXPIRED}, code="expired")
    entry, created = DeniedToken.objects.get_or_create(
        tenant=tenant,
        audience=audience,
        jti=jti,
        defaults={"expires_at": expires_at, "reason": reason[:200]},
    )
    if not created and entry.expires_at < expires_at:
        entry.expires_at = expires_at
        entry.save(update_fields=["expires_at"])
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TOKEN_DENIED,
        actor=actor,
        target=jti,
        data={"audience": audience, "reason": reason[:200], "expires_at": entry.expires_at.isoformat()},
    )
    _deny_list_changed(tenant.pk)
    return entry


def access_tokens_deny(*, access_tokens: QuerySet, reason: str) -> int:
    """Deny-list the JWTs of stored access tokens that are about to be deleted (a revoked grant,
    a revoked or reused refresh token, a replayed code), so resource servers refuse them too.

    Each row is bound to its token's tenant. Returns how many were added; expired tokens need none.
    """
    now = timezone.now()
    rows = [
        DeniedToken(tenant_id=tenant_id, audience=audience, jti=jti, expires_at=expires, reason=reason)
        for tenant_id, jti, audience, expires in access_tokens.filter(expires__gt=now)
        .exclude(jti="")
        .values_list("tenant_id", "jti", "audience", "expires")
    ]
    if rows:
        DeniedToken.objects.bulk_create(rows, ignore_conflicts=True)
        for tenant_id in {row.tenant_id for row in rows}:
            _deny_list_changed(tenant_id)
    return len(rows)


@transaction.atomic
def token_undeny(*, entry: DeniedToken, actor=None) -> None:
    """Take a token off the deny list (a mistaken entry): it is accepted again until it expires."""
    audit_record(
        tenant=entry.tenant,
        type=AuditEvent.Type.TOKEN_UNDENIED,
        actor=actor,
        target=entry.jti,
        data={"audience": entry.audience},
    )
    _deny_list_changed(entry.tenant_id)
    entry.delete()


@transaction.atomic
def user_grants_revoke_for_user(*, tenant, user, actor=None) -> int:
    """Withdraw every consent ``user`` gave in ``tenant`` (Auth0's ``DELETE /api/v2/grants?user_id=``),
    each through ``user_grant_revoke``; how many there were."""
    grants = list(
        UserGrant.objects.for_tenant(tenant).filter(user=user).select_related("application", "tenant")
    )
    for grant in grants:
        user_grant_revoke(grant=grant, actor=actor)
    return len(grants)
