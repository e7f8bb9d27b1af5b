"""Refresh-token lifetimes: absolute (from the family's start) and inactivity (from the token's creation).

Auth0's refresh token rotation has both: a sign-in's refresh tokens stop working
``absolute_seconds`` after the sign-in, however often they are rotated, and a token unused for
``inactivity_seconds`` expires. The inactivity clock is the presented token's ``created`` (each
rotation issues a new token). The absolute clock needs the family's start, which the presented
row does not hold, and the refresh path reads that row in one query (``make bench``'s refresh
row): finding the family's first row (``MIN(created)`` over a family that grows by one row per
rotation) would cost a second query or a subquery that grows with the session.

So the start is carried in the family id itself: ``token_family`` is a UUIDv7 (RFC 9562 5.7),
whose first 48 bits are the Unix time in milliseconds at which the first token of the family was
minted. It is our server's clock, set when the family is created and copied on every rotation;
clients never see it. No column is added. Families created before this (random UUIDv4) have no
time in them: for those, and only those, the start is read from the family's rows (one extra query).
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

from django.db.models import Min

from apps.tenants.selectors import RefreshTokenLifetimes

_UUID7_VERSION = 7


def token_family_new(*, at: datetime | None = None) -> uuid.UUID:
    """A new refresh-token family id: a UUIDv7 stamped with ``at`` (now by default), random otherwise."""
    moment = at or datetime.now(UTC)
    unix_ms = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = (unix_ms << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (_UUID7_VERSION << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)


def token_family_started_at(token_family: uuid.UUID | None) -> datetime | None:
    """When the family's first token was minted, if its id says (UUIDv7); None for older families."""
    if token_family is None or token_family.version != _UUID7_VERSION:
        return None
    return datetime.fromtimestamp((token_family.int >> 80) / 1000, tz=UTC)


def _family_start_from_rows(token) -> datetime:
    """A pre-UUIDv7 family's start: its oldest remaining row (the cleanup keeps the first row of a
    family that can still be used; see ``apps.oauth.cleanup``)."""
    started = (
        type(token)
        .objects.for_tenant(token.tenant_id)
        .filter(token_family=token.token_family)
        .aggregate(first=Min("created"))
    )
    return started["first"] or token.created


def refresh_token_expired(*, token, lifetimes: RefreshTokenLifetimes, now: datetime) -> bool:
    """True when the presented refresh token is past its family's absolute lifetime or idle too long.

    At ``created + lifetime`` exactly the token is expired (as DOT's ``is_expired``: ``now >= expires``).
    """
    if now >= token.created + timedelta(seconds=lifetimes.inactivity_seconds):
        return True
    started = token_family_started_at(token.token_family)
    if started is None:
        started = _family_start_from_rows(token) if token.token_family else token.created
    return now >= started + timedelta(seconds=lifetimes.absolute_seconds)
