"""Shapes shared by the users, roles, grants and deny-list endpoints: Auth0's ids, field names and
strict input (Auth0 refuses unknown fields and wrong types: "Payload validation error").

Strict input (unknown properties and wrong JSON types refused) comes from ``payload``.

Ids: a user is ``auth0|<pk>`` (the ``sub`` of their tokens, ``apps.oauth.claims.user_subject``), a
role ``rol_<pk>``, a user grant its pk as a string, an authentication method ``otp|dev_<pk>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from apps.accounts.models import MfaAuthenticator, Role, User
from apps.accounts.rbac.selectors import role_get, scopes_by_reference
from apps.accounts.selectors import end_user_get
from apps.apis.models import Scope
from apps.management.api.errors import bad_request, not_found
from apps.management.api.payload import StrictCharField, StrictSerializer
from apps.oauth.claims import user_id_from_subject, user_subject
from apps.tenants.selectors import tenant_database_connection

ROLE_ID_PREFIX = "rol_"
MSG_PERMISSION_NOT_FOUND = "Permission {name!r} of resource server {identifier!r} does not exist."


class PermissionReference(StrictSerializer):
    resource_server_identifier = StrictCharField(max_length=600)
    permission_name = StrictCharField(max_length=280)


class PermissionsBody(StrictSerializer):
    """``{"permissions": [{"resource_server_identifier", "permission_name"}, ...]}`` (at least one)."""

    permissions = PermissionReference(many=True, allow_empty=False)


class IdList(serializers.ListField):
    child = StrictCharField(max_length=100)

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_empty=False, max_length=100, **kwargs)


# --- ids ---------------------------------------------------------------------------------------------
def user_or_404(*, tenant, user_id: str) -> User:
    """The tenant's end user named by Auth0's ``auth0|<pk>``, or Auth0's 404 ``inexistent_user``."""
    pk = user_id_from_subject(user_id) if len(user_id) < 30 else None
    user = end_user_get(tenant=tenant, user_id=pk if pk is None or pk < 2**63 else None)
    if user is None:
        raise not_found("user")
    return user


def role_pk(role_id: str) -> int | None:
    raw = role_id.removeprefix(ROLE_ID_PREFIX) if role_id.startswith(ROLE_ID_PREFIX) else ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def role_or_404(*, tenant, role_id: str) -> Role:
    role = role_get(tenant=tenant, role_id=role_pk(role_id))
    if role is None:
        raise not_found("role")
    return role


def roles_or_404(*, tenant, role_ids: Iterable[str]) -> list[Role]:
    return [role_or_404(tenant=tenant, role_id=role_id) for role_id in role_ids]


def users_or_404(*, tenant, user_ids: Iterable[str]) -> list[User]:
    return [user_or_404(tenant=tenant, user_id=user_id) for user_id in user_ids]


def scopes_or_error(*, tenant, permissions: list[dict]) -> list[Scope]:
    """The tenant's scopes named in a ``permissions`` body; a reference to nothing is a 400 naming it."""
    references = [(item["resource_server_identifier"], item["permission_name"]) for item in permissions]
    found = scopes_by_reference(tenant=tenant, references=references)
    for identifier, name in references:
        if (identifier, name) not in found:
            raise bad_request(MSG_PERMISSION_NOT_FOUND.format(name=name, identifier=identifier))
    return [found[reference] for reference in references]


# --- output ------------------------------------------------------------------------------------------
def iso(moment: datetime | None) -> str | None:
    """Auth0's timestamps: ISO 8601 in UTC with milliseconds, ``2021-09-23T22:57:30.206Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_display_name(user: User) -> str:
    return user.get_full_name() or user.email or user.username


def render_user(user: User, *, tenant) -> dict[str, Any]:
    """A user in Auth0's shape (``GET /api/v2/users/{id}``)."""
    return {
        "user_id": user_subject(user),
        "email": user.email,
        "username": user.username,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "name": user_display_name(user),
        "created_at": iso(user.date_joined),
        "updated_at": iso(user.updated_at),
        "last_login": iso(user.last_login),
        "blocked": not user.is_active,
        "identities": [
            {
                "connection": tenant_database_connection(tenant=tenant),
                "user_id": str(user.pk),
                "provider": "auth0",
                "isSocial": False,
            }
        ],
    }


def render_role(role: Role) -> dict[str, str]:
    return {"id": f"{ROLE_ID_PREFIX}{role.pk}", "name": role.name, "description": role.description}


def render_permission(scope: Scope) -> dict[str, str]:
    """A permission in Auth0's shape: the API (resource server) and the scope."""
    return {
        "resource_server_identifier": scope.api.identifier,
        "permission_name": scope.value,
        "resource_server_name": scope.api.name,
        "description": scope.description,
    }


def render_authentication_method(authenticator: MfaAuthenticator) -> dict[str, Any]:
    """An MFA authenticator as Auth0's authentication method (our ``otp`` is Auth0's ``totp``)."""
    return {
        "id": authenticator.public_id,
        "type": "totp",
        "confirmed": authenticator.confirmed,
        "created_at": iso(authenticator.created_at),
    }


def authentication_method_pk(method_id: str) -> int | None:
    prefix = f"{MfaAuthenticator.Type.OTP}|dev_"
    raw = method_id.removeprefix(prefix) if method_id.startswith(prefix) else ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
