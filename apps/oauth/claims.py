"""Who a user token is about: the subject identifier and OpenID Connect's standard claims."""

from __future__ import annotations

from typing import Any

USERINFO_PATH = "userinfo"


def user_subject(user) -> str:
    """The ``sub`` of a tenant's end user, in Auth0's ``<connection>|<id>`` form."""
    return f"auth0|{user.pk}"


def user_id_from_subject(subject: str) -> int | None:
    prefix, _, raw = subject.partition("|")
    if prefix != "auth0" or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def standard_claims(user) -> dict[str, Any]:
    """OIDC Core section 5.1 claims we hold for a user (filtered by scope where they are used)."""
    full_name = user.get_full_name()
    local_part = (user.email or user.username).split("@", 1)[0]
    claims: dict[str, Any] = {
        "name": full_name or user.email or user.username,
        "nickname": local_part,
        "preferred_username": user.username,
        "updated_at": int((user.last_login or user.date_joined).timestamp()),
        "email": user.email,
        "email_verified": False,
    }
    if user.first_name:
        claims["given_name"] = user.first_name
    if user.last_name:
        claims["family_name"] = user.last_name
    return claims
