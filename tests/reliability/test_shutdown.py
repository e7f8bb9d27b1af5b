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


def test_sigterm_under_load_finishes_in_flight_requests_and_flushes_the_token_log(tmp_path):
    # given a server that writes its token log only every 30 s (so only the exit flush can write it)
    setup = make_m2m_setup()
    env = {"TOKEN_LOG_FLUSH_SECONDS": "30"}
    with server(tmp_path / "server.log", workers=1, threads=4, env=env) as running:
        url = running.base_url + setup.token_path()
        outcomes: Counter = Counter()
        lock = threading.Lock()
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    # a new connection per request: a refusal then means "not accepted", never "dropped"
                    response = requests.post(
                        url, data=setup.form(), timeout=30, headers={"Connection": "close"}
                    )
                    outcome = str(response.status_code)
                except requests.ConnectionError as error:
                    outcome = "refused" if "Connection refused" in str(error) else f"dropped: {error}"
                with lock:
                    outcomes[outcome] += 1
                if outcome == "refused":
                    return

        threads = [threading.Thread(target=load, daemon=True) for _ in range(SIZE.load_threads)]
        for thread in threads:
            thread.start()
        time.sleep(2)

        # when the orchestrator sends SIGTERM to the server (its main process) under load
        os.kill(running.process.pid, signal.SIGTERM)
        exit_code = running.process.wait(timeout=30)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    # then it exited cleanly, every request it accepted was answered, none with an error
    assert exit_code == 0, running.log()[-2000:]
    answered = outcomes[str(HTTPStatus.OK)]
    assert answered > 20
    assert set(outcomes) <= {str(HTTPStatus.OK), "refused"}, outcomes
    # and every token it issued is in the token log
    logged = TokenEvent.objects.filter(
        tenant=setup.tenant, type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS
    ).count()
    assert logged == answered, (logged, answered, running.log()[-2000:])
