"""Postgres goes away under load: M2M tokens keep coming, writes get 503 + Retry-After, no 500s,
and the server recovers by itself, with the token log complete.

A real server (``config.serve``) reaches the test database through ``PostgresProxy``; cutting the
proxy is a stopped Postgres as the server sees it (connections dropped, the port refusing).
Configuration is cached for 1 s only, so during the outage every cached entry expires and is
served stale (``CONFIG_STALE_IF_ERROR_SECONDS``), which is what the test exercises.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http import HTTPStatus

import jwt
import pytest
import requests
from django.db import connection

from apps.audit.models import TokenEvent
from tests.conftest import make_m2m_setup
from tests.reliability.conftest import SIZE
from tests.reliability.dbproxy import PostgresProxy
from tests.reliability.servers import live_database_url, server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def proxy():
    params = connection.settings_dict
    running = PostgresProxy(
        target_host=params["HOST"] or "127.0.0.1", target_port=int(params["PORT"] or 5432)
    )
    yield running
    running.cut()


class Load:
    """Threads requesting client_credentials tokens until stopped; every answer is kept with its time."""

    def __init__(self, base_url: str, setup, threads: int) -> None:
        self.url = base_url + setup.token_path()
        self.form = setup.form()
        self.results: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    response = session.post(self.url, data=self.form, timeout=10)
                    token = response.json().get("access_token", "") if response.ok else response.text[:200]
                    self.results.append((time.monotonic(), response.status_code, token))
                except requests.RequestException as error:
                    self.results.append((time.monotonic(), 0, repr(error)))

    def between(self, start: float, end: float) -> list[tuple[float, int, str]]:
        return [result for result in self.results if start <= result[0] < end]


def test_a_database_outage_under_load_keeps_m2m_tokens_flowing_and_answers_writes_503(proxy, tmp_path):
    # given a server whose only way to the database is the proxy, warmed up with one token
    setup = make_m2m_setup()
    url = live_database_url(host="127.0.0.1", port=proxy.port)
    env = {"CONFIG_CACHE_SECONDS": "1", "TOKEN_LOG_FLUSH_SECONDS": "0.5", "CONN_MAX_AGE": "600"}
    with server(tmp_path / "server.log", database_url=url, workers=1, threads=4, env=env) as running:
        base = running.base_url
        first = requests.post(base + setup.token_path(), data=setup.form(), timeout=10)
        assert first.status_code == HTTPStatus.OK, first.text
        jwks = requests.get(f"{base}/t/{setup.tenant.slug}/.well-known/jwks.json", timeout=10).json()
        signing_keys = {key["kid"]: jwt.PyJWK(key) for key in jwks["keys"]}

        # when Postgres goes away for a while under load
        with Load(base, setup, SIZE.load_threads) as load:
            time.sleep(1.5)
            outage_start = time.monotonic()
            proxy.cut()
            time.sleep(1.5)  # every cached entry is now past its 1 s lifetime
            revocation = requests.post(
                f"{base}/t/{setup.tenant.slug}/oauth/revoke",
                data={"token": first.json()["access_token"], **_client_auth(setup)},
                timeout=10,
            )
            discovery = requests.get(
                f"{base}/t/{setup.tenant.slug}/.well-known/openid-configuration", timeout=10
            )
            ready_during = requests.get(f"{base}/health/ready", timeout=10)
            time.sleep(max(0.0, SIZE.outage_seconds - 1.5))
            outage_end = time.monotonic()
            proxy.restore()
            time.sleep(3)
            revocation_after = requests.post(
                f"{base}/t/{setup.tenant.slug}/oauth/revoke",
                data={"token": first.json()["access_token"], **_client_auth(setup)},
                timeout=10,
            )
            ready_after = requests.get(f"{base}/health/ready", timeout=10)
            time.sleep(1)

        # then no request failed with a 500 (or at all), and tokens kept coming during the outage
        statuses = Counter(status for _, status, _ in load.results)
        assert set(statuses) == {HTTPStatus.OK}, (statuses, running.output()[-3000:])
        during = load.between(outage_start + 1.5, outage_end)
        assert len(during) > 20, "tokens must keep being issued during the outage"
        for _, _, token in during[:: max(1, len(during) // 20)]:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, signing_keys[header["kid"]], algorithms=[header["alg"]], audience=setup.api.identifier
            )
            assert claims["sub"] == f"{setup.client_id}@clients"
        # and a request that must write was told to retry, in the protocol's JSON
        assert revocation.status_code == HTTPStatus.SERVICE_UNAVAILABLE, revocation.text
        assert revocation.headers["Retry-After"].isdigit()
        assert revocation.json()["error"] == "temporarily_unavailable"
        # and read-only endpoints were served from the cache
        assert discovery.status_code == HTTPStatus.OK
        # and the server stayed in its Service: ready, saying it serves from its cache
        assert ready_during.status_code == HTTPStatus.OK, ready_during.text
        assert ready_during.json()["status"] == "degraded"
        assert ready_during.json()["checks"]["database"] == "unreachable"
        assert ready_after.json()["status"] == "ok", ready_after.text
        # and the same process recovered without a restart: the write now succeeds
        assert running.process.poll() is None
        assert revocation_after.status_code == HTTPStatus.OK, revocation_after.text
        # and the token log lost nothing: every issued token is in it once the queue has flushed
        issued = statuses[HTTPStatus.OK] + 1
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            logged = TokenEvent.objects.filter(
                tenant=setup.tenant, type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS
            ).count()
            if logged >= issued:
                break
            time.sleep(0.5)
        assert logged == issued
        assert "Traceback" not in running.output()


def _client_auth(setup) -> dict[str, str]:
    return {"client_id": setup.client_id, "client_secret": setup.client_secret}
