"""The address a request came from, for rate limits, attack protection and audit data.

``client_ip(request)`` is the peer the server itself saw (``REMOTE_ADDR``), which a client
cannot forge. Behind a reverse proxy or load balancer that is the proxy's address, so every
client would share one bucket: list the proxies in ``settings.TRUSTED_PROXIES`` (IPs or CIDR
ranges, from the ``TRUSTED_PROXIES`` environment variable) and, for a request whose peer is one
of them, the client is read from ``X-Forwarded-For``: the right-most address that is not itself
a trusted proxy (each proxy appends the peer it saw, so everything left of that address was
written by the client and may be forged). From any other peer ``X-Forwarded-For`` is ignored.

``end_user_ip(...)`` is the end user's address for a request a backend makes on their behalf
(the password grant): Auth0's ``auth0-forwarded-for`` header, honoured only from a confidential
client the tenant admin marked as trusted for it (``Application.is_token_endpoint_ip_header_trusted``).
Auth0: "Avoid common issues with the password flow and attack protection".
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Auth0's header: the end user's IP, sent by a trusted backend calling the token endpoint.
AUTH0_FORWARDED_FOR_HEADER = "auth0-forwarded-for"
FORWARDED_FOR_META = "HTTP_X_FORWARDED_FOR"
# A header this long is not a list of proxies but an attempt to make us parse garbage.
MAX_FORWARDED_FOR_LENGTH = 2048


def ip_parse(value: str | None) -> IPAddress | None:
    """``value`` as an IP address (IPv4-mapped IPv6 addresses as IPv4), or None if it is not one.

    Accepts what proxies write in ``X-Forwarded-For``: surrounding spaces, ``[v6]`` brackets and
    an IPv4 ``address:port``.
    """
    if not value:
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1] or [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_networks_parse(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """IPs and CIDR ranges (``10.0.0.0/8``, ``2001:db8::/32``, ``192.0.2.1``) as networks.

    Raises ``ValueError`` naming the first entry that is neither.
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
    return tuple(networks)


@functools.lru_cache(maxsize=256)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parsed once per distinct list (settings and tenants' allowlists are small and rarely change)."""
    networks = []
    for entry in entries:
        try:
            networks.extend(ip_networks_parse([entry]))
        except ValueError:
            continue  # a hand-edited bad entry matches nothing; the services never store one
    return tuple(networks)


def ip_in_networks(ip: str | IPAddress | None, entries: Iterable[str]) -> bool:
    """Whether ``ip`` is one of ``entries`` (IPs or CIDR ranges); an unknown IP is in none."""
    address = ip if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address) else ip_parse(ip)
    if address is None:
        return False
    return any(address in network for network in _networks(tuple(entries)))


@functools.lru_cache(maxsize=4096)
def _canonical(remote_addr: str) -> str | None:
    """``REMOTE_ADDR`` in canonical form: the token log records it for every token request, and a
    server sees the same few peers again and again (parsing one costs microseconds)."""
    peer = ip_parse(remote_addr)
    return str(peer) if peer is not None else None


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address in canonical form, or None when it cannot be told.

    ``REMOTE_ADDR``, unless that is a trusted proxy (``settings.TRUSTED_PROXIES``): then the
    right-most ``X-Forwarded-For`` address that is not a trusted proxy.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXIES
    if not trusted:
        return _canonical(remote_addr)
    peer = ip_parse(remote_addr)
    if peer is None or not ip_in_networks(peer, trusted):
        return str(peer) if peer is not None else None
    forwarded = request.META.get(FORWARDED_FOR_META, "")
    if not forwarded or len(forwarded) > MAX_FORWARDED_FOR_LENGTH:
        return str(peer)
    nearest_trusted = peer
    for hop in reversed(forwarded.split(",")):
        address = ip_parse(hop)
        if address is None:
            # Only a client writes garbage, so everything from here on is the client's word:
            # the closest address we can vouch for is the proxy that received it.
            break
        if not ip_in_networks(address, trusted):
            return str(address)
        nearest_trusted = address
    return str(nearest_trusted)


def end_user_ip(*, peer_ip: str | None, forwarded_for: str | None, application) -> str | None:
    """The end user's IP for a request a backend makes on their behalf (the password grant).

    ``forwarded_for`` is the ``auth0-forwarded-for`` header's value. It is used only when
    ``application`` (already authenticated by the caller) is confidential
    (``token_endpoint_auth_method`` is not ``none``) and its admin marked it trusted for the
    header (``is_token_endpoint_ip_header_trusted``), and only when it is one IP address; in
    every other case the header is ignored and the answer is ``peer_ip``.
    """
    if (
        forwarded_for
        and application is not None
        and getattr(application, "is_token_endpoint_ip_header_trusted", False)
        and getattr(application, "token_endpoint_auth_method", "none") != "none"
    ):
        address = ip_parse(forwarded_for) if len(forwarded_for) <= MAX_FORWARDED_FOR_LENGTH else None
        if address is not None:
            return str(address)
    return peer_ip
