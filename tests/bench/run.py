"""``make bench``: token endpoint throughput against the framework floor and the crypto floor.

What it does, in order (tests/bench/README.md explains how to read the result):

1. recreates the bench database (its name must contain "bench"), migrates it and creates
   the demo tenant with a SECRET_KEY generated for this run only;
2. times PyJWT signing in this process, one core, RS256 and ES256 (the crypto floor);
3. serves the project exactly as ``make run`` does (granian, WSGI, ``WEB_CONCURRENCY``
   workers) on a free port, checks that one client_credentials request gets a token, then
   drives the token endpoint with wrk at 16 and 64 connections and ``/healthz`` at 16;
4. prints a Markdown table, writes ``var/bench.json`` and exits non-zero if any request
   failed, so a broken endpoint cannot print a pretty table.

Environment: ``DATABASE_URL`` (the Makefile defaults it to the ``portcullis_bench``
database), ``WEB_CONCURRENCY`` (2), ``BENCH_SECONDS`` (10 per scenario),
``BENCH_WARMUP_SECONDS`` (3), ``BENCH_THREADS`` (wrk threads, 2).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "bench.lua"
VAR_DIR = ROOT / "var"
RESULTS_PATH = VAR_DIR / "bench.json"
SERVER_LOG_PATH = VAR_DIR / "bench-server.log"
HOST = "127.0.0.1"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portcullis_bench"  # as in the Makefile
CRYPTO_SECONDS = 2.0
HEALTH_TIMEOUT_SECONDS = 30.0
TOKEN_CONCURRENCY = (16, 64)
HEALTHZ_CONCURRENCY = 16
BUSY_WARNING = 0.10  # CPU already in use by others before the load, as a share of all cores
TRACEBACK_CHAINING = ("Traceback", "During handling", "The above exception")


class BenchError(Exception):
    """A step failed; the message says which and what to do."""


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    database_url: str
    seconds: int
    warmup_seconds: int
    workers: int
    wrk_threads: int

    @classmethod
    def from_env(cls) -> Config:
        database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise BenchError(f"DATABASE_URL must name a Postgres database, got {database_url!r}")
        return cls(
            database_url=database_url,
            seconds=_env_int("BENCH_SECONDS", 10),
            warmup_seconds=_env_int("BENCH_WARMUP_SECONDS", 3),
            workers=_env_int("WEB_CONCURRENCY", 2),
            wrk_threads=_env_int("BENCH_THREADS", 2),
        )


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BenchError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise BenchError(f"{name} must be at least 1, got {value}")
    return value


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- results ------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One wrk run, as reported by bench.lua's done()."""

    what: str
    url: str
    concurrency: int
    seconds: int
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: dict[str, int]
    non200: int
    statuses: dict[str, int]
    peak_db_connections: int | None = None

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values()) + self.non200


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

    def load(self, what_prefix: str, concurrency: int) -> LoadResult | None:
        return next(
            (r for r in self.loads if r.what.startswith(what_prefix) and r.concurrency == concurrency), None
        )

    def floor(self, algorithm: str) -> CryptoResult | None:
        return next((c for c in self.crypto if c.algorithm == algorithm), None)


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


def manage(*args: str, env: dict[str, str]) -> None:
    """Run ``manage.py`` with the bench environment; show its output if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_command(port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """``python -m config.serve`` -- exactly what ``make run`` execs -- on our port."""
    return [sys.executable, "-m", "config.serve"], {
        "HOST": HOST,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
    }


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # The master may be gone while a worker lingers: make sure the whole group is.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_until_healthy(proc: subprocess.Popen, base_url: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with status {proc.returncode} before answering /healthz")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"the server did not answer {base_url}/healthz within {HEALTH_TIMEOUT_SECONDS:.0f} s")


@contextlib.contextmanager
def running_server(port: int, workers: int, env: dict[str, str]) -> Iterator[str]:
    """Serve the project like ``make run``; yield its base URL; always stop it."""
    VAR_DIR.mkdir(exist_ok=True)
    with SERVER_LOG_PATH.open("wb") as server_log:
        command, serve_env = server_command(port, workers)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env | serve_env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, we stop it
        )
    base_url = f"http://{HOST}:{port}"
    try:
        wait_until_healthy(proc, base_url)
        yield base_url
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


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("wrk is not installed; install it (Debian/Ubuntu: sudo apt-get install -y wrk).")
    log("wrk not found: installing Debian's package")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("could not install wrk with apt-get; install it and run make bench again.")
    return found


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


def check_one_token(token_url: str, form: str) -> dict[str, Any]:
    """One request before the load: it must get a 200 with an access token. Returns its JWT header."""
    request = urllib.request.Request(
        token_url,
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode(errors="replace")
    except OSError as error:
        raise BenchError(f"POST {token_url} failed: {error}") from error
    try:
        token = json.loads(body)["access_token"] if status == 200 else None
    except (ValueError, KeyError, TypeError):
        token = None
    if not token:
        raise BenchError(f"POST {token_url} did not return a token: HTTP {status}\n{body}")
    return jwt.get_unverified_header(token)


def run_wrk(
    wrk: str,
    what: str,
    url: str,
    *,
    concurrency: int,
    seconds: int,
    threads: int,
    body: str | None = None,
) -> LoadResult:
    """Drive ``url`` with wrk through bench.lua and parse the line its done() prints."""
    command = [
        wrk,
        "--threads",
        str(min(threads, concurrency)),
        "--connections",
        str(concurrency),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "--script",
        str(LUA_SCRIPT),
        url,
    ]
    env = os.environ | {"BENCH_METHOD": "POST" if body else "GET", "BENCH_BODY": body or ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed (status {done.returncode}):\n{done.stdout}{done.stderr}")
    stats = json.loads(line.removeprefix("BENCH_RESULT "))
    errors = stats["errors"]
    latency = stats["latency_us"]
    return LoadResult(
        what=what,
        url=url,
        concurrency=concurrency,
        seconds=seconds,
        requests=stats["requests"],
        rps=stats["requests"] / (stats["duration_us"] / 1e6),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        socket_errors={k: errors[k] for k in ("connect", "read", "write", "timeout")},
        non200=errors["non200"],
        statuses=stats["statuses"],
    )


def run_load(
    report: Report, config: Config, wrk: str, base_url: str, demo: dict[str, Any], sampler: ConnectionSampler
) -> None:
    """Warm up, then the token endpoint at each concurrency, then /healthz."""
    token_url = base_url + urllib.parse.urlsplit(demo["issuer"]).path + "oauth/token"
    form = token_form(demo)
    header = check_one_token(token_url, form)
    report.token_algorithm = header.get("alg", "?")
    log(f"one token request OK ({report.token_algorithm}, kid {header.get('kid')})")

    token_what = f"token endpoint, client_credentials, {report.token_algorithm}"
    common = {"seconds": config.seconds, "threads": config.wrk_threads}
    log(f"warm-up: token endpoint, c{TOKEN_CONCURRENCY[0]}, {config.warmup_seconds} s")
    warmup = run_wrk(
        wrk,
        "warm-up",
        token_url,
        concurrency=TOKEN_CONCURRENCY[0],
        seconds=config.warmup_seconds,
        threads=config.wrk_threads,
        body=form,
    )
    if warmup.errors:
        report.loads.append(warmup)  # keep it visible: it fails the run
    for concurrency in TOKEN_CONCURRENCY:
        log(f"token endpoint, c{concurrency}, {config.seconds} s")
        with sampler.sampling():
            result = run_wrk(wrk, token_what, token_url, concurrency=concurrency, body=form, **common)
        result.peak_db_connections = sampler.peak
        report.loads.append(result)
    es256_form = token_form(demo, audience=ES256_AUDIENCE)
    check_one_token(token_url, es256_form)
    log(f"token endpoint, ES256 API, c{TOKEN_CONCURRENCY[0]}, {config.seconds} s")
    with sampler.sampling():
        result = run_wrk(
            wrk,
            "token endpoint, client_credentials, ES256 API",
            token_url,
            concurrency=TOKEN_CONCURRENCY[0],
            body=es256_form,
            **common,
        )
    result.peak_db_connections = sampler.peak
    report.loads.append(result)
    log(f"/healthz, c{HEALTHZ_CONCURRENCY}, {config.seconds} s")
    with sampler.sampling():
        result = run_wrk(
            wrk,
            "/healthz (framework floor)",
            f"{base_url}/healthz",
            concurrency=HEALTHZ_CONCURRENCY,
            **common,
        )
    result.peak_db_connections = sampler.peak
    report.loads.append(result)


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
    config: Config, wrk: str, database: str, postgres: dict[str, int], busy: float | None
) -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split()
    return {
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
        "workers": config.workers,
        "wrk_threads": config.wrk_threads,
        "seconds": config.seconds,
        "warmup_seconds": config.warmup_seconds,
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
        token = report.load("token endpoint", concurrency)
        if token is None:
            continue
        if healthz is not None and concurrency == HEALTHZ_CONCURRENCY:
            out[f"token_c{concurrency}_over_healthz_c{HEALTHZ_CONCURRENCY}"] = token.rps / healthz.rps
        if floor is not None:
            out[f"token_c{concurrency}_over_{floor.algorithm}_floor_x_cores"] = token.rps / (
                floor.per_second * cores
            )
    return out


def markdown(report: Report) -> str:
    env = report.environment
    lines = [
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
    peaks = ", ".join(
        f"{r.what.split(',')[0]}{' (ES256)' if 'ES256' in r.what else ''} c{r.concurrency}: {r.peak_db_connections}"
        for r in report.loads
        if r.peak_db_connections is not None
    )
    if peaks:
        pg = env["postgres"]
        lines.append(
            f"- peak Postgres connections the server held during each row (persistent, so they "
            f"carry over): {peaks} (max_connections "
            f"{pg.get('max_connections')}, {pg.get('connections_in_use_before_load')} in use before the load)"
        )
    for r in report.loads:
        if r.errors:
            lines.append(
                f"- ERRORS in '{r.what}' c{r.concurrency}: statuses {r.statuses}, socket {r.socket_errors}"
            )
    return "\n".join(lines)


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
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2) + "\n")


# --- main ---------------------------------------------------------------------------------------


def _raise_on_sigterm(signum: int, frame: Any) -> None:
    log("terminated")
    raise SystemExit(128 + signum)


def main() -> int:
    # Both unwind through the finally blocks, which stop the server. SIGINT is set explicitly
    # because a shell starting us in the background would have it ignored.
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = Config.from_env()
    wrk = ensure_wrk()
    port = free_port()
    env = bench_env(port, config.database_url)

    database = recreate_database(config.database_url)
    log(f"database {database} recreated; migrating")
    manage("migrate", "--noinput", "-v", "0", env=env)
    demo = bootstrap_demo(env)
    add_es256_api(env, demo)
    log("demo tenant created (plus an ES256 API)")

    sampler = ConnectionSampler(config.database_url)
    busy = cpu_busy_fraction()
    if busy is not None and busy > BUSY_WARNING:
        log(f"warning: the machine is already {busy:.0%} busy without the benchmark; results will be low")
    report = Report(environment=environment(config, wrk, database, sampler.server_settings(), busy))
    log(f"crypto floor: PyJWT signing, {CRYPTO_SECONDS:.0f} s per algorithm")
    report.crypto = crypto_floor()

    log(f"starting granian on {HOST}:{port} with {config.workers} workers")
    try:
        with running_server(port, config.workers, env) as base_url:
            run_load(report, config, wrk, base_url, demo, sampler)
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
    failed = [r for r in report.loads if r.errors]
    if failed:
        log("FAILED: some requests errored (see the table); the numbers above are not valid")
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
