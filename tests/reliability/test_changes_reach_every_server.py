"""Changes made on one server (or by an admin) reach every server sharing Postgres and Redis within
the documented windows: a disabled client is refused everywhere within ``CONFIG_SYNC_SECONDS``, and a
token revoked on one server is inactive on the other within ``DENY_LIST_CACHE_SECONDS``."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
import requests
from django.core.cache import caches

from apps.applications.services import application_update
from tests.conftest import make_m2m_setup
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The documented windows (settings' defaults with REDIS_URL), plus time for a loaded machine.
SLACK_SECONDS = 2.0


def _until(condition, *, seconds: float) -> float:
    """Poll ``condition`` until it holds; how long it took (fails after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_client_disabled_by_an_admin_is_refused_by_every_server(two_servers, shared_redis, settings):
    # given two servers that have both issued tokens to an M2M client (its config cached in each)
    settings.REDIS_URL = shared_redis
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": shared_redis}}
    caches._settings = None
    setup = make_m2m_setup()
    urls = [running.base_url + setup.token_path() for running in two_servers]
    for url in urls:
        assert requests.post(url, data=setup.form(), timeout=10).status_code == HTTPStatus.OK

    # when an admin disables the client (published through Redis on commit)
    application_update(application=setup.application, is_active=False)

    # then each server refuses it within the sync window
    for url in urls:
        _until(
            lambda url=url: (
                requests.post(url, data=setup.form(), timeout=10).status_code == HTTPStatus.UNAUTHORIZED
            ),
            seconds=settings.CONFIG_SYNC_SECONDS + SLACK_SECONDS,
        )


def test_a_token_revoked_on_one_server_is_inactive_on_the_other(two_servers):
    # given a token, introspected as active on the second server
    setup = make_m2m_setup()
    first, second = (running.base_url + f"/t/{setup.tenant.slug}/oauth" for running in two_servers)
    token = requests.post(f"{first}/token", data=setup.form(), timeout=10).json()["access_token"]
    auth = {"client_id": setup.client_id, "client_secret": setup.client_secret}
    api_client = ApplicationFactory(tenant=setup.tenant)  # introspects, as a resource server would

    def active_on_second() -> bool:
        answer = requests.post(
            f"{second}/introspect",
            data={"token": token},
            auth=(api_client.client_id, api_client.plaintext_secret),
            # behind one load balancer both servers see one host, so one issuer
            headers={"Host": two_servers[0].base_url.removeprefix("http://")},
            timeout=10,
        )
        assert answer.status_code == HTTPStatus.OK, answer.text
        return answer.json()["active"]

    assert active_on_second()

    # when it is revoked (RFC 7009) on the first server
    revoked = requests.post(f"{first}/revoke", data={"token": token, **auth}, timeout=10)
    assert revoked.status_code == HTTPStatus.OK

    # then the second server says it is inactive within the deny list's memo time
    _until(lambda: not active_on_second(), seconds=1.0 + SLACK_SECONDS)
