"""``make bench``: the token endpoint beside node oidc-provider, then every other row.

What it does, in order (tests/bench/README.md explains how to read the result):

1. installs the reference, node oidc-provider, at its pinned version into
   ``var/bench-reference/`` (reference.py; ``npm ci``, skipped when already installed from
   the same lock file). Without node, or when npm fails, it says so in one line and goes on
   with Portcullis alone;
2. recreates the bench database (its name must contain "bench"), migrates it and creates
   the demo tenant with a SECRET_KEY generated for this run only, timing both steps;
3. times PyJWT signing in this process, one core, RS256 and ES256 (the crypto floor);
4. serves the project exactly as ``make run`` does (granian, WSGI, ``WEB_CONCURRENCY``
   workers) on a free port and times process start -> first token; checks one RS256 and one
   ES256 token (algorithm, audience, signature against the JWKS) and warms up; then the same
   for the reference, on another free port with as many cluster workers;
5. side by side (side_by_side.py): RS256 and ES256 at 16 and 64 connections, ``BENCH_PAIRS``
   pairs of runs alternating ours and theirs, and the RSS of each side's workers after the
   warm-up and after ``BENCH_MEMORY_TOKENS`` of our tokens (topping up our load if the runs
   issued fewer);
6. our other rows: ten token rules, introspection and ``/healthz`` at 16 connections;
7. the end-user rows, all at 16 connections, all through HTTP: it signs the demo end user in
   with ``requests`` (as tests/oauth/user_flow.py does) and drives ``/authorize`` to mint
   authorization codes for a first-party web app that skips consent. Then wrk exchanges
   rotating refresh tokens (each connection chaining the token each response carries), then
   a pool of fresh codes (each sent once, the pool sized for ~``BENCH_SECONDS`` of load),
   then posts the sign-in form (Argon2id) with a CSRF cookie/token pair fetched once;
8. prints the side-by-side table and the table of the other rows in Markdown, writes
   ``var/bench.json`` and exits non-zero if any request failed, so a broken endpoint cannot
   print a pretty table.

Environment: ``DATABASE_URL`` (the Makefile defaults it to the ``portcullis_bench``
database), ``WEB_CONCURRENCY`` (2, for both servers), ``BENCH_SECONDS`` (10 per run),
``BENCH_WARMUP_SECONDS`` (3), ``BENCH_THREADS`` (wrk threads, 2), ``BENCH_PAIRS`` (3 pairs
of alternating runs per cell), ``BENCH_MEMORY_TOKENS`` (100,000), ``BENCH_NODE`` (the node
executable, ``node``), ``BENCH_CODES`` (size of the authorization code pool; by default
0.8 x ``BENCH_SECONDS`` at the rate of a warm-up pool).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jwt
import psycopg
import reference
import requests
import side_by_side
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from harness import (
    HOST,
    ROOT,
    VAR_DIR,
    BenchError,
    CheckedToken,
    LoadResult,
    Served,
    check_one_token,
    ensure_wrk,
    env_int,
    free_port,
    log,
    machine,
    run_wrk,
    stop_process_group,
    wait_for_first_token,
    workers_rss,
)
from psycopg import sql
from side_by_side import OURS, THEIRS, Memory, SideBySide, Target

RESULTS_PATH = VAR_DIR / "bench.json"
SERVER_LOG_PATH = VAR_DIR / "bench-server.log"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portcullis_bench"  # as in the Makefile
CRYPTO_SECONDS = 2.0
TOKEN_CONCURRENCY = (16, 64)
HEALTHZ_CONCURRENCY = 16
USER_CONCURRENCY = 16  # the end-user rows: refresh, code exchange, sign-in
BUSY_WARNING = 0.10  # CPU already in use by others before the load, as a share of all cores
TRACEBACK_CHAINING = ("Traceback", "During handling", "The above exception")


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    database_url: str
    seconds: int
    warmup_seconds: int
    workers: int
    wrk_threads: int
    codes: int | None  # BENCH_CODES: the authorization code pool; None sizes it from a warm-up pool
    pairs: int  # BENCH_PAIRS: alternating runs (ours, theirs) per algorithm and concurrency
    memory_tokens: int  # BENCH_MEMORY_TOKENS: our tokens between the two RSS samples, at least

    @classmethod
    def from_env(cls) -> Config:
        database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise BenchError(f"DATABASE_URL must name a Postgres database, got {database_url!r}")
        return cls(
            database_url=database_url,
            seconds=env_int("BENCH_SECONDS", 10),
            warmup_seconds=env_int("BENCH_WARMUP_SECONDS", 3),
            workers=env_int("WEB_CONCURRENCY", 2),
            wrk_threads=env_int("BENCH_THREADS", 2),
            codes=env_int("BENCH_CODES", 0) or None,
            pairs=env_int("BENCH_PAIRS", 3),
            memory_tokens=env_int("BENCH_MEMORY_TOKENS", 100_000),
        )


# --- results ------------------------------------------------------------------------------------


@dataclass
class CryptoResult:
    algorithm: str
    tokens: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def ms_per_token(self) -> float:
        return 1000 * self.seconds / self.tokens


@dataclass
class Report:
    environment: dict[str, Any]
    token_algorithm: str = ""
    loads: list[LoadResult] = field(default_factory=list)
    crypto: list[CryptoResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the end-user rows were prepared
    side_by_side: SideBySide | None = None  # the token endpoint beside node oidc-provider

    def load(self, what_prefix: str, concurrency: int) -> LoadResult | None:
        return next(
            (r for r in self.loads if r.what.startswith(what_prefix) and r.concurrency == concurrency), None
        )

    def floor(self, algorithm: str) -> CryptoResult | None:
        return next((c for c in self.crypto if c.algorithm == algorithm), None)

    def token_row(self, algorithm: str, concurrency: int) -> LoadResult | None:
        """Our client_credentials run with the median rate among the side-by-side runs."""
        cell = self.side_by_side.cell(algorithm, concurrency) if self.side_by_side else None
        return cell.median_ours() if cell and cell.ours else None


# --- the database and the demo tenant -----------------------------------------------------------


def bench_env(port: int, database_url: str) -> dict[str, str]:
    """The environment of the server and of every manage.py call: one fresh SECRET_KEY per run.

    The key-encryption and client-secret hash keys derive from SECRET_KEY, so the process that
    creates the demo tenant and the server that signs with its keys must share it.
    """
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "PUBLIC_URL"}}
    env.update(
        DATABASE_URL=database_url,  # never the settings' SQLite fallback
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS=f"{HOST},localhost",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    return env


def recreate_database(database_url: str) -> str:
    """Drop and create the bench database through the ``postgres`` maintenance database.

    A fresh database per run is what lets every run use a new SECRET_KEY: the tenant's signing
    keys are encrypted with a key derived from it, so a database left by an earlier run could
    not be signed with. Only a database whose name contains "bench" is ever dropped.
    """
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    name = str(params.get("dbname") or "")
    if "bench" not in name:
        raise BenchError(
            f"refusing to use database {name!r}: make bench drops and recreates its database, so its "
            "name must contain 'bench' (unset DATABASE_URL to use portcullis_bench)."
        )
    params["dbname"] = "postgres"
    try:
        with psycopg.connect(**params, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise BenchError(f"could not recreate database {name!r}: {error}".strip()) from error
    return name


def manage(*args: str, env: dict[str, str]) -> str:
    """Run ``manage.py`` with the bench environment; return its output, show it if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def bootstrap_demo(env: dict[str, str]) -> dict[str, Any]:
    """Create the demo tenant; return its credentials (the JSON ``bootstrap_demo`` writes)."""
    with tempfile.TemporaryDirectory(prefix="portcullis-bench-") as tmp:
        output = Path(tmp) / "demo.json"
        manage("bootstrap_demo", "--quiet", "--output", str(output), env=env)
        return json.loads(output.read_text())


ES256_AUDIENCE = "https://timesheets-es256.example.com"


def add_es256_api(env: dict[str, str], demo: dict[str, Any]) -> None:
    """A second API signed with ES256, granted to the demo M2M client: the same endpoint with
    cheap crypto shows how much of a token is ours rather than RSA's."""
    code = (
        "from apps.apis.services import api_create\n"
        "from apps.applications.models import Application\n"
        "from apps.grants.services import client_grant_create\n"
        "from apps.tenants.models import Tenant\n"
        "tenant = Tenant.objects.get(slug='demo')\n"
        f"api = api_create(tenant=tenant, name='Timesheets (ES256)', identifier={ES256_AUDIENCE!r},\n"
        "                 scopes={'read:timesheets': ''}, signing_alg='ES256')\n"
        f"client = Application.objects.get(client_id={demo['m2m']['client_id']!r})\n"
        "client_grant_create(tenant=tenant, application=client, api=api, scopes=['read:timesheets'])\n"
    )
    manage("shell", "-c", code, env=env)


RULES_TENANT = "bench-rules"
ROW_RULES = "token endpoint, client_credentials, 10 token rules (none match)"


def add_token_rules_tenant(env: dict[str, str]) -> dict[str, Any]:
    """A second tenant shaped like the demo's M2M path (same API, scopes, grant and RS256 key),
    plus ten token rules that do not match its client: four for another application, three for
    another API, three for application metadata it does not have. Its row beside the demo's
    shows what evaluating rules costs a token (the difference between the two is the rules).

    Returns ``{"issuer", "m2m": {...}, "rules_evaluation": {...}}``: the last is the in-process
    cost of ``token_customize`` for this client with no rules and with these ten (best of 5).
    """
    code = (
        "import json, timeit\n"
        "from apps.apis.selectors import api_get_by_identifier\n"
        "from apps.apis.services import api_create\n"
        "from apps.applications.services import AppType, application_create, application_update\n"
        "from apps.grants.services import client_grant_create\n"
        "from apps.oauth.issuer import issuer_for_tenant\n"
        "from apps.tenants.demo import M2M_SCOPES, TIMESHEETS_AUDIENCE, TIMESHEETS_SCOPES\n"
        "from apps.tenants.services import tenant_create\n"
        "from apps.token_rules.evaluation import token_customize\n"
        "from apps.token_rules.selectors import token_rules_compiled\n"
        "from apps.token_rules.services import token_rule_create\n"
        f"tenant = tenant_create(slug={RULES_TENANT!r}, name='Bench (token rules)')\n"
        "api = api_create(tenant=tenant, name='Timesheets API', identifier=TIMESHEETS_AUDIENCE,\n"
        "                 scopes=TIMESHEETS_SCOPES, allow_offline_access=True)\n"
        "other_api = api_create(tenant=tenant, name='Other API', identifier='https://other.example.com',\n"
        "                       scopes={'read:other': ''})\n"
        "created = application_create(tenant=tenant, name='Bench M2M', app_type=AppType.MACHINE_TO_MACHINE)\n"
        "client = application_update(application=created.application, client_metadata={'tier': 'internal'})\n"
        "other = application_create(tenant=tenant, name='Other M2M', app_type=AppType.MACHINE_TO_MACHINE)\n"
        "client_grant_create(tenant=tenant, application=client, api=api, scopes=M2M_SCOPES)\n"
        "for n in range(4):\n"
        "    token_rule_create(tenant=tenant, name=f'other application {n}', application=other.application,\n"
        "                      claims={'https://example.com/plan': 'gold'})\n"
        "for n in range(3):\n"
        "    token_rule_create(tenant=tenant, name=f'other API {n}', api=other_api, remove_scopes=['read:other'])\n"
        "for n in range(3):\n"
        "    token_rule_create(tenant=tenant, name=f'partners only {n}', metadata_key='tier',\n"
        "                      metadata_value='partner', action='deny', deny_message='Partners only.')\n"
        "rules = token_rules_compiled(tenant_id=tenant.pk)\n"
        "assert len(rules) == 10\n"
        "snapshot = api_get_by_identifier(tenant_id=tenant.pk, identifier=TIMESHEETS_AUDIENCE)\n"
        "def run(rules):\n"
        "    return token_customize(rules=rules, tenant_slug=tenant.slug, application_id=client.pk,\n"
        "        client_id=client.client_id, client_metadata=client.client_metadata, api_id=snapshot.id,\n"
        "        audience=snapshot.identifier, granted=frozenset(M2M_SCOPES), scopes=list(M2M_SCOPES))\n"
        "assert not run(rules).refused and not run(rules).claims\n"
        "cost = {label: min(timeit.repeat(lambda: run(r), number=100_000, repeat=5)) * 10 for label, r in\n"
        "        (('no_rules_us', ()), ('ten_rules_us', rules))}\n"
        "print('BENCH_RULES', json.dumps({'issuer': issuer_for_tenant(tenant), 'rules_evaluation': cost,\n"
        "    'm2m': {'client_id': client.client_id, 'client_secret': created.client_secret,\n"
        "            'audience': TIMESHEETS_AUDIENCE}}))\n"
    )
    output = manage("shell", "-c", code, env=env)
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_RULES ")), None)
    if line is None:
        raise BenchError(f"creating the token rules tenant printed no credentials:\n{output}")
    return json.loads(line.removeprefix("BENCH_RULES "))


BENCH_CALLBACK = "https://bench.example.com/cb"


def add_bench_web_app(env: dict[str, str]) -> dict[str, str]:
    """A first-party regular web app (client_secret_post) whose redirect URI is not on localhost.

    The demo's Timesheets API lets first-party applications skip consent and allows offline
    access, so ``/authorize`` answers a signed-in user with a code (and the code a refresh
    token) without a consent page. The demo's own web app redirects to 127.0.0.1, where
    consent is always asked (apps/oauth/authorization/flow.py, ``consent_needed``).
    """
    code = (
        "import json\n"
        "from apps.applications.services import AppType, application_create\n"
        "from apps.tenants.models import Tenant\n"
        "created = application_create(tenant=Tenant.objects.get(slug='demo'), name='Bench web (first party)',\n"
        f"                             app_type=AppType.REGULAR_WEB, callbacks=[{BENCH_CALLBACK!r}],\n"
        "                             grant_types=['authorization_code', 'refresh_token', 'password'])\n"
        "print('BENCH_APP', json.dumps({'client_id': created.application.client_id,\n"
        "                               'client_secret': created.client_secret}))\n"
    )
    output = manage("shell", "-c", code, env=env)
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_APP ")), None)
    if line is None:
        raise BenchError(f"creating the bench web app printed no credentials:\n{output}")
    return json.loads(line.removeprefix("BENCH_APP "))


class ConnectionSampler:
    """Counts the server's Postgres connections to the bench database while a load runs.

    Django keeps one connection per thread that served a request (CONN_MAX_AGE), so this is how
    many the server really holds; Postgres refuses clients past ``max_connections``.
    """

    def __init__(self, database_url: str) -> None:
        params = psycopg.conninfo.conninfo_to_dict(database_url)
        self.database = str(params["dbname"])
        self._params = params | {"dbname": "postgres"}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak = 0

    def count(self, conn: psycopg.Connection) -> int:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.database,),
        ).fetchone()
        return int(row[0]) if row else 0

    def server_settings(self) -> dict[str, int]:
        """max_connections and how many are already taken (by anyone) before the load."""
        with psycopg.connect(**self._params, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT current_setting('max_connections')::int, (SELECT count(*) FROM pg_stat_activity)"
            ).fetchone()
        return {"max_connections": row[0], "connections_in_use_before_load": row[1]} if row else {}

    def _run(self) -> None:
        try:
            with psycopg.connect(**self._params, autocommit=True, connect_timeout=5) as conn:
                while not self._stop.wait(0.25):
                    self.peak = max(self.peak, self.count(conn))
        except psycopg.Error as error:  # e.g. Postgres out of connections: keep the peak seen so far
            log(f"connection sampler stopped: {error}".strip())

    @contextlib.contextmanager
    def sampling(self) -> Iterator[ConnectionSampler]:
        self.peak = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="db-connection-sampler", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


# --- the crypto floor ---------------------------------------------------------------------------


def representative_claims() -> dict[str, Any]:
    """The claims apps/oauth/tokens.py puts in a client_credentials access token."""
    client_id = secrets.token_urlsafe(24)
    now = int(time.time())
    return {
        "iss": "http://127.0.0.1:8000/t/demo/",
        "sub": f"{client_id}@clients",
        "aud": "https://timesheets.example.com",
        "iat": now,
        "exp": now + 86400,
        "jti": secrets.token_hex(16),
        "client_id": client_id,
        "azp": client_id,
        "scope": "read:timesheets",
        "gty": "client-credentials",
    }


def time_signing(algorithm: str, key: Any, seconds: float = CRYPTO_SECONDS) -> CryptoResult:
    """Sign the same claims with ``jwt.encode`` for ``seconds`` in this (single) thread."""
    claims = representative_claims()
    headers = {"typ": "at+jwt", "kid": "bench-key"}
    for _ in range(20):  # warm up (lazy imports, OpenSSL state)
        jwt.encode(claims, key, algorithm=algorithm, headers=headers)
    tokens = 0
    start = time.perf_counter()
    deadline = start + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(10):
            jwt.encode(claims, key, algorithm=algorithm, headers=headers)
        tokens += 10
    return CryptoResult(algorithm=algorithm, tokens=tokens, seconds=now - start)


def crypto_floor() -> list[CryptoResult]:
    """Tokens per second one core can sign with an RSA-2048 and an EC P-256 key object."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return [time_signing("RS256", rsa_key), time_signing("ES256", ec_key)]


# --- the server ---------------------------------------------------------------------------------


def server_command(port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """``python -m config.serve`` -- exactly what ``make run`` execs -- on our port."""
    return [sys.executable, "-m", "config.serve"], {
        "HOST": HOST,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
    }


@contextlib.contextmanager
def running_server(
    port: int, workers: int, env: dict[str, str], *, token_path: str, form: str
) -> Iterator[Served]:
    """Serve the project like ``make run``; yield it once ``token_path`` has issued a token with
    ``form`` (the time that took is its cold start); always stop it."""
    VAR_DIR.mkdir(exist_ok=True)
    base_url = f"http://{HOST}:{port}"
    with SERVER_LOG_PATH.open("wb") as server_log:
        command, serve_env = server_command(port, workers)
        started = time.monotonic()
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env | serve_env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, we stop it
        )
    try:
        seconds = wait_for_first_token(proc, base_url + token_path, form, started=started)
        yield Served(base_url=base_url, pid=proc.pid, first_token_seconds=seconds)
    finally:
        stop_process_group(proc)


def server_log_summary(tail: int = 15) -> str:
    """What the server wrote: its distinct exceptions with counts, or else its last lines."""
    if not SERVER_LOG_PATH.exists():
        return ""
    lines = SERVER_LOG_PATH.read_text(errors="replace").splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    if not tracebacks:
        return "\n".join(lines[-tail:])
    # The exception is the first unindented line after a traceback's indented frames.
    exceptions = Counter(
        line
        for previous, line in itertools.pairwise(lines)
        if previous.startswith(" ") and line.strip() and not line.startswith((" ", *TRACEBACK_CHAINING))
    )
    summary = [f"{tracebacks} traceback(s) (a chained exception counts once per link); exceptions:"]
    summary += [f"  {count} x {line}" for line, count in exceptions.most_common(10)]
    return "\n".join(summary)


# --- the load -----------------------------------------------------------------------------------


def token_form(demo: dict[str, Any], audience: str | None = None) -> str:
    m2m = demo["m2m"]
    return urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": m2m["client_id"],
            "client_secret": m2m["client_secret"],
            "audience": audience or m2m["audience"],
        }
    )


# --- the end user: sign-in, authorization codes, refresh tokens (over HTTP, as a browser) --------


USER_SCOPE = "openid profile email offline_access read:timesheets"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MINT_BUDGET_SECONDS = 30.0  # codes live 60 s: stop minting in time to use the first ones
HTTP_TIMEOUT = 30


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass(frozen=True)
class Code:
    code: str
    verifier: str


class EndUser:
    """The demo end user and the bench web app, driven with ``requests`` like a browser and a
    client would (tests/oauth/user_flow.py): sign in once per session, then each ``/authorize``
    answers with a code at once (first party, consent skipped, redirect URI not on localhost)."""

    def __init__(self, base_url: str, demo: dict[str, Any], app: dict[str, str]) -> None:
        self.base_url = base_url
        self.issuer_path = urllib.parse.urlsplit(demo["issuer"]).path  # /t/demo/
        self.user = demo["user"]
        self.app = app
        self.token_url = f"{base_url}{self.issuer_path}oauth/token"
        self.login_url = f"{base_url}{self.issuer_path}login"
        self._consented = False

    def authorize(self, session: requests.Session) -> Code:
        """GET /authorize with a fresh state, nonce and PKCE pair; sign in if asked; return the code."""
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": self.app["client_id"],
            "redirect_uri": BENCH_CALLBACK,
            "audience": "https://timesheets.example.com",
            "scope": USER_SCOPE,
            "state": state,
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        url = f"{self.base_url}{self.issuer_path}authorize?{urllib.parse.urlencode(params)}"
        response = session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        for _ in range(6):
            if response.status_code != 302:
                break
            location = urllib.parse.urljoin(response.url, response.headers["Location"])
            parts = urllib.parse.urlsplit(location)
            query = dict(urllib.parse.parse_qsl(parts.query))
            if location.startswith(BENCH_CALLBACK):
                if query.get("state") != state or not query.get("code"):
                    raise BenchError(
                        f"/authorize redirected to the client without a code or state: {location}"
                    )
                return Code(code=query["code"], verifier=verifier)
            if parts.path == f"{self.issuer_path}login":
                response = self._sign_in(session, next_path=query.get("next"))
                continue
            response = session.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
        what = "a consent page" if 'name="decision"' in response.text else f"HTTP {response.status_code}"
        raise BenchError(
            f"/authorize did not answer with a code for {BENCH_CALLBACK} but {what}:\n{response.text[:500]}"
        )

    def _sign_in(self, session: requests.Session, *, next_path: str | None) -> requests.Response:
        page = session.get(
            self.login_url, params={"next": next_path} if next_path else None, timeout=HTTP_TIMEOUT
        )
        form = {"csrfmiddlewaretoken": csrf_token_of(page), **self.credentials()}
        if next_path:
            form["next"] = next_path
        response = session.post(
            self.login_url,
            data=form,
            allow_redirects=False,
            headers={"Referer": page.url},
            timeout=HTTP_TIMEOUT,
        )
        if response.status_code != 302:
            raise BenchError(
                f"signing the demo user in failed: HTTP {response.status_code}\n{response.text[:500]}"
            )
        return response

    def credentials(self) -> dict[str, str]:
        return {"username": self.user["username"], "password": self.user["password"]}

    def password_form(self) -> str:
        """The password grant wrk repeats: the demo user, the bench web app, the Timesheets API."""
        return urllib.parse.urlencode(
            {
                "grant_type": "password",
                **self.credentials(),
                "client_id": self.app["client_id"],
                "client_secret": self.app["client_secret"],
                "audience": "https://timesheets.example.com",
                "scope": "openid read:timesheets",
            }
        )

    def mint_codes(
        self, count: int, *, parallel: int, budget_seconds: float = MINT_BUDGET_SECONDS
    ) -> list[Code]:
        """``count`` fresh codes (fewer if ``budget_seconds`` runs out), oldest first.

        ``parallel`` threads, each with its own signed-in session (one Argon2 sign-in each).
        """
        if not self._consented:
            # The first authorization stores the user grant. Concurrent first authorizations of
            # one user and app race to insert it (a 500, apps/grants/services.py user_grant_record),
            # so the first one runs alone.
            self.authorize(requests.Session())
            self._consented = True
        local = threading.local()
        deadline = time.monotonic() + budget_seconds

        def one(_: int) -> Code | None:
            if time.monotonic() > deadline:
                return None
            session = getattr(local, "session", None)
            if session is None:
                local.session = session = requests.Session()
            return self.authorize(session)  # signs in on the first call

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            codes = [code for code in pool.map(one, range(count)) if code is not None]
        return codes

    def code_form(self, code: Code) -> str:
        return urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code.code,
                "redirect_uri": BENCH_CALLBACK,
                "client_id": self.app["client_id"],
                "client_secret": self.app["client_secret"],
                "code_verifier": code.verifier,
            }
        )

    def refresh_form_prefix(self) -> str:
        """The refresh request's body without its refresh_token (bench.lua appends the token)."""
        return urllib.parse.urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": self.app["client_id"],
                "client_secret": self.app["client_secret"],
            }
        )

    def token_request(self, form: str) -> dict[str, Any]:
        """POST the token endpoint; the JSON of a 200, or BenchError with the response."""
        response = requests.post(
            self.token_url,
            data=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=HTTP_TIMEOUT,
        )
        if response.status_code != 200:
            raise BenchError(
                f"POST {self.token_url} failed: HTTP {response.status_code}\n{response.text[:500]}"
            )
        return response.json()

    def refresh_token_families(self, count: int, *, parallel: int) -> list[str]:
        """``count`` refresh tokens, each the start of its own family (one code exchanged each)."""
        codes = self.mint_codes(count, parallel=parallel)
        if len(codes) < count:
            raise BenchError(f"minted only {len(codes)} of {count} codes in {MINT_BUDGET_SECONDS:.0f} s")

        def exchange(code: Code) -> str:
            body = self.token_request(self.code_form(code))
            if not body.get("refresh_token") or not body.get("id_token"):
                raise BenchError(f"the code exchange returned no refresh_token or id_token: {sorted(body)}")
            return body["refresh_token"]

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            return list(pool.map(exchange, codes))

    def check_refresh(self, token: str) -> dict[str, Any]:
        """One refresh before the load: 200, a new refresh token (rotation), and the old one refused."""
        body = self.token_request(
            f"{self.refresh_form_prefix()}&{urllib.parse.urlencode({'refresh_token': token})}"
        )
        if not body.get("refresh_token") or body["refresh_token"] == token:
            raise BenchError(f"a refresh did not rotate the refresh token: {sorted(body)}")
        reuse = requests.post(
            self.token_url,
            data=f"{self.refresh_form_prefix()}&{urllib.parse.urlencode({'refresh_token': token})}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=HTTP_TIMEOUT,
        )
        if reuse.status_code == 200:
            raise BenchError("a rotated refresh token was accepted a second time")
        return body

    def login_request(self) -> tuple[str, dict[str, str]]:
        """The sign-in POST wrk repeats: body and headers, with a CSRF cookie/token pair fetched once.

        Django's CSRF check is stateless (the token is a masked form of the cookie's secret), so
        one pair serves every request; without a session cookie each POST is a fresh sign-in
        (an Argon2id verification, a new session row, an audit event). Origin matches the host.
        """
        page = requests.get(self.login_url, timeout=HTTP_TIMEOUT)
        cookie = page.cookies.get("csrftoken")
        if page.status_code != 200 or not cookie:
            raise BenchError(
                f"GET {self.login_url}: HTTP {page.status_code}, csrftoken cookie {bool(cookie)}"
            )
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf_token_of(page), **self.credentials()})
        headers = {"Cookie": f"csrftoken={cookie}", "Origin": self.base_url, "Referer": self.login_url}
        return body, headers

    def check_login(self, body: str, headers: dict[str, str]) -> None:
        """The exact request wrk will send must sign in: 302 (a 200 is the form again, a failure)."""
        response = requests.post(
            self.login_url,
            data=body,
            headers=headers | {"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        if response.status_code != 302:
            raise BenchError(
                f"the sign-in POST did not redirect: HTTP {response.status_code}\n{response.text[:500]}"
            )


def csrf_token_of(page: requests.Response) -> str:
    match = CSRF_RE.search(page.text)
    if not match:
        raise BenchError(f"no csrfmiddlewaretoken in {page.url}: HTTP {page.status_code}\n{page.text[:300]}")
    return match.group(1)


def run_load(
    report: Report,
    config: Config,
    wrk: str,
    served: Served,
    demo: dict[str, Any],
    app: dict[str, str],
    sampler: ConnectionSampler,
    rules_tenant: dict[str, Any],
    installed: reference.Installed | None,
) -> None:
    """The token endpoint beside the reference, then our other rows: a tenant with ten token
    rules, introspection, /healthz and the end-user rows."""
    ours = our_target(served.base_url, demo)
    run_side_by_side(report, config, wrk, served, ours, demo, sampler, installed)
    run_rules_row(report, config, wrk, served.base_url, rules_tenant, sampler)
    run_introspection_row(report, config, wrk, ours.token_url, demo, sampler)
    log(f"/healthz, c{HEALTHZ_CONCURRENCY}, {config.seconds} s")
    with sampler.sampling():
        result = run_wrk(
            wrk,
            "/healthz (framework floor)",
            f"{served.base_url}/healthz",
            concurrency=HEALTHZ_CONCURRENCY,
            seconds=config.seconds,
            threads=config.wrk_threads,
        )
    result.peak_db_connections = sampler.peak
    report.loads.append(result)
    run_user_rows(report, config, wrk, EndUser(served.base_url, demo, app), sampler)


# --- side by side with node oidc-provider ---------------------------------------------------------


def our_target(base_url: str, demo: dict[str, Any]) -> Target:
    """The demo's token endpoint and its M2M client's bodies for the RS256 and the ES256 API."""
    return Target(
        name=OURS,
        token_url=base_url + urllib.parse.urlsplit(demo["issuer"]).path + "oauth/token",
        forms={"RS256": token_form(demo), "ES256": token_form(demo, audience=ES256_AUDIENCE)},
    )


def audiences(demo: dict[str, Any]) -> dict[str, str]:
    """The API of each algorithm; the reference serves the same identifiers as resources."""
    return {"RS256": demo["m2m"]["audience"], "ES256": ES256_AUDIENCE}


def check_tokens(target: Target, audience: dict[str, str], jwks_url: str) -> dict[str, CheckedToken]:
    """One token per algorithm, each checked for its algorithm, audience and signature."""
    checked = {
        algorithm: check_one_token(
            target.token_url, form, algorithm=algorithm, audience=audience[algorithm], jwks_url=jwks_url
        )
        for algorithm, form in target.forms.items()
    }
    log(
        f"{target.name}: one token per API OK ("
        + ", ".join(f"{alg}, kid {c.header.get('kid')}" for alg, c in checked.items())
        + "), signatures verified against its JWKS"
    )
    return checked


def warm_up(report: Report, config: Config, wrk: str, target: Target) -> None:
    log(f"warm-up: {target.name}, RS256, c{TOKEN_CONCURRENCY[0]}, {config.warmup_seconds} s")
    warmup = run_wrk(
        wrk,
        f"warm-up, {target.name}",
        target.token_url,
        concurrency=TOKEN_CONCURRENCY[0],
        seconds=config.warmup_seconds,
        threads=config.wrk_threads,
        body=target.forms["RS256"],
    )
    if warmup.errors:
        report.loads.append(warmup)  # keep it visible: it fails the run


def run_side_by_side(
    report: Report,
    config: Config,
    wrk: str,
    served: Served,
    ours: Target,
    demo: dict[str, Any],
    sampler: ConnectionSampler,
    installed: reference.Installed | None,
) -> None:
    """Check and warm up both servers, alternate their runs, and sample their workers' memory.

    The reference is started only now, and stopped right after its runs; ours serves on.
    Without it (``installed`` is None) the same runs measure ours alone.
    """
    sbs = report.side_by_side
    assert sbs is not None
    sbs.first_token_seconds[OURS] = served.first_token_seconds
    issuer_url = served.base_url + urllib.parse.urlsplit(demo["issuer"]).path
    audience = audiences(demo)
    checked = check_tokens(ours, audience, issuer_url + ".well-known/jwks.json")
    report.token_algorithm = checked["RS256"].algorithm
    sbs.claims[OURS] = list(checked["RS256"].claims)
    warm_up(report, config, wrk, ours)
    sbs.memory[OURS] = Memory(after_warmup=workers_rss(served.pid))

    def measure(target: Target, algorithm: str, concurrency: int) -> LoadResult:
        what = f"{target.name}, client_credentials, {algorithm}"
        run = {"concurrency": concurrency, "seconds": config.seconds, "threads": config.wrk_threads}
        if target.name != OURS:
            return run_wrk(wrk, what, target.token_url, body=target.forms[algorithm], **run)
        with sampler.sampling():
            result = run_wrk(wrk, what, target.token_url, body=target.forms[algorithm], **run)
        result.peak_db_connections = sampler.peak
        return result

    alternate = {"concurrencies": TOKEN_CONCURRENCY, "pairs": config.pairs, "measure": measure}
    if installed is None:
        sbs.cells = side_by_side.alternate(ours, None, **alternate)
    else:
        client = reference.Client.generate(audience)
        port = free_port()
        log(
            f"starting {reference.NAME} {installed.package_version} on {HOST}:{port}, {config.workers} workers"
        )
        try:
            with reference.running(installed, port, config.workers, client) as theirs_served:
                theirs = Target(
                    name=THEIRS,
                    token_url=theirs_served.base_url + reference.TOKEN_PATH,
                    forms={algorithm: client.token_form(algorithm) for algorithm in audience},
                )
                sbs.first_token_seconds[THEIRS] = theirs_served.first_token_seconds
                checked = check_tokens(theirs, audience, theirs_served.base_url + reference.JWKS_PATH)
                sbs.claims[THEIRS] = list(checked["RS256"].claims)
                warm_up(report, config, wrk, theirs)
                memory = sbs.memory[THEIRS] = Memory(after_warmup=workers_rss(theirs_served.pid))
                sbs.cells = side_by_side.alternate(ours, theirs, **alternate)
                memory.after = workers_rss(theirs_served.pid)
                memory.tokens = sum(r.requests for cell in sbs.cells for r in cell.theirs)
        except BenchError as error:
            tail = reference.log_tail()
            raise BenchError(f"{error}\n{reference.NAME} wrote ({reference.LOG_PATH}):\n{tail}") from error
        sbs.stored = reference.stored_models()
        sbs.runtime_warning = reference.runtime_warning()
    top_up_memory(report, config, wrk, served, ours)


def top_up_memory(report: Report, config: Config, wrk: str, served: Served, ours: Target) -> None:
    """Our workers' RSS once at least ``BENCH_MEMORY_TOKENS`` tokens have been issued since the
    warm-up sample: the side-by-side runs count, and more RS256 load at c16 makes up the rest."""
    sbs = report.side_by_side
    assert sbs is not None
    issued = sum(r.requests for cell in sbs.cells for r in cell.ours)
    median = report.token_row("RS256", TOKEN_CONCURRENCY[0])
    rate = median.rps if median is not None else 100.0
    for _ in range(3):  # the first estimate is usually enough; never loop for long
        missing = config.memory_tokens - issued
        if missing <= 0:
            break
        seconds = math.ceil(missing / max(rate, 1.0) * 1.1) + 1
        log(
            f"memory: {missing:,} more tokens to reach BENCH_MEMORY_TOKENS={config.memory_tokens:,}: {seconds} s"
        )
        result = run_wrk(
            wrk,
            "memory top-up, RS256",
            ours.token_url,
            concurrency=TOKEN_CONCURRENCY[0],
            seconds=seconds,
            threads=config.wrk_threads,
            body=ours.forms["RS256"],
        )
        if result.errors:
            report.loads.append(result)  # keep it visible: it fails the run
        issued += result.requests
        rate = result.rps
    memory = sbs.memory[OURS]
    memory.after = workers_rss(served.pid)
    memory.tokens = issued


ROW_INTROSPECT = "introspection (RFC 7662), an active RS256 M2M token"


def run_introspection_row(
    report: Report, config: Config, wrk: str, token_url: str, demo: dict[str, Any], sampler: ConnectionSampler
) -> None:
    """The demo's M2M client introspecting one of its own tokens (client_secret_post), at c16.

    The same token every time: introspection verifies the signature, the issuer, the expiry and
    the deny list on each request (nothing is cached per token), so this is the real cost.
    """
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(token_url, data=token_form(demo), headers=form_headers, timeout=HTTP_TIMEOUT)
    token = response.json().get("access_token") if response.status_code == 200 else None
    if not token:
        raise BenchError(f"no token to introspect: HTTP {response.status_code} {response.text[:300]}")
    url = token_url.removesuffix("oauth/token") + "oauth/introspect"
    m2m = demo["m2m"]
    body = urllib.parse.urlencode(
        {"token": token, "client_id": m2m["client_id"], "client_secret": m2m["client_secret"]}
    )
    check = requests.post(url, data=body, headers=form_headers, timeout=HTTP_TIMEOUT)
    if check.status_code != 200 or check.json().get("active") is not True:
        raise BenchError(
            f"introspection did not find the token active: HTTP {check.status_code} {check.text[:300]}"
        )
    concurrency = TOKEN_CONCURRENCY[0]
    log(f"{ROW_INTROSPECT}, c{concurrency}, {config.seconds} s")
    with sampler.sampling():
        result = run_wrk(
            wrk,
            ROW_INTROSPECT,
            url,
            concurrency=concurrency,
            body=body,
            seconds=config.seconds,
            threads=config.wrk_threads,
        )
    result.peak_db_connections = sampler.peak
    report.loads.append(result)


def introspection_notes(report: Report, cores: int) -> list[str]:
    result = report.load(ROW_INTROSPECT, TOKEN_CONCURRENCY[0])
    if result is None:
        return []
    return [
        f"introspection at c{TOKEN_CONCURRENCY[0]}: {result.rps:,.0f}/s = **{result.rps / cores:,.0f}/s per core** "
        "(target >= 1,000 per core; issue 6)"
    ]


def run_rules_row(
    report: Report,
    config: Config,
    wrk: str,
    base_url: str,
    rules_tenant: dict[str, Any],
    sampler: ConnectionSampler,
) -> None:
    """The same client_credentials load against the tenant with ten non-matching token rules."""
    url = base_url + urllib.parse.urlsplit(rules_tenant["issuer"]).path + "oauth/token"
    form = token_form(rules_tenant)
    check_one_token(url, form)
    concurrency = TOKEN_CONCURRENCY[0]
    log(f"{ROW_RULES}, c{concurrency}, {config.seconds} s")
    with sampler.sampling():
        result = run_wrk(
            wrk,
            ROW_RULES,
            url,
            concurrency=concurrency,
            body=form,
            seconds=config.seconds,
            threads=config.wrk_threads,
        )
    result.peak_db_connections = sampler.peak
    report.loads.append(result)


def rules_notes(report: Report, rules_tenant: dict[str, Any]) -> list[str]:
    """The rules row against the demo's row at the same concurrency, and the in-process cost."""
    concurrency = TOKEN_CONCURRENCY[0]
    plain = report.token_row(report.token_algorithm, concurrency)
    rules = report.load(ROW_RULES, concurrency)
    cost = rules_tenant.get("rules_evaluation", {})
    lines = []
    if plain is not None and rules is not None:
        lines.append(
            f"token rules: c{concurrency} with ten non-matching rules / without rules: "
            f"**{rules.rps / plain.rps:.2f}** (tenant {RULES_TENANT!r}, same API, grant and key as demo; "
            "against the median of our side-by-side runs, just before)"
        )
    if cost:
        lines.append(
            f"token rules, in-process evaluation per token (token_customize, 1 core): "
            f"{cost['no_rules_us']:.1f} µs without rules, {cost['ten_rules_us']:.1f} µs with the ten"
        )
    return lines


# What issue 5 asks of the end-user rows at c16 (reported against, not asserted).
TARGETS = {"refresh": 400.0, "code": 300.0, "login_per_core": 20.0}
ROW_REFRESH = "token endpoint, refresh_token (rotating)"
ROW_CODE = "token endpoint, authorization_code + PKCE"
ROW_LOGIN = "sign-in form POST (Argon2id), 302 = success"
ROW_PASSWORD = "token endpoint, password grant (Argon2id)"


def run_user_rows(
    report: Report, config: Config, wrk: str, user: EndUser, sampler: ConnectionSampler
) -> None:
    """Refresh with rotation, then the code exchange, then the sign-in form; all at c16."""
    c = USER_CONCURRENCY
    parallel = config.workers * 4  # as many requests in flight as the server has threads (config/serve.py)
    common = {"concurrency": c, "threads": config.wrk_threads}

    def measured(what: str, url: str, **kwargs: Any) -> LoadResult:
        with sampler.sampling():
            result = run_wrk(wrk, what, url, **common, **kwargs)
        result.peak_db_connections = sampler.peak
        report.loads.append(result)
        return result

    # Refresh tokens: 2c + 1 families (c for the warm-up, c for the row, one for the check).
    log(f"end user: signing in, minting {2 * c + 1} codes through /authorize and exchanging them")
    started = time.monotonic()
    families = user.refresh_token_families(2 * c + 1, parallel=parallel)
    log(f"  {len(families)} refresh token families in {time.monotonic() - started:.1f} s")
    checked = user.check_refresh(families.pop())
    suffix = token_kinds(checked)
    log(f"one refresh OK ({suffix}); the rotated token is refused on reuse")
    prefix = user.refresh_form_prefix()
    log(f"warm-up: refresh_token, c{c}, {config.warmup_seconds} s")
    warmup = run_wrk(
        wrk, f"warm-up, {ROW_REFRESH}", user.token_url, seconds=config.warmup_seconds, body=prefix,
        mode="chain", items=families[:c], **common,
    )  # fmt: skip
    if warmup.errors:
        report.loads.append(warmup)
    log(f"refresh_token (rotating, each connection chaining its family), c{c}, {config.seconds} s")
    refresh = measured(
        f"{ROW_REFRESH}, {suffix}", user.token_url, seconds=config.seconds, body=prefix, mode="chain",
        items=families[c:],
    )  # fmt: skip

    # Authorization codes: single use, 60 s: mint each pool right before its run. A warm-up pool
    # (about BENCH_WARMUP_SECONDS of load at the refresh row's rate) measures the exchange rate,
    # which sizes the row's pool for about 0.8 x BENCH_SECONDS (BENCH_CODES overrides).
    warm_codes = mint_pool(user, max(4 * c, round(refresh.rps * config.warmup_seconds)), parallel)
    log(f"warm-up: authorization_code exchange, c{c}, {len(warm_codes)} codes")
    warmup = run_wrk(
        wrk, f"warm-up, {ROW_CODE}", user.token_url, seconds=60, mode="pool",
        items=[user.code_form(code) for code in warm_codes], **common,
    )  # fmt: skip
    if warmup.errors:
        report.loads.append(warmup)
    pool_size = config.codes or max(20 * c, min(8000, round(warmup.rps * config.seconds * 0.8)))
    started = time.monotonic()
    codes = mint_pool(user, pool_size, parallel)
    minted_in = time.monotonic() - started
    report.notes.append(
        f"authorization codes: {len(codes)} minted through /authorize in {minted_in:.1f} s "
        f"({len(codes) / minted_in:,.0f}/s, {parallel} signed-in sessions)"
        + (
            f", short of the {pool_size} asked: minting stops after {MINT_BUDGET_SECONDS:.0f} s"
            if len(codes) < pool_size
            else ""
        )
        + "; each is exchanged once, the row lasts until the pool is used up"
    )
    log(f"authorization_code exchange, c{c}, {len(codes)} codes, each sent once")
    measured(
        f"{ROW_CODE}, {suffix}", user.token_url, seconds=60, mode="pool",
        items=[user.code_form(code) for code in codes],
    )  # fmt: skip

    # The sign-in form: one CSRF pair, every POST a full sign-in.
    body, headers = user.login_request()
    user.check_login(body, headers)
    log(f"sign-in form POST, c{c}, {config.seconds} s")
    measured(ROW_LOGIN, user.login_url, seconds=config.seconds, body=body, headers=headers, expect=302)

    # The password grant: a sign-in at the token endpoint (Argon2id, attack protection, a user grant,
    # an audit event) and the user's tokens (access + ID token rows).
    form = user.password_form()
    checked = user.token_request(form)
    log(f"one password grant OK ({token_kinds(checked)}); password grant, c{c}, {config.seconds} s")
    measured(f"{ROW_PASSWORD}, {token_kinds(checked)}", user.token_url, seconds=config.seconds, body=form)


def mint_pool(user: EndUser, size: int, parallel: int) -> list[Code]:
    log(f"end user: minting {size} codes through /authorize ({parallel} signed-in sessions)")
    codes = user.mint_codes(size, parallel=parallel)
    if len(codes) < USER_CONCURRENCY:
        raise BenchError(
            f"minted only {len(codes)} codes in {MINT_BUDGET_SECONDS:.0f} s; is the server failing?"
        )
    return codes


def token_kinds(response: dict[str, Any]) -> str:
    """'RS256 + ID token RS256': the algorithms of what one token response signs."""
    kinds = jwt.get_unverified_header(response["access_token"]).get("alg", "?")
    if response.get("id_token"):
        kinds += f" + ID token {jwt.get_unverified_header(response['id_token']).get('alg', '?')}"
    return kinds


def cpu_busy_fraction(seconds: float = 1.0) -> float | None:
    """Share of all cores busy over ``seconds`` (Linux /proc/stat); None where unavailable.

    Measured before the server starts: anything above a few percent is someone else's work
    competing with the benchmark, and the numbers will be low and noisy.
    """

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


# --- the report ---------------------------------------------------------------------------------


SERVER_ENV_KNOBS = ("CONN_MAX_AGE", "CONFIG_CACHE_SECONDS", "REDIS_URL", "LOG_LEVEL")


def environment(
    config: Config,
    wrk: str,
    database: str,
    postgres: dict[str, int],
    busy: float | None,
    installed: reference.Installed | str,
) -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split()
    return {
        "machine": machine(),
        "cores": os.cpu_count(),
        "cpu_busy_before_load": busy,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "django_oauth_toolkit": version("django-oauth-toolkit"),
        "pyjwt": version("pyjwt"),
        "cryptography": version("cryptography"),
        "granian": version("granian"),
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "?",
        # The reference's versions, or why it was not measured.
        "reference": installed.describe()
        if isinstance(installed, reference.Installed)
        else {"unavailable": installed},
        "workers": config.workers,
        "wrk_threads": config.wrk_threads,
        "seconds": config.seconds,
        "warmup_seconds": config.warmup_seconds,
        "pairs": config.pairs,
        "memory_tokens": config.memory_tokens,
        "database": database,
        "postgres": postgres,
        "cache": "redis" if os.environ.get("REDIS_URL") else "locmem (REDIS_URL unset)",
        "config_cache_seconds": os.environ.get("CONFIG_CACHE_SECONDS", "5"),
        # Anything that changes how the server runs, so a result can be read (GRANIAN_* too).
        "server_env": {
            k: ("(set)" if k == "REDIS_URL" else v)
            for k, v in sorted(os.environ.items())
            if k in SERVER_ENV_KNOBS or k.startswith("GRANIAN_")
        },
    }


def ratios(report: Report) -> dict[str, float]:
    """token / healthz at c16, and token / (signing floor x cores) at each concurrency."""
    out: dict[str, float] = {}
    cores = report.environment["cores"] or 1
    healthz = report.load("/healthz", HEALTHZ_CONCURRENCY)
    floor = report.floor(report.token_algorithm)
    for concurrency in TOKEN_CONCURRENCY:
        token = report.token_row(report.token_algorithm, concurrency)
        if token is None:
            continue
        if healthz is not None and concurrency == HEALTHZ_CONCURRENCY:
            out[f"token_c{concurrency}_over_healthz_c{HEALTHZ_CONCURRENCY}"] = token.rps / healthz.rps
        if floor is not None:
            out[f"token_c{concurrency}_over_{floor.algorithm}_floor_x_cores"] = token.rps / (
                floor.per_second * cores
            )
    return out


def all_loads(report: Report) -> list[LoadResult]:
    """Every wrk run of the report: the rows, and each side-by-side run of both servers."""
    runs = (
        [r for cell in report.side_by_side.cells for r in (*cell.ours, *cell.theirs)]
        if report.side_by_side
        else []
    )
    return [*runs, *report.loads]


def markdown(report: Report) -> str:
    env = report.environment
    lines = []
    if report.side_by_side is not None and report.side_by_side.cells:
        lines += [
            f"### client_credentials: {OURS} beside node {THEIRS}",
            "",
            *side_by_side.markdown(report.side_by_side, env["machine"]),
            "",
            f"### {OURS}: the other rows",
            "",
        ]
    lines += [
        "| what | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in report.loads:
        lines.append(
            f"| {r.what} | {r.concurrency} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} |"
        )
    for c in report.crypto:
        label = f"PyJWT {c.algorithm} sign, 1 core" + (" (crypto floor)" if c.algorithm == "RS256" else "")
        lines.append(f"| {label} | - | {c.per_second:,.0f} | - | - | - |")
    lines.append("")
    for name, value in ratios(report).items():
        lines.append(f"- {name.replace('_', ' ')}: **{value:.2f}**")
    lines += user_targets(report)
    lines += [f"- {note}" for note in report.notes]
    floors = ", ".join(f"{c.algorithm} {c.ms_per_token:.3f} ms" for c in report.crypto)
    lines += [
        f"- signing cost per token, 1 core: {floors}",
        f"- machine: {env['cores']} cores ({env['platform']}); wrk {env['wrk']} with "
        f"{env['wrk_threads']} threads on the same machine",
        f"- CPU already busy before the load (other processes): {_percent(env['cpu_busy_before_load'])}"
        + ("; WARNING: shared, busy machine, numbers are low and noisy" if _busy(env) else ""),
        f"- server: granian {env['granian']} --interface wsgi, {env['workers']} workers; "
        f"cache {env['cache']}, CONFIG_CACHE_SECONDS={env['config_cache_seconds']}",
        f"- Python {env['python']}, Django {env['django']}, django-oauth-toolkit "
        f"{env['django_oauth_toolkit']}, PyJWT {env['pyjwt']}, cryptography {env['cryptography']}",
        f"- {env['seconds']} s per row after a {env['warmup_seconds']} s warm-up",
    ]
    if env["server_env"]:
        lines.append(f"- server environment: {' '.join(f'{k}={v}' for k, v in env['server_env'].items())}")
    cells = report.side_by_side.cells if report.side_by_side else []
    peaks = ", ".join(
        [
            f"client_credentials ({cell.algorithm}) c{cell.concurrency}: {max(peaks)}"
            for cell in cells
            if (peaks := [r.peak_db_connections for r in cell.ours if r.peak_db_connections is not None])
        ]
        + [
            f"{short_label(r.what)} c{r.concurrency}: {r.peak_db_connections}"
            for r in report.loads
            if r.peak_db_connections is not None
        ]
    )
    if peaks:
        pg = env["postgres"]
        lines.append(
            f"- peak Postgres connections the server held during each row (persistent, so they "
            f"carry over): {peaks} (max_connections "
            f"{pg.get('max_connections')}, {pg.get('connections_in_use_before_load')} in use before the load)"
        )
    for r in all_loads(report):
        if r.errors:
            lines.append(
                f"- ERRORS in '{r.what}' c{r.concurrency}: statuses {r.statuses} (expected {r.expected_status}), "
                f"socket {r.socket_errors}"
                + (f", {r.lost} codes never answered" if r.lost else "")
                + (f", {r.parked} connections starved of a refresh token" if r.parked else "")
            )
    return "\n".join(lines)


def short_label(what: str) -> str:
    """'client_credentials (ES256)', 'refresh_token', 'sign-in form POST': for the notes."""
    if what.startswith("token endpoint, "):
        grant = what.split(", ")[1].split(" ")[0]
        return (
            grant + (" (ES256)" if "ES256" in what else "") + (" (10 rules)" if "token rules" in what else "")
        )
    return what.split(" (")[0].split(",")[0]


def user_targets(report: Report) -> list[str]:
    """The end-user rows against issue 5's targets, and sign-ins per core."""
    cores = report.environment["cores"] or 1
    refresh = report.load(ROW_REFRESH, USER_CONCURRENCY)
    code = report.load(ROW_CODE, USER_CONCURRENCY)
    login = report.load(ROW_LOGIN, USER_CONCURRENCY)
    password = report.load(ROW_PASSWORD, USER_CONCURRENCY)
    parts = []
    if refresh is not None:
        parts.append(f"refresh {refresh.rps:,.0f}/s (target >= {TARGETS['refresh']:.0f})")
    if code is not None:
        parts.append(f"code exchange {code.rps:,.0f}/s (target >= {TARGETS['code']:.0f})")
    if login is not None:
        parts.append(
            f"sign-in {login.rps:,.1f}/s = **{login.rps / cores:.1f}/s per core** "
            f"(target >= {TARGETS['login_per_core']:.0f} per core)"
        )
    if password is not None:
        parts.append(f"password grant {password.rps:,.1f}/s = **{password.rps / cores:.1f}/s per core**")
    lines = [f"- end-user rows at c{USER_CONCURRENCY}: " + "; ".join(parts)] if parts else []
    if code is not None:
        lines.append(
            f"- the code exchange row ran {code.seconds:.1f} s (until its pool of codes was used up); "
            "its rate is requests / (last response - first request)"
        )
    return lines


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0%}"


def _busy(env: dict[str, Any]) -> bool:
    return (env["cpu_busy_before_load"] or 0) > BUSY_WARNING


def write_json(report: Report) -> None:
    VAR_DIR.mkdir(exist_ok=True)
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": report.environment,
        "token_algorithm": report.token_algorithm,
        "loads": [asdict(r) | {"errors": r.errors} for r in report.loads],
        "crypto": [
            asdict(c) | {"per_second": c.per_second, "ms_per_token": c.ms_per_token} for c in report.crypto
        ],
        "ratios": ratios(report),
        "notes": report.notes,
        "side_by_side": side_by_side.as_json(report.side_by_side) if report.side_by_side else None,
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2) + "\n")


# --- main ---------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    log("terminated")
    raise SystemExit(128 + signum)


def main() -> int:
    # Both unwind through the finally blocks, which stop the servers. SIGINT is set explicitly
    # because a shell starting us in the background would have it ignored.
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = Config.from_env()
    wrk = ensure_wrk()
    installed = reference.install()
    if isinstance(installed, str):
        log(f"{reference.NAME} not measured: {installed}; measuring {OURS} alone")
    else:
        log(f"{reference.NAME} {installed.package_version} on Node.js {installed.node_version}: ready")
    port = free_port()
    env = bench_env(port, config.database_url)

    # What `make run` does before serving, timed: on a fresh database, like a fresh clone's.
    setup_seconds: dict[str, float] = {}
    database = recreate_database(config.database_url)
    log(f"database {database} recreated; migrating")
    started = time.monotonic()
    manage("migrate", "--noinput", "-v", "0", env=env)
    setup_seconds["migrate"] = time.monotonic() - started
    started = time.monotonic()
    demo = bootstrap_demo(env)
    setup_seconds["bootstrap_demo"] = time.monotonic() - started
    add_es256_api(env, demo)
    app = add_bench_web_app(env)
    rules_tenant = add_token_rules_tenant(env)
    log(
        "demo tenant created (plus an ES256 API and a first-party web app for the end-user rows), "
        f"and tenant {RULES_TENANT!r} with ten token rules"
    )

    sampler = ConnectionSampler(config.database_url)
    busy = cpu_busy_fraction()
    if busy is not None and busy > BUSY_WARNING:
        log(f"warning: the machine is already {busy:.0%} busy without the benchmark; results will be low")
    report = Report(
        environment=environment(config, wrk, database, sampler.server_settings(), busy, installed)
    )
    report.side_by_side = SideBySide(
        pairs=config.pairs,
        seconds=config.seconds,
        reference=installed.describe() | {"workers": str(config.workers)}
        if isinstance(installed, reference.Installed)
        else None,
        unavailable=installed if isinstance(installed, str) else None,
        setup_seconds=setup_seconds,
    )
    log(f"crypto floor: PyJWT signing, {CRYPTO_SECONDS:.0f} s per algorithm")
    report.crypto = crypto_floor()

    log(f"starting granian on {HOST}:{port} with {config.workers} workers")
    token_path = urllib.parse.urlsplit(demo["issuer"]).path + "oauth/token"
    try:
        with running_server(
            port, config.workers, env, token_path=token_path, form=token_form(demo)
        ) as served:
            log(f"first token {served.first_token_seconds:.2f} s after starting the server")
            run_load(
                report,
                config,
                wrk,
                served,
                demo,
                app,
                sampler,
                rules_tenant,
                installed if isinstance(installed, reference.Installed) else None,
            )
        report.notes += rules_notes(report, rules_tenant)
        report.notes += introspection_notes(report, os.cpu_count() or 1)
    except BenchError as error:
        log(f"error: {error}")
        output = server_log_summary()
        if output:
            log(f"server output ({SERVER_LOG_PATH.relative_to(ROOT)}):\n{output}")
        return 1

    write_json(report)
    print(markdown(report))
    output = server_log_summary()
    if output:
        log(f"the server wrote to {SERVER_LOG_PATH.relative_to(ROOT)}:\n{output}")
    log(f"results written to {RESULTS_PATH.relative_to(ROOT)}")
    failed = [r for r in all_loads(report) if r.errors]
    if failed:
        log("FAILED: some requests errored (see the table); the numbers above are not valid")
        return 1
    if report.side_by_side.stored:
        log(f"FAILED: {reference.NAME} stored {', '.join(report.side_by_side.stored)}: not like for like")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        log(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
