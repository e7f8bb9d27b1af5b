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
