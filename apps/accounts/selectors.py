"""Reads of end-user accounts' sign-in state."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import LoginBlock


def login_blocks_active(*, tenant) -> QuerySet[LoginBlock]:
    """The tenant's blocks that still hold (not yet expired)."""
    return LoginBlock.objects.for_tenant(tenant).filter(expires_at__gt=timezone.now())


def login_block_holds(*, tenant, identifier: str, ip: str | None) -> bool:
    """Whether sign-ins as ``identifier`` (``protection.login_identifier``) from ``ip`` are blocked.

    One query on the ``(tenant, username, ip)`` unique index, the same whether or not an account
    has that username.
    """
    return login_blocks_active(tenant=tenant).filter(username=identifier, ip=ip).exists()


def login_blocks_for_user(*, tenant, user) -> QuerySet[LoginBlock]:
    """The blocks that hold against ``user``: linked to them, or of their username (made before the
    account existed, which ``credentials_check`` matches by the case-folded identifier)."""
    from django.db.models import Q

    from apps.accounts.protection import login_identifier

    return login_blocks_active(tenant=tenant).filter(
        Q(user=user) | Q(username=login_identifier(user.username))
    )


def end_user_list(
    *, tenant, email: str | None = None, username: str | None = None, text: str | None = None
) -> QuerySet:
    """The tenant's end users, oldest first: ``email``/``username`` match exactly (any case),
    ``text`` is a substring of either (the Management API's simple ``q`` search)."""
    from django.db.models import Q

    from apps.accounts.models import User

    rows = User.objects.filter(tenant=tenant).order_by("date_joined", "pk")
    if email is not None:
        rows = rows.filter(email__iexact=email)
    if username is not None:
        rows = rows.filter(username__iexact=username)
    if text:
        rows = rows.filter(Q(email__icontains=text) | Q(username__icontains=text))
    return rows


def end_user_get(*, tenant, user_id: int | None):
    """The tenant's end user with this primary key, or None (another tenant's user is None too)."""
    if user_id is None:
        return None
    return end_user_list(tenant=tenant).filter(pk=user_id).first()
