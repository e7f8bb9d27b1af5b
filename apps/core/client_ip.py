"""The address a request came from, for rate limits and audit data.

``REMOTE_ADDR`` only: it is the peer the server itself saw, which a client cannot forge.
Behind a reverse proxy or load balancer that is the proxy's address, so every client shares
one rate-limit bucket; a deployment there must have the proxy (or a WSGI middleware that
trusts exactly that proxy) set ``REMOTE_ADDR`` to the real client. ``X-Forwarded-For`` is
never read here: any client can send one.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The peer's IP address in canonical form, or None when ``REMOTE_ADDR`` is not an address."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


def end_user_ip(*, peer_ip: str | None, forwarded_for: str | None, application) -> str | None:
    """The end user's IP for a request a backend makes on their behalf (the password grant).

    Auth0's ``auth0-forwarded-for`` header names the user's address, but only a confidential
    client the admin trusts for it may set it; from anyone else it is ignored.
    """
    return peer_ip
