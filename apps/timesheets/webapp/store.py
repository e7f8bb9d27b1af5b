"""The sample web app's own per-browser state, in its own cookie and table — not Django's session.

The browser holds a cookie signed with ``django.core.signing`` (salt ``sample-web``) that names
a random session id and the key that encrypts that session's data; the data (pending
sign-ins, tokens, the user's claims) sits in ``SampleWebSession``, a table every server
process shares, encrypted with that key (Fernet). So state survives requests landing on
different worker processes, the authorization server's own login and logout on this host
cannot rotate or flush it, and the table alone reveals no token.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from apps.timesheets.models import SampleWebSession

COOKIE_NAME = "sample_web"
COOKIE_PATH = "/sample/"
SALT = "sample-web"
LIFETIME = timedelta(hours=12)  # then the browser signs in again, as with any short-lived session


@dataclass
class BrowserState:
    """This browser's data, loaded for one request; ``save`` writes it back."""

    sid: str
    key: bytes = field(repr=False)
    data: dict[str, Any] = field(default_factory=dict)
    is_new: bool = False

    def cookie_value(self) -> str:
        return signing.dumps({"sid": self.sid, "key": self.key.decode()}, salt=SALT, compress=True)


def _fresh() -> BrowserState:
    return BrowserState(sid=secrets.token_urlsafe(24), key=Fernet.generate_key(), is_new=True)


def _read_cookie(request: HttpRequest) -> tuple[str, bytes] | None:
    raw = request.COOKIES.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=SALT, max_age=LIFETIME)
        sid, key = value["sid"], value["key"].encode()
        base64.urlsafe_b64decode(key)
    except (signing.BadSignature, KeyError, TypeError, AttributeError, ValueError):
        return None
    return sid, key


def state_load(request: HttpRequest, *, for_update: bool = False) -> BrowserState:
    """This browser's state, or a fresh empty one (unknown, expired or tampered cookie).

    With ``for_update`` the row is locked until the caller's transaction ends, so a value
    consumed here (a sign-in's ``state``) cannot be consumed twice by concurrent requests.
    """
    cookie = _read_cookie(request)
    if cookie is None:
        return _fresh()
    sid, key = cookie
    rows = SampleWebSession.objects.filter(sid=sid, expires_at__gt=timezone.now())
    row = (rows.select_for_update() if for_update else rows).first()
    if row is None:
        return _fresh()
    try:
        data = json.loads(Fernet(key).decrypt(bytes(row.data)))
    except (InvalidToken, ValueError):
        return _fresh()
    return BrowserState(sid=sid, key=key, data=data)


def state_save(state: BrowserState, response: HttpResponse | None = None, *, secure: bool = False) -> None:
    """Write the state back; a new one is created (and its cookie set on ``response``)."""
    token = Fernet(state.key).encrypt(json.dumps(state.data).encode())
    if not state.is_new:
        SampleWebSession.objects.filter(sid=state.sid).update(data=token)
        return
    now = timezone.now()
    SampleWebSession.objects.filter(expires_at__lte=now).delete()  # sweep abandoned sessions
    SampleWebSession.objects.create(sid=state.sid, data=token, expires_at=now + LIFETIME)
    state.is_new = False
    if response is not None:
        state_set_cookie(state, response, secure=secure)


def state_set_cookie(state: BrowserState, response: HttpResponse, *, secure: bool) -> None:
    # Lax: the callback is a top-level GET navigation back from the authorization server.
    response.set_cookie(
        COOKIE_NAME,
        state.cookie_value(),
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="Lax",
    )
