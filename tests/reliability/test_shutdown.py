"""SIGTERM under load: requests in flight finish, the server exits cleanly, the token log is flushed.

An orchestrator stops a pod with SIGTERM. The server (granian) stops accepting, lets its workers
finish what they are serving, and each worker flushes the token log's queue as it exits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from http import HTTPStatus

import pytest
import requests

from apps.audit.models import TokenEvent
from tests.conftest import make_m2m_setup
from tests.reliability.conftest import SIZE
from tests.reliability.servers import server

pytestmark = pytest.mark.django_db(transaction=True)

# A request sent this long before SIGTERM has been accepted by the server, even on a busy machine.
IN_FLIGHT_MARGIN = 0.5


def test_sigterm_under_load_finishes_in_flight_requests_and_flushes_the_token_log(tmp_path):
    # given a server that writes its token log only every 30 s (so only the exit flush can write it)
    setup = make_m2m_setup()
    env = {"TOKEN_LOG_FLUSH_SECONDS": "30"}
    with server(tmp_path / "server.log", workers=1, threads=4, env=env) as running:
        url = running.base_url + setup.token_path()
        outcomes: list[tuple[float, str]] = []  # (when the request was sent, what came of it)
        lock = threading.Lock()
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                sent_at = time.monotonic()
                try:
                    # a new connection per request: a refusal then means "not accepted", never "dropped"
                    response = requests.post(
                        url, data=setup.form(), timeout=30, headers={"Connection": "close"}
                    )
                    outcome = str(response.status_code)
                except requests.ConnectionError as error:
                    outcome = "refused" if "Connection refused" in str(error) else f"dropped: {error}"
                with lock:
                    outcomes.append((sent_at, outcome))
                if not outcome.isdigit():
                    return  # the server is going away: this client stops

        threads = [threading.Thread(target=load, daemon=True) for _ in range(SIZE.load_threads)]
        for thread in threads:
            thread.start()
        time.sleep(2)

        # when the orchestrator sends SIGTERM to the server (its main process) under load
        sigterm_at = time.monotonic()
        os.kill(running.process.pid, signal.SIGTERM)
        exit_code = running.process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    # then it exited cleanly; every request sent well before the signal (the server had accepted
    # it) was answered with a token; later ones got a token or found the server gone (a connection
    # still in the kernel's backlog when the server stops listening is reset, never answered badly)
    assert exit_code == 0, running.output()[-2000:]
    before = Counter(outcome for sent_at, outcome in outcomes if sent_at < sigterm_at - IN_FLIGHT_MARGIN)
    around = Counter(outcome for sent_at, outcome in outcomes if sent_at >= sigterm_at - IN_FLIGHT_MARGIN)
    assert set(before) == {str(HTTPStatus.OK)}, before
    assert all(outcome == str(HTTPStatus.OK) or not outcome.isdigit() for outcome in around), around
    answered = sum(1 for _, outcome in outcomes if outcome == str(HTTPStatus.OK))
    assert answered > 20
    # and every token it issued is in the token log
    logged = TokenEvent.objects.filter(
        tenant=setup.tenant, type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS
    ).count()
    assert logged == answered, (logged, answered, running.output()[-2000:])
