"""``make scale``: does a request cost more when the database holds 10,000 tenants?

One run measures the same things against two databases: one nearly empty (the demo tenant only)
and one with ``SCALE_TENANTS`` more tenants of ``SCALE_APPS_PER_TENANT`` applications each
(10,000 x 10 by default), seeded before any measurement. Both are served at once by fresh server
processes (cold per-process caches), warmed up, and every row is measured on both, alternating
between them (the wrk rows row by row, the admin pages GET by GET), so that the load of other
work on a shared machine falls on both alike. It measures:

- the token endpoint (the demo's M2M client, ``client_credentials``, RS256) at 16 connections,
  discovery and JWKS at 16 connections, all with wrk, as ``make bench`` does;
- seeded database only: tokens for ``SCALE_SPREAD_TENANTS`` seeded tenants in turn (one M2M client
  each), so the per-process config cache holds a working set of many tenants;
- in a ``manage.py shell`` (one process, one thread): a token request right after the config
  cache expired (its 7 queries) and warm, for the demo's client and, seeded, a seeded tenant's;
- the admin's changelists (applications, APIs, tenants, users), signed in over HTTP as the demo's
  tenant admin, as a superuser, and as a superuser filtering to the demo tenant (the same rows in
  both phases): median and p90 of ``SCALE_PAGE_GETS`` sequential GETs, the page's size and rows,
  and its SQL queries (rendered once more in the shell, counted with CaptureQueriesContext).

Then it EXPLAINs every SELECT the token path (cold cache, the demo's and a seeded client) and the
admin pages run on the seeded database, and names any sequential scan of a big table (apart from
the superuser's unfiltered count of every row, which it times instead).

It prints a table (metric, empty, seeded, seeded/empty) and writes ``var/scale.json``. It exits
non-zero when a request failed, a page did not answer 200, a page runs more queries when seeded,
or a hot query scans a big table. Latency ratios are reported, not judged: on a shared 2-core
machine they are noisy (the notes give the load average before the run).

Reuses ``run.py`` (``make bench``) for the database, the server, wrk and its Lua script.
Environment: ``DATABASE_URL`` (default the ``portcullis_bench_scale`` database, seeded; the nearly
empty one is named the same plus ``_empty``; the names must contain "bench": both are dropped and
recreated), ``WEB_CONCURRENCY`` (2 per server), ``BENCH_THREADS`` (2),
``SCALE_TENANTS`` (10000), ``SCALE_APPS_PER_TENANT`` (10), ``SCALE_SECONDS`` (8 per wrk row),
``SCALE_WARMUP_SECONDS`` (3), ``SCALE_PAGE_GETS`` (20), ``SCALE_SPREAD_TENANTS`` (1000).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import harness  # tests/bench/harness.py: wrk, its Lua script, ports, errors
import psycopg
import requests
import run as bench  # tests/bench/run.py, make bench: the database, the demo tenant, the server

ROOT = harness.ROOT
RESULTS_PATH = harness.VAR_DIR / "scale.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portcullis_bench_scale"  # as in the Makefile
CONCURRENCY = 16
BIG_TABLE_ROWS = 1000  # EXPLAIN: a sequential scan of a table this big (estimated rows) is a finding
SUPERUSER = "scale-root"
PAGES = {
    "applications": "/admin/applications/application/",
    "APIs": "/admin/apis/api/",
    "tenants": "/admin/tenants/tenant/",
    "users": "/admin/accounts/user/",
}
WHO_TENANT_ADMIN = "tenant admin"
WHO_SUPERUSER = "superuser"
WHO_SUPERUSER_DEMO = "superuser, demo tenant only"  # the same rows in both phases: filtered by tenant


@dataclass(frozen=True)
class PageView:
    """An admin changelist as one portal user: ``who`` labels it, ``admin`` picks the sign-in."""

    page: str
    who: str
    admin: str  # a key of the admins' credentials: WHO_TENANT_ADMIN or WHO_SUPERUSER
    path: str


def page_views(demo_tenant_id: int) -> list[PageView]:
    """Every page as the demo's tenant admin, as a superuser, and as a superuser filtering to the
    demo tenant (same rows in both phases, so only the number of tenants differs). The tenants
    list has no tenant filter, so it has no third view."""
    views = [PageView(page, WHO_TENANT_ADMIN, WHO_TENANT_ADMIN, path) for page, path in PAGES.items()]
    views += [PageView(page, WHO_SUPERUSER, WHO_SUPERUSER, path) for page, path in PAGES.items()]
    views += [
        PageView(page, WHO_SUPERUSER_DEMO, WHO_SUPERUSER, f"{path}?tenant__id__exact={demo_tenant_id}")
        for page, path in PAGES.items()
        if page != "tenants"
    ]
    return views


COUNTED_TABLES = {
    "tenants": "tenants_tenant",
    "applications": "applications_application",
    "APIs": "apis_api",
    "client grants": "grants_clientgrant",
    "signing keys": "tenants_signingkey",
    "users": "accounts_user",
}
HTTP_TIMEOUT = 30
TOKEN_FIELDS = ("client_id", "client_secret", "audience")
# Above this share of the empty phase's latency (or below its inverse for rates), a row is marked
# in the table. Not a failure: shared-machine noise alone can move a row this much.
NOTICEABLE = 1.5
NOTICEABLE_MS = 2.0  # and a latency must have grown by this much: fractions of a millisecond are timer noise


def log(message: str) -> None:
    print(f"scale: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Config:
    database_url: str
    tenants: int
    apps_per_tenant: int
    seconds: int
    warmup_seconds: int
    page_gets: int
    spread_tenants: int
    workers: int
    wrk_threads: int

    @classmethod
    def from_env(cls) -> Config:
        url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not url.startswith(("postgres://", "postgresql://")):
            raise harness.BenchError(f"DATABASE_URL must name a Postgres database, got {url!r}")
        return cls(
            database_url=url,
            tenants=harness.env_int("SCALE_TENANTS", 10_000),
            apps_per_tenant=harness.env_int("SCALE_APPS_PER_TENANT", 10),
            seconds=harness.env_int("SCALE_SECONDS", 8),
            warmup_seconds=harness.env_int("SCALE_WARMUP_SECONDS", 3),
            page_gets=harness.env_int("SCALE_PAGE_GETS", 20),
            spread_tenants=harness.env_int("SCALE_SPREAD_TENANTS", 1000),
            workers=harness.env_int("WEB_CONCURRENCY", 2),
            wrk_threads=harness.env_int("BENCH_THREADS", 2),
        )


# --- results ---------------------------------------------------------------------------------------


@dataclass
class PageResult:
    """One admin changelist as one user on one database: timed over HTTP, its queries counted in-process."""

    target: str
    page: str
    who: str
    path: str
    gets: int
    median_ms: float
    p90_ms: float
    kilobytes: float
    rows: int  # rows in the changelist's table on the page
    statuses: dict[str, int]
    queries: int | None = None
    sql_ms: float | None = None
    slowest_sql: str = ""


@dataclass
class Phase:
    name: str
    rows: dict[str, int]
    cpu_busy_before: float | None
    load_average: tuple[float, float, float]
    loads: list[harness.LoadResult] = field(default_factory=list)
    pages: list[PageResult] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)  # scale_db.TokenTiming, in-process
    plans: dict[str, Any] = field(default_factory=dict)  # scale_db.hot_query_plans

    def token(self, label: str) -> dict[str, Any] | None:
        return next((t for t in self.tokens if t["label"] == label), None)

    def load(self, what: str) -> harness.LoadResult | None:
        return next((r for r in self.loads if r.what == what), None)

    def page(self, page: str, who: str) -> PageResult | None:
        return next((p for p in self.pages if p.page == page and p.who == who), None)


ROW_TOKEN = "token endpoint, client_credentials (demo M2M client)"
ROW_DISCOVERY = "discovery (openid-configuration)"
ROW_JWKS = "JWKS"
ROW_SPREAD = "token endpoint, client_credentials, one client in each of {n} seeded tenants in turn"


# --- set-up ----------------------------------------------------------------------------------------


def add_superuser(env: dict[str, str]) -> dict[str, str]:
    """A portal superuser (every tenant), as ``manage.py createsuperuser`` makes one."""
    password = secrets.token_urlsafe(18)
    code = (
        "from apps.accounts.models import User\n"
        f"User.objects.create_superuser(username={SUPERUSER!r}, email='root@example.com', password={password!r})\n"
    )
    bench.manage("shell", "-c", code, env=env)
    return {"username": SUPERUSER, "password": password}


def django_json(code: str, marker: str, env: dict[str, str]) -> Any:
    """Run ``code`` in ``manage.py shell``; it prints ``<marker> <json>``; return the JSON."""
    output = bench.manage("shell", "-c", code, env=env)
    line = next((ln for ln in output.splitlines() if ln.startswith(f"{marker} ")), None)
    if line is None:
        raise harness.BenchError(f"manage.py shell printed no {marker} line:\n{output}")
    return json.loads(line.removeprefix(f"{marker} "))


def seed(env: dict[str, str], config: Config) -> dict[str, Any]:
    code = (
        "import json\n"
        "from dataclasses import asdict\n"
        "from tests.bench.scale_db import scale_seed\n"
        f"result = scale_seed(tenants={config.tenants}, apps_per_tenant={config.apps_per_tenant})\n"
        "print('SCALE_SEED', json.dumps(asdict(result)))\n"
    )
    return django_json(code, "SCALE_SEED", env)


def vacuum_analyze(database_url: str) -> None:
    """Fresh planner statistics, as autovacuum would have them on a database in steady state."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("VACUUM ANALYZE")


def with_database_suffix(database_url: str, suffix: str) -> str:
    """The same server's URL for the database named like ``database_url``'s plus ``suffix``."""
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def demo_tenant_id(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT id FROM tenants_tenant WHERE slug = 'demo'").fetchone()
    if row is None:
        raise harness.BenchError("bootstrap_demo created no tenant 'demo'")
    return int(row[0])


def table_rows(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        return {
            label: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (our own names)
            for label, table in COUNTED_TABLES.items()
        }


# --- one phase ---------------------------------------------------------------------------------------


@dataclass
class Target:
    """One of the run's two databases, and what the run knows about it.

    ``env`` is the environment of its server and of its ``manage.py`` calls (its own SECRET_KEY,
    which its signing keys are encrypted with); ``base_url`` is set while its server runs.
    """

    name: str  # "empty" or "seeded"
    database_url: str
    port: int
    env: dict[str, str]
    demo: dict[str, Any] = field(default_factory=dict)
    admins: dict[str, dict[str, str]] = field(default_factory=dict)
    views: list[PageView] = field(default_factory=list)
    base_url: str = ""

    @property
    def issuer(self) -> str:
        return self.base_url + urllib.parse.urlsplit(self.demo["issuer"]).path

    @property
    def server_log(self) -> Path:
        return harness.VAR_DIR / f"scale-server-{self.name}.log"


def prepare(target: Target) -> None:
    """A fresh database with the demo tenant and a superuser."""
    database = bench.recreate_database(target.database_url)
    log(f"{target.name}: database {database} recreated; migrating")
    bench.manage("migrate", "--noinput", "-v", "0", env=target.env)
    target.demo = bench.bootstrap_demo(target.env)
    target.admins = {WHO_TENANT_ADMIN: target.demo["admin"], WHO_SUPERUSER: add_superuser(target.env)}
    target.views = page_views(demo_tenant_id(target.database_url))


@contextlib.contextmanager
def servers(targets: list[Target], workers: int) -> Iterator[None]:
    """Serve every target at once, each on fresh processes (cold caches), like ``make run``."""
    with contextlib.ExitStack() as stack:
        for target in targets:
            bench.SERVER_LOG_PATH = target.server_log  # running_server writes to it
            issuer_path = urllib.parse.urlsplit(target.demo["issuer"]).path
            served = stack.enter_context(
                bench.running_server(
                    target.port,
                    workers,
                    target.env,
                    token_path=issuer_path + "oauth/token",
                    form=bench.token_form(target.demo),
                )
            )
            target.base_url = served.base_url
        yield


def measure(
    config: Config, wrk: str, targets: list[Target], spread: list[dict[str, str]]
) -> dict[str, Phase]:
    """Every row against both databases, interleaved so that a change in the machine's load
    (other work on a shared machine) falls on both alike: the wrk rows alternate which database
    goes first, and the admin pages alternate GET by GET."""
    busy, load_average = bench.cpu_busy_fraction(), os.getloadavg()
    phases = {
        t.name: Phase(
            name=t.name, rows=table_rows(t.database_url), cpu_busy_before=busy, load_average=load_average
        )
        for t in targets
    }
    for t in targets:
        log(f"{t.name}: {', '.join(f'{v:,} {k}' for k, v in phases[t.name].rows.items())}")
    log(f"starting a server per database ({config.workers} workers each)")
    with servers(targets, config.workers):
        for t in targets:
            harness.check_one_token(t.issuer + "oauth/token", bench.token_form(t.demo))
            log(f"{t.name}: warm-up, token endpoint, {config.warmup_seconds} s")
            warmup = harness.run_wrk(
                wrk,
                "warm-up",
                t.issuer + "oauth/token",
                concurrency=CONCURRENCY,
                seconds=config.warmup_seconds,
                threads=config.wrk_threads,
                body=bench.token_form(t.demo),
            )
            if warmup.errors:
                phases[t.name].loads.append(warmup)  # keep it visible: it fails the run
        half = max(config.seconds // 2, 1)
        common = {"concurrency": CONCURRENCY, "seconds": half, "threads": config.wrk_threads}
        rows = (
            (ROW_TOKEN, "oauth/token", True),
            (ROW_DISCOVERY, ".well-known/openid-configuration", False),
            (ROW_JWKS, ".well-known/jwks.json", False),
        )
        for what, path, token in rows:
            # Two halves per database, in the order A B B A: a load that rises or falls steadily
            # during the row weighs on both databases alike.
            halves: dict[str, list[harness.LoadResult]] = {t.name: [] for t in targets}
            for t in [*targets, *targets[::-1]]:
                log(f"{t.name}: {what}, c{CONCURRENCY}, {half} s")
                body = bench.token_form(t.demo) if token else None
                halves[t.name].append(harness.run_wrk(wrk, what, t.issuer + path, body=body, **common))
            for t in targets:
                phases[t.name].loads.append(combined(*halves[t.name]))
        seeded = targets[-1]
        phases[seeded.name].loads.append(spread_row(config, wrk, seeded.base_url, spread))
        log(f"admin pages, {config.page_gets} GETs each, alternating between the databases")
        for page in time_pages(targets, config.page_gets):
            phases[page.target].pages.append(page)
    # In process, one database after the other, then the token timings once more in the other
    # order; each keeps the better of its two medians (a busy moment can only slow one down).
    for t in targets:
        in_process(
            phases[t.name],
            config,
            t,
            token_requests_for(t.demo, spread[len(spread) // 2] if t is seeded else None),
        )
    for t in targets[::-1]:
        again = token_timings(
            config, t, token_requests_for(t.demo, spread[len(spread) // 2] if t is seeded else None)
        )
        phases[t.name].tokens = [
            best_of(first, second) for first, second in zip(phases[t.name].tokens, again, strict=True)
        ]
    return phases


def combined(first: harness.LoadResult, second: harness.LoadResult) -> harness.LoadResult:
    """One row from its two halves: their requests over their time, their errors and statuses
    summed; the latency percentiles are the halves' means (the halves are equally long)."""
    statuses = dict(first.statuses)
    for status, count in second.statuses.items():
        statuses[status] = statuses.get(status, 0) + count
    return dataclasses.replace(
        first,
        seconds=first.seconds + second.seconds,
        requests=first.requests + second.requests,
        rps=(first.requests + second.requests) / max(first.seconds + second.seconds, 1),
        p50_ms=(first.p50_ms + second.p50_ms) / 2,
        p90_ms=(first.p90_ms + second.p90_ms) / 2,
        p99_ms=(first.p99_ms + second.p99_ms) / 2,
        max_ms=max(first.max_ms, second.max_ms),
        socket_errors={
            k: first.socket_errors.get(k, 0) + second.socket_errors.get(k, 0) for k in first.socket_errors
        },
        unexpected=first.unexpected + second.unexpected,
        statuses=statuses,
        lost=first.lost + second.lost,
    )


def best_of(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two runs of the same in-process token timing: the better median of each kind."""
    return first | {
        "expired_median_ms": min(first["expired_median_ms"], second["expired_median_ms"]),
        "warm_median_ms": min(first["warm_median_ms"], second["warm_median_ms"]),
        "runs": 2,
    }


def spread_row(config: Config, wrk: str, base_url: str, clients: list[dict[str, str]]) -> harness.LoadResult:
    """Token requests for many seeded tenants in turn: a working set of many tenants per process.

    Each request goes to its own tenant's token endpoint (bench.lua's pool lines "<path> <body>").
    Pool mode sends each line once, so a first pass over every client (a warm-up) gives the rate,
    and the measured pool, cycling through the clients, is sized for about ``seconds`` at it;
    its rate is the pool over the time from its first request to its last response.
    """
    lines = [
        f"/t/{client['tenant']}/oauth/token "
        + urllib.parse.urlencode({"grant_type": "client_credentials"} | {k: client[k] for k in TOKEN_FIELDS})
        for client in clients
    ]
    first_path, first_form = lines[0].split(" ", 1)
    harness.check_one_token(base_url + first_path, first_form)
    url = base_url + first_path
    cap = config.seconds * 3 + 60  # a cap only: each pool ends when it is used up
    log(f"seeded: warm-up, one token for each of {len(lines):,} seeded tenants")
    warmup = harness.run_wrk(
        wrk,
        "warm-up (spread)",
        url,
        concurrency=CONCURRENCY,
        seconds=cap,
        threads=config.wrk_threads,
        mode="pool",
        items=lines,
    )
    if warmup.errors:
        return warmup  # keep it visible: it fails the run
    size = max(int(warmup.rps * config.seconds), len(lines))
    what = ROW_SPREAD.format(n=len(clients))
    log(f"seeded: {what}: {size:,} requests (about {config.seconds} s at the warm-up's {warmup.rps:,.0f}/s)")
    return harness.run_wrk(
        wrk,
        what,
        url,
        concurrency=CONCURRENCY,
        seconds=cap,
        threads=config.wrk_threads,
        mode="pool",
        items=[lines[i % len(lines)] for i in range(size)],
    )


def admin_session(base_url: str, credentials: dict[str, str]) -> requests.Session:
    """Sign in at /admin/login/ as a browser does; the session cookie comes back on every GET."""
    session = requests.Session()
    login_url = f"{base_url}/admin/login/"
    page = session.get(login_url, params={"next": "/admin/"}, timeout=HTTP_TIMEOUT)
    response = session.post(
        login_url,
        data={
            "csrfmiddlewaretoken": bench.csrf_token_of(page),
            "username": credentials["username"],
            "password": credentials["password"],
            "next": "/admin/",
        },
        headers={"Referer": login_url},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    if response.status_code != 302:
        raise harness.BenchError(
            f"admin sign-in as {credentials['username']} answered {response.status_code}, not 302:\n{response.text[:300]}"
        )
    return session


RESULT_TABLE = re.compile(r'<table id="result_list">(.*?)</table>', re.S)


def time_pages(targets: list[Target], gets: int) -> list[PageResult]:
    """Each view on each target: ``gets`` sequential GETs after two warm-up GETs, alternating
    between the targets GET by GET; median and p90 wall time, statuses, size and rows shown."""
    sessions = {
        (t.name, who): admin_session(t.base_url, credentials)
        for t in targets
        for who, credentials in t.admins.items()
    }
    results = []
    for index, view in enumerate(targets[0].views):
        pairs = [(t, next(v for v in t.views if (v.page, v.who) == (view.page, view.who))) for t in targets]
        times: dict[str, list[float]] = {t.name: [] for t in targets}
        statuses: dict[str, dict[str, int]] = {t.name: {} for t in targets}
        html: dict[str, str] = {}
        for attempt in range(gets + 2):
            for t, own in pairs if (index + attempt) % 2 == 0 else pairs[::-1]:
                began = time.perf_counter()
                response = sessions[(t.name, own.admin)].get(
                    t.base_url + own.path, timeout=HTTP_TIMEOUT, allow_redirects=False
                )
                elapsed = 1000 * (time.perf_counter() - began)
                if attempt < 2:
                    continue  # warm-up
                times[t.name].append(elapsed)
                statuses[t.name][str(response.status_code)] = (
                    statuses[t.name].get(str(response.status_code), 0) + 1
                )
                html[t.name] = response.text
        for t, own in pairs:
            ordered = sorted(times[t.name])
            table = RESULT_TABLE.search(html[t.name])
            results.append(
                PageResult(
                    target=t.name,
                    page=own.page,
                    who=own.who,
                    path=own.path,
                    gets=gets,
                    median_ms=statistics.median(ordered),
                    p90_ms=ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
                    kilobytes=len(html[t.name].encode()) / 1024,
                    rows=table.group(1).count("<tr") - 1 if table else 0,  # minus the header row
                    statuses=statuses[t.name],
                )
            )
    return results


def in_process(
    phase: Phase, config: Config, target: Target, token_requests: dict[str, tuple[str, dict[str, str]]]
) -> None:
    """In a ``manage.py shell``: each page's SQL queries, and token requests after a cache expiry."""
    code = (
        "import json\n"
        "from dataclasses import asdict\n"
        "from tests.bench.scale_db import page_queries, token_timing\n"
        f"rows = page_queries(views={view_triples(target.views, target.admins)!r})\n"
        f"tokens = [token_timing(label=label, tenant_slug=slug, form=form, requests={config.page_gets})\n"
        f"          for label, (slug, form) in {token_requests!r}.items()]\n"
        "print('SCALE_IN_PROCESS', json.dumps({'pages': [asdict(r) | {'statements': None} for r in rows],\n"
        "                                      'tokens': [asdict(t) for t in tokens]}))\n"
    )
    log(f"{target.name}: queries per page, and token requests after a config-cache expiry, in process")
    result = django_json(code, "SCALE_IN_PROCESS", target.env)
    for row in result["pages"]:
        page = next(p for p in phase.pages if p.who == row["who"] and p.path == row["path"])
        page.queries, page.sql_ms, page.slowest_sql = row["queries"], row["sql_ms"], row["slowest_sql"]
        if row["status"] != 200:
            page.statuses[f"in-process {row['status']}"] = 1
    phase.tokens = result["tokens"]


def token_timings(
    config: Config, target: Target, token_requests: dict[str, tuple[str, dict[str, str]]]
) -> list[dict[str, Any]]:
    """In a ``manage.py shell``: the token requests after a cache expiry, and warm, once more."""
    code = (
        "import json\n"
        "from dataclasses import asdict\n"
        "from tests.bench.scale_db import token_timing\n"
        f"tokens = [token_timing(label=label, tenant_slug=slug, form=form, requests={config.page_gets})\n"
        f"          for label, (slug, form) in {token_requests!r}.items()]\n"
        "print('SCALE_TOKENS', json.dumps([asdict(t) for t in tokens]))\n"
    )
    log(f"{target.name}: token requests after a config-cache expiry, in process, once more")
    return django_json(code, "SCALE_TOKENS", target.env)


def view_triples(views: list[PageView], admins: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """``(who, portal username, path)`` per view, for scale_db's in-process functions."""
    return [(view.who, admins[view.admin]["username"], view.path) for view in views]


def token_requests_for(
    demo: dict[str, Any], seeded_client: dict[str, str] | None
) -> dict[str, tuple[str, dict[str, str]]]:
    """label -> (tenant slug, token form): the demo's M2M client, and a seeded tenant's once seeded."""

    def form(client: dict[str, str]) -> dict[str, str]:
        return {"grant_type": "client_credentials"} | {k: client[k] for k in TOKEN_FIELDS}

    requests_ = {"demo": ("demo", form(demo["m2m"]))}
    if seeded_client is not None:
        requests_["seeded tenant"] = (seeded_client["tenant"], form(seeded_client))
    return requests_


# --- EXPLAIN ---------------------------------------------------------------------------------------


def explain_hot_queries(
    env: dict[str, str],
    admins: dict[str, dict[str, str]],
    views: list[PageView],
    token_requests: dict[str, tuple[str, dict[str, str]]],
) -> dict[str, Any]:
    labelled = {f"token path ({slug}, cold cache)": (slug, form) for slug, form in token_requests.values()}
    code = (
        "import json\n"
        "from tests.bench.scale_db import hot_query_plans\n"
        f"plans = hot_query_plans(views={view_triples(views, admins)!r}, "
        f"token_requests={labelled!r}, min_rows={BIG_TABLE_ROWS})\n"
        "print('SCALE_PLANS', json.dumps(plans))\n"
    )
    return django_json(code, "SCALE_PLANS", env)


def seeded_clients(env: dict[str, str], limit: int) -> list[dict[str, str]]:
    code = (
        "import json\n"
        "from tests.bench.scale_db import seeded_m2m_clients\n"
        f"print('SCALE_CLIENTS', json.dumps(seeded_m2m_clients(limit={limit})))\n"
    )
    return django_json(code, "SCALE_CLIENTS", env)


# --- the report ------------------------------------------------------------------------------------


def _ratio(empty: float | None, seeded: float | None) -> float | None:
    if empty is None or seeded is None or empty == 0:
        return None
    return seeded / empty


def config_cache_seconds() -> str:
    return os.environ.get("CONFIG_CACHE_SECONDS", "5")


def table(config: Config, empty: Phase, seeded: Phase) -> tuple[list[str], list[dict[str, Any]]]:
    """Markdown lines and the same rows as data: metric, empty, seeded, seeded/empty."""
    rows: list[dict[str, Any]] = []

    def add(
        metric: str,
        a: float | None,
        b: float | None,
        unit: str,
        *,
        higher_is_better: bool,
        note: str = "",
        comparable: bool = True,
        digits: int = 1,
    ) -> None:
        ratio = _ratio(a, b)
        worse = (
            comparable
            and ratio is not None
            and (ratio < 1 / NOTICEABLE if higher_is_better else ratio > NOTICEABLE)
            and not (unit == "ms" and abs((b or 0) - (a or 0)) < NOTICEABLE_MS)
        )
        rows.append(
            {
                "metric": metric,
                "unit": unit,
                "empty": a,
                "seeded": b,
                "ratio": ratio,
                "noticeable": worse,
                "note": note,
                "digits": digits,
            }
        )

    for what in (ROW_TOKEN, ROW_DISCOVERY, ROW_JWKS):
        a, b = empty.load(what), seeded.load(what)
        add(
            f"{what}, c{CONCURRENCY}",
            a and a.rps,
            b and b.rps,
            "req/s",
            higher_is_better=True,
            note=f"p99 {a.p99_ms:.1f} / {b.p99_ms:.1f} ms" if a and b else "",
        )
    spread = next((r for r in seeded.loads if r.what.startswith(ROW_SPREAD.split("{")[0])), None)
    token_seeded = seeded.load(ROW_TOKEN)
    if spread is not None and token_seeded is not None:
        # Not the same work as the demo row: every request here may miss the config cache. So no
        # "empty" figure, and the note compares it with the demo client on the same seeded server.
        tenants = int(re.search(r"each of (\d+)", spread.what).group(1))
        revisit = tenants / max(spread.rps / config.workers, 1e-9)
        add(
            f"{spread.what}, c{CONCURRENCY}",
            None,
            spread.rps,
            "req/s",
            higher_is_better=True,
            note=f"{spread.rps / token_seeded.rps:.2f} x the demo client's rate; a process sees each tenant every "
            f"{revisit:.1f} s (config cache: {config_cache_seconds()} s); p99 {spread.p99_ms:.1f} ms",
        )
    a, b = empty.token("demo"), seeded.token("demo")
    if a and b:
        add(
            "token request in-process, demo client, right after a config-cache expiry, median (better of 2 runs)",
            a["expired_median_ms"],
            b["expired_median_ms"],
            "ms",
            higher_is_better=False,
            note=f"{a['expired_queries']} / {b['expired_queries']} queries; warm {a['warm_median_ms']:.1f} / {b['warm_median_ms']:.1f} ms",
        )
    token_path = "token path (demo, cold cache)"
    postgres_a = empty.plans.get("execution_ms", {}).get(token_path)
    postgres_b = seeded.plans.get("execution_ms", {}).get(token_path)
    if postgres_a is not None and postgres_b is not None:
        add(
            "the same request's queries: Postgres' own time, summed (EXPLAIN ANALYZE)",
            postgres_a,
            postgres_b,
            "ms",
            higher_is_better=False,
            note="no network, no ORM: what the database size could change",
            digits=3,
        )
    c = seeded.token("seeded tenant")
    if a and c:
        add(
            "same, a seeded tenant's M2M client (against the demo's, empty)",
            a["expired_median_ms"],
            c["expired_median_ms"],
            "ms",
            higher_is_better=False,
            note=f"{a['expired_queries']} / {c['expired_queries']} queries; warm {a['warm_median_ms']:.1f} / {c['warm_median_ms']:.1f} ms",
        )
    for a in empty.pages:
        b = seeded.page(a.page, a.who)
        if b is None:
            continue
        add(
            f"admin {a.page} list as {a.who}, median of {a.gets} GETs",
            a.median_ms,
            b.median_ms,
            "ms",
            higher_is_better=False,
            note=f"{a.rows} / {b.rows} rows shown, {a.queries} / {b.queries} queries "
            f"({postgres_ms(empty, a)} / {postgres_ms(seeded, b)} ms in Postgres), "
            f"{a.kilobytes:.0f} / {b.kilobytes:.0f} KB",
            # A full page of 100 rows against the demo's few is more HTML, not more tenants' cost.
            comparable=a.rows == b.rows,
        )
    lines = [
        "| metric | empty | seeded | seeded/empty | notes (empty / seeded) |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:

        def fmt(value: float | None, unit: str = row["unit"], digits: int = row["digits"]) -> str:
            if value is None:
                return "-"
            return f"{value:,.0f} {unit}" if unit == "req/s" else f"{value:,.{digits}f} {unit}"

        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}" + (" (!)" if row["noticeable"] else "")
        lines.append(
            f"| {row['metric']} | {fmt(row['empty'])} | {fmt(row['seeded'])} | {ratio} | {row['note']} |"
        )
    return lines, rows


def postgres_ms(phase: Phase, page: PageResult) -> str:
    """Postgres' own time for a page's statements (EXPLAIN ANALYZE, summed), for the notes."""
    ms = phase.plans.get("execution_ms", {}).get(f"{page.who} {page.path}")
    return "?" if ms is None else f"{ms:.2f}"


def failures(empty: Phase, seeded: Phase, plans: dict[str, Any]) -> list[str]:
    problems = []
    for phase in (empty, seeded):
        for r in phase.loads:
            if r.errors:
                problems.append(
                    f"{phase.name}: '{r.what}' had {r.errors} failed requests: statuses {r.statuses}, socket {r.socket_errors}"
                    + (f", {r.lost} never answered" if r.lost else "")
                )
        for p in phase.pages:
            if set(p.statuses) != {"200"}:
                problems.append(f"{phase.name}: {p.page} as {p.who} answered {p.statuses}")
    for a in empty.pages:
        b = seeded.page(a.page, a.who)
        if b is not None and a.queries is not None and b.queries is not None and b.queries > a.queries:
            problems.append(f"{a.page} list as {a.who} runs {b.queries} queries seeded, {a.queries} empty")
    for finding in plans.get("findings", []):
        problems.append(
            f"{finding['path']}: Seq Scan on {', '.join(finding['seq_scans'])}: {finding['sql'][:200]}"
        )
    return problems


def environment(wrk: str) -> dict[str, Any]:
    """What the figures were measured on and with (for the notes)."""
    try:
        granian = metadata.version("granian")
    except metadata.PackageNotFoundError:
        granian = "?"
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split()
    return harness.machine() | {
        "granian": granian,
        "wrk": wrk_version[1] if len(wrk_version) > 1 else "?",
        "cache": "redis" if os.environ.get("REDIS_URL") else "locmem (REDIS_URL unset)",
        "config_cache_seconds": config_cache_seconds(),
    }


def notes(
    config: Config, empty: Phase, seeded: Phase, seed_result: dict[str, Any], plans: dict[str, Any], wrk: str
) -> list[str]:
    env = environment(wrk)
    lines = [
        f"seeded {seed_result['tenants']:,} tenants with {seed_result['applications']:,} applications, "
        f"{seed_result['client_grants']:,} client grants, {seed_result['signing_keys']:,} signing keys and "
        f"{seed_result['users']:,} users in {seed_result['seconds']:.0f} s (bulk inserts), then VACUUM ANALYZE",
        f"EXPLAIN of {plans.get('statements', 0)} statements (token path with a cold cache, every page above) on the "
        f"seeded database: {len(plans.get('findings', []))} sequential scans of a table with >= {BIG_TABLE_ROWS:,} rows"
        + "".join(
            f"; {f['path']}: Seq Scan on {', '.join(f['seq_scans'])}" for f in plans.get("findings", [])
        ),
        "the superuser's unfiltered lists count every row for their paginator (Django's admin; no index avoids "
        "visiting each row): "
        + ", ".join(f"{table} {ms:.1f} ms" for table, ms in plans.get("whole_table_counts", {}).items()),
        f"machine: {env['cores']} cores ({env['platform']}); load average before the measurements "
        f"{'/'.join(f'{v:.1f}' for v in empty.load_average)}, CPU busy with other processes "
        f"{bench._percent(empty.cpu_busy_before)}",
        f"server: granian {env['granian']} --interface wsgi, {config.workers} workers per database, both "
        "databases served at once by fresh processes, rows alternating between them; "
        f"cache {env['cache']}, CONFIG_CACHE_SECONDS={env['config_cache_seconds']}; wrk {env['wrk']}, "
        f"{config.wrk_threads} threads; each row {max(config.seconds // 2, 1)} s x 2 per database in the order "
        f"empty, seeded, seeded, empty, after a {config.warmup_seconds} s warm-up",
        "admin pages: wall time of sequential GETs over HTTP with a signed-in session (after two warm-up GETs), "
        "alternating GET by GET between the databases; queries counted by rendering the page once more in-process",
        f"(!) marks a row more than {NOTICEABLE}x worse seeded than empty (and, for a time, by {NOTICEABLE_MS:.0f} ms "
        "or more), when both showed the same rows",
    ]
    if (empty.cpu_busy_before or 0) > 0.10:
        lines.append(
            "WARNING: the machine was busy with other work; absolute figures are low and noisy, compare the ratios"
        )
    return lines


def write_json(
    config: Config,
    empty: Phase,
    seeded: Phase,
    rows: list[dict[str, Any]],
    seed_result: dict[str, Any],
    plans: dict[str, Any],
    problems: list[str],
    lines: list[str],
) -> None:
    harness.VAR_DIR.mkdir(exist_ok=True)
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": asdict(config) | {"database_url": "(set)"},
        "cores": os.cpu_count(),
        "seed": seed_result,
        "rows": rows,
        "phases": {
            phase.name: {
                "rows": phase.rows,
                "load_average": phase.load_average,
                "cpu_busy_before": phase.cpu_busy_before,
                "loads": [asdict(r) | {"errors": r.errors} for r in phase.loads],
                "pages": [asdict(p) for p in phase.pages],
                "tokens_in_process": phase.tokens,
                "explain": phase.plans,
            }
            for phase in (empty, seeded)
        },
        "problems": problems,
        "notes": lines,
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2) + "\n")


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    signal.signal(signal.SIGTERM, bench._raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config = Config.from_env()
    wrk = harness.ensure_wrk()
    ports = [harness.free_port()]
    while len(ports) < 2:
        ports += [port for port in [harness.free_port()] if port not in ports]
    empty_url = with_database_suffix(config.database_url, "_empty")
    targets = [
        Target("empty", empty_url, ports[0], bench.bench_env(ports[0], empty_url)),
        Target("seeded", config.database_url, ports[1], bench.bench_env(ports[1], config.database_url)),
    ]
    empty, seeded = targets
    log(
        f"load average before the run: {'/'.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} cores)"
    )
    try:
        for target in targets:
            prepare(target)
        log(f"seeded: seeding {config.tenants:,} tenants x {config.apps_per_tenant} applications")
        seed_result = seed(seeded.env, config)
        log(f"seeded in {seed_result['seconds']:.0f} s; VACUUM ANALYZE")
        for target in targets:
            vacuum_analyze(target.database_url)
        spread = seeded_clients(seeded.env, config.spread_tenants)
        phases = measure(config, wrk, targets, spread)
        for target in targets:
            log(f"{target.name}: EXPLAIN ANALYZE of the hot queries")
            seeded_client = spread[len(spread) // 2] if target is seeded else None
            phases[target.name].plans = explain_hot_queries(
                target.env, target.admins, target.views, token_requests_for(target.demo, seeded_client)
            )
        plans = phases[seeded.name].plans
    except harness.BenchError as error:
        log(f"error: {error}")
        for target in targets:
            bench.SERVER_LOG_PATH = target.server_log
            output = bench.server_log_summary()
            if output:
                log(f"server output ({target.server_log.relative_to(ROOT)}):\n{output}")
        return 1
    empty, seeded = phases["empty"], phases["seeded"]

    lines, rows = table(config, empty, seeded)
    problems = failures(empty, seeded, plans)
    extra = notes(config, empty, seeded, seed_result, plans, wrk)
    write_json(config, empty, seeded, rows, seed_result, plans, problems, extra)
    print("\n".join(lines))
    print()
    print("\n".join(f"- {line}" for line in extra))
    for target in targets:
        bench.SERVER_LOG_PATH = target.server_log
        output = bench.server_log_summary()
        if "traceback" in output:  # its line per request is no news; its exceptions are
            log(
                f"the {target.name} database's server logged exceptions ({target.server_log.relative_to(ROOT)}):"
            )
            log(output)
    log(f"results written to {RESULTS_PATH.relative_to(ROOT)}")
    if problems:
        log("FAILED:\n" + "\n".join(f"  - {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except harness.BenchError as error:
        log(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
