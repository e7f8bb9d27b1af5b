import cProfile
import io
import os
import pstats
import time
from urllib.parse import urlencode

import pytest
from django.db import connection

from tests.oauth.user_flow import authorize, exchange, location_params, make_user_setup, pkce_pair

pytestmark = pytest.mark.django_db(transaction=True)


def wsgi_post(app, path, body):
    data = body.encode()
    import io as _io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(data)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.input": _io.BytesIO(data),
        "wsgi.url_scheme": "http",
        "wsgi.errors": _io.StringIO(),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"] = status

    chunks = b"".join(app(environ, start_response))
    return out["status"], chunks


def test_prof(http, settings):
    settings.ALLOWED_HOSTS = ["*"]
    import json

    setup = make_user_setup()
    setup.verifier, setup.challenge = pkce_pair()
    tokens = []
    for i in range(int(os.environ.get("N", "300")) // 10 + 1):
        setup.verifier, setup.challenge = pkce_pair()
        r = authorize(http, setup)
        code = location_params(r)["code"]
        body = exchange(http, setup, code).json()
        tokens.append(body["refresh_token"])
    from config.wsgi import application

    path = f"{setup.issuer_path}oauth/token"
    prefix = urlencode(
        {
            "grant_type": "refresh_token",
            "client_id": setup.application.client_id,
            "client_secret": setup.application.plaintext_secret,
        }
    )

    def one(i):
        t = tokens[i % len(tokens)]
        status, body = wsgi_post(application, path, prefix + "&" + urlencode({"refresh_token": t}))
        assert status.startswith("200"), body
        tokens[i % len(tokens)] = json.loads(body)["refresh_token"]

    if os.environ.get("SSB"):
        connection.close()
        connection.settings_dict.setdefault("OPTIONS", {})["server_side_binding"] = True
        connection.settings_dict["OPTIONS"]["prepare_threshold"] = 2
    for i in range(50):
        one(i)
    n = int(os.environ.get("N", "300"))
    with connection.cursor() as c:
        c.execute("select pg_backend_pid()")
        pid = c.fetchone()[0]

    def pgcpu():
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    t0 = time.process_time()
    w0 = time.perf_counter()
    p0 = pgcpu()
    for i in range(n):
        one(i)
    cpu = (time.process_time() - t0) / n * 1000
    wall = (time.perf_counter() - w0) / n * 1000
    pg = (pgcpu() - p0) / n * 1000
    print(f"\nper refresh: cpu {cpu:.2f} ms, postgres {pg:.2f} ms, wall {wall:.2f} ms")
    if os.environ.get("NOPROF"):
        return
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as q:
        one(0)
    for x in q.captured_queries:
        print(x["time"], x["sql"][:150])
    pr = cProfile.Profile()
    pr.enable()
    for i in range(n):
        one(i)
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(45)
    print(s.getvalue()[:12000])
