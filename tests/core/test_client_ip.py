"""Which IP a request counts as: X-Forwarded-For only from trusted proxies, auth0-forwarded-for only
from trusted confidential applications."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from apps.core.client_ip import client_ip, end_user_ip, ip_in_networks, ip_parse


def request_from(remote_addr: str, forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **headers)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("198.51.100.1", "203.0.113.9")) == "198.51.100.1"


def test_from_an_untrusted_peer_x_forwarded_for_is_ignored(settings):
    # given a trusted proxy range, and a request from outside it claiming another address
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # then the peer is the client
    assert client_ip(request_from("198.51.100.1", "203.0.113.9")) == "198.51.100.1"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        # the proxy appended the client it saw
        ("203.0.113.9", "203.0.113.9"),
        # the client forged an address before it: the right-most untrusted one is the client
        ("6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # a chain of trusted proxies is skipped
        ("6.6.6.6, 203.0.113.9, 10.1.2.3, 10.4.5.6", "203.0.113.9"),
        # a port, IPv6 and IPv4-mapped IPv6 are understood
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        # garbage stops the walk at the nearest address we can vouch for (the proxy)
        ("not-an-ip", "10.0.0.1"),
        ("203.0.113.9, garbage, 10.1.2.3", "10.1.2.3"),
        # only trusted addresses: the left-most of them
        ("10.9.9.9, 10.1.2.3", "10.9.9.9"),
        # an empty header: the proxy itself
        ("", "10.0.0.1"),
    ],
)
def test_from_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(
    settings, forwarded_for, expected
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("10.0.0.1", forwarded_for)) == expected


def test_an_unusable_remote_addr_is_unknown(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("")) is None


def test_ip_matching():
    assert ip_parse(" 2001:DB8::1 ") == ip_parse("2001:db8::1")
    assert ip_in_networks("203.0.113.7", ["203.0.113.0/24"])
    assert ip_in_networks("::ffff:203.0.113.7", ["203.0.113.7"])
    assert not ip_in_networks("203.0.114.7", ["203.0.113.0/24", "bad entry"])
    assert not ip_in_networks(None, ["0.0.0.0/0"])


def application(*, trusted: bool, auth_method: str = "client_secret_post"):
    return SimpleNamespace(
        is_token_endpoint_ip_header_trusted=trusted, token_endpoint_auth_method=auth_method
    )


def test_auth0_forwarded_for_is_used_for_a_trusted_confidential_application():
    assert (
        end_user_ip(peer_ip="192.0.2.1", forwarded_for="203.0.113.9", application=application(trusted=True))
        == "203.0.113.9"
    )


@pytest.mark.parametrize(
    ("app", "forwarded_for"),
    [
        pytest.param(application(trusted=False), "203.0.113.9", id="not trusted"),
        pytest.param(application(trusted=True, auth_method="none"), "203.0.113.9", id="public client"),
        pytest.param(None, "203.0.113.9", id="no application"),
        pytest.param(application(trusted=True), "203.0.113.9, 6.6.6.6", id="not one address"),
        pytest.param(application(trusted=True), "localhost", id="not an address"),
        pytest.param(application(trusted=True), None, id="no header"),
    ],
)
def test_auth0_forwarded_for_is_ignored_otherwise(app, forwarded_for):
    assert end_user_ip(peer_ip="192.0.2.1", forwarded_for=forwarded_for, application=app) == "192.0.2.1"
