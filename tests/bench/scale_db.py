"""What ``make scale`` runs inside Django (``manage.py shell``): seeding, query counts, EXPLAIN.

``tests/bench/scale.py`` drives the run from outside, like ``run.py``; the parts that need the
ORM live here, so the seeder can also be imported by its test (tests/core/test_scale_seed.py)
and cannot rot unnoticed.

- ``scale_seed`` inserts many small tenants quickly (bulk inserts in batches), each shaped like a
  real one as far as the token endpoint and the admin's list pages see it.
- ``page_queries`` renders admin pages in this process and counts their SQL queries.
- ``hot_query_plans`` captures the SQL that the token path and the admin pages really run, and
  EXPLAINs each statement to find sequential scans on big tables.
"""

from __future__ import annotations

import json
import re
import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.apis.models import Api, Scope
from apps.applications.models import Application
from apps.applications.rules import app_type_defaults
from apps.applications.services import _apply_derived_fields
from apps.core import ttlcache
from apps.grants.models import ClientGrant
from apps.tenants import keys
from apps.tenants.models import SigningKey, Tenant

SEED_SLUG_PREFIX = "scale-"
# Every seeded confidential client has this secret (one keyed hash, computed once): the seeded
# tenants are throwaway load, and the scale run must be able to ask any of them for a token.
SEED_CLIENT_SECRET = "scale-seed-client-secret-not-for-real-use"
SEED_AUDIENCE = "https://orders.example.com"
SEED_SCOPES = {"read:orders": "Read orders", "write:orders": "Create and change orders"}
SEED_GRANTED_SCOPES = ["read:orders"]
# The application types cycled through within a tenant: the first of each tenant is an M2M
# client with a client grant for the tenant's API.
SEED_APP_TYPES = (
    Application.AppType.MACHINE_TO_MACHINE,
    Application.AppType.REGULAR_WEB,
    Application.AppType.SPA,
    Application.AppType.NATIVE,
)
SEED_CALLBACK = "https://app.example.com/callback"
# Signing keys per tenant, as tenant_create makes them: a current and a next key per algorithm.
SEED_KEY_SLOTS = tuple(
    (algorithm, state)
    for algorithm in SigningKey.Algorithm.values
    for state in (SigningKey.State.CURRENT, SigningKey.State.NEXT)
)


@dataclass(frozen=True)
class SeedResult:
    """Rows ``scale_seed`` inserted, and how long it took."""

    tenants: int
    signing_keys: int
    apis: int
    scopes: int
    applications: int
    client_grants: int
    users: int
    seconds: float


def seed_slug(number: int) -> str:
    return f"{SEED_SLUG_PREFIX}{number:05d}"


def scale_seed(
    *,
    tenants: int,
    apps_per_tenant: int,
    batch_size: int = 500,
    start: int = 0,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Insert ``tenants`` tenants (slugs ``scale-00000``...) with ``apps_per_tenant`` applications each.

    Each tenant gets what ``tenant_create`` and a small set-up give a real one: a current and a
    next signing key per algorithm, one API (``SEED_AUDIENCE``, two scopes), its applications
    (cycling through the types; every ``len(SEED_APP_TYPES)``-th one, starting with the first,
    is an M2M client with a client grant for ``read:orders``) and one end user. Rows are
    bulk-inserted a batch of tenants at a time, bypassing the services: no audit events, no
    cache invalidation. So seed before starting servers, never into a database a server is
    serving.

    Shortcuts that keep it fast and are invisible to the pages and endpoints measured: key
    generation costs ~80 ms per RSA key, so every tenant reuses one key pair per algorithm
    under its own kids; every confidential client has ``SEED_CLIENT_SECRET`` (one keyed hash);
    end users have an unusable password.
    """
    began = time.perf_counter()
    templates = {algorithm: keys.generate(algorithm) for algorithm in SigningKey.Algorithm.values}
    secret_hash = make_password(SEED_CLIENT_SECRET, hasher="hmac_sha256")
    totals = dict.fromkeys(
        ("tenants", "signing_keys", "apis", "scopes", "applications", "client_grants", "users"), 0
    )
    for first in range(start, start + tenants, batch_size):
        numbers = range(first, min(first + batch_size, start + tenants))
        with transaction.atomic():
            counts = _seed_batch(numbers, apps_per_tenant, templates=templates, secret_hash=secret_hash)
        for name, count in counts.items():
            totals[name] += count
        if progress is not None:
            progress(totals["tenants"])
    return SeedResult(**totals, seconds=time.perf_counter() - began)


def _seed_batch(
    numbers: range, apps_per_tenant: int, *, templates: dict[str, keys.GeneratedKey], secret_hash: str
) -> dict[str, int]:
    tenants = Tenant.objects.bulk_create(Tenant(slug=seed_slug(n), name=f"Scale tenant {n}") for n in numbers)
    signing_keys = SigningKey.objects.bulk_create(
        SigningKey(
            tenant=tenant,
            kid=f"{tenant.slug}-{algorithm}-{state}",
            algorithm=algorithm,
            state=state,
            private_key_encrypted=templates[algorithm].private_key_encrypted,
            public_jwk=templates[algorithm].public_jwk | {"kid": f"{tenant.slug}-{algorithm}-{state}"},
        )
        for tenant in tenants
        for algorithm, state in SEED_KEY_SLOTS
    )
    apis = Api.objects.bulk_create(
        Api(tenant=tenant, name="Orders API", identifier=SEED_AUDIENCE) for tenant in tenants
    )
    scopes = Scope.objects.bulk_create(
        Scope(tenant_id=api.tenant_id, api=api, value=value, description=description)
        for api in apis
        for value, description in SEED_SCOPES.items()
    )
    applications = Application.objects.bulk_create(
        _application(tenant, index, secret_hash) for tenant in tenants for index in range(apps_per_tenant)
    )
    api_of_tenant = {api.tenant_id: api for api in apis}
    grants = ClientGrant.objects.bulk_create(
        ClientGrant(
            tenant_id=app.tenant_id,
            application=app,
            api=api_of_tenant[app.tenant_id],
            scopes=SEED_GRANTED_SCOPES,
        )
        for app in applications
        if app.app_type == Application.AppType.MACHINE_TO_MACHINE
    )
    users = User.objects.bulk_create(
        User(
            tenant=tenant,
            username=f"user-{tenant.slug}",
            email=f"user@{tenant.slug}.example.com",
            password=UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(20),  # as make_password(None), faster
        )
        for tenant in tenants
    )
    return {
        "tenants": len(tenants),
        "signing_keys": len(signing_keys),
        "apis": len(apis),
        "scopes": len(scopes),
        "applications": len(applications),
        "client_grants": len(grants),
        "users": len(users),
    }


def _application(tenant: Tenant, index: int, secret_hash: str) -> Application:
    app_type = SEED_APP_TYPES[index % len(SEED_APP_TYPES)]
    defaults = app_type_defaults(app_type)  # Auth0's, as application_create applies them
    interactive = app_type != Application.AppType.MACHINE_TO_MACHINE
    application = Application(
        tenant=tenant,
        # DOT's generator draws 40 characters one by one from the OS; one draw is 10x faster.
        client_id=secrets.token_hex(20),
        name=f"App {index:02d} of {tenant.slug}",
        app_type=app_type,
        grant_types=list(defaults.grant_types),
        token_endpoint_auth_method=defaults.token_endpoint_auth_method,
        redirect_uris=SEED_CALLBACK if interactive else "",
        client_secret=secret_hash,  # already hashed: DOT's field keeps an identifiable hash as it is
        hash_client_secret=True,
    )
    # The same derived fields (DOT's client type and single grant type) as application_create sets.
    _apply_derived_fields(application)
    return application


def seeded_m2m_clients(*, limit: int) -> list[dict[str, str]]:
    """Up to ``limit`` seeded M2M clients, one per tenant, spread over the seeded tenants.

    Each: ``{"tenant", "client_id", "client_secret", "audience"}``, for token requests.
    """
    total = Tenant.objects.filter(slug__startswith=SEED_SLUG_PREFIX).count()
    step = max(total // max(limit, 1), 1)
    slugs = [seed_slug(n) for n in range(0, total, step)][:limit]
    rows = (
        Application.objects.filter(
            tenant__slug__in=slugs,
            app_type=Application.AppType.MACHINE_TO_MACHINE,
            client_grants__api__identifier=SEED_AUDIENCE,
        )
        .order_by("tenant__slug", "name")
        .distinct("tenant__slug")
        .values_list("tenant__slug", "client_id")
    )
    return [
        {
            "tenant": slug,
            "client_id": client_id,
            "client_secret": SEED_CLIENT_SECRET,
            "audience": SEED_AUDIENCE,
        }
        for slug, client_id in rows
    ]


# --- admin pages: status, size and SQL queries, rendered in this process ---------------------


@dataclass
class PageQueries:
    who: str
    path: str
    status: int
    queries: int
    sql_ms: float  # the database's time, as Django measured it around each query
    slowest_sql: str
    statements: list[str] = field(default_factory=list, repr=False)


def _client_for(username: str) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(tenant=None, username=username))
    return client


def page_queries(*, views: list[tuple[str, str, str]]) -> list[PageQueries]:
    """GET each view ``(who, portal username, path)`` in this process and count its queries.

    Each page is fetched twice and the second is measured, so per-process memos (content types,
    the admin's permission lookups) are warm, as on a running server.
    """
    results = []
    clients: dict[str, Client] = {}
    for who, username, path in views:
        client = clients.get(username) or clients.setdefault(username, _client_for(username))
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        timed = [(float(q["time"]), q["sql"]) for q in captured.captured_queries]
        slowest = max(timed, default=(0.0, ""))
        results.append(
            PageQueries(
                who=who,
                path=path,
                status=response.status_code,
                queries=len(timed),
                sql_ms=round(1000 * sum(t for t, _ in timed), 2),
                slowest_sql=slowest[1][:300],
                statements=[sql for _, sql in timed],
            )
        )
    return results


# --- EXPLAIN: sequential scans on big tables -------------------------------------------------


@dataclass
class PlanFinding:
    """A statement of a hot path, and the big tables its plan reads with a sequential scan."""

    path: str
    sql: str
    seq_scans: list[str]
    total_cost: float
    execution_ms: float  # Postgres' own time for the statement (EXPLAIN ANALYZE), without round trips


# The paginator's count of a superuser's unfiltered changelist: it reads every row whatever the
# plan (an index cannot count without visiting each entry), so it is reported, not flagged.
WHOLE_TABLE_COUNT = re.compile(r'^SELECT COUNT\(\*\) AS "__count" FROM "(\w+)"$')


def plan_seq_scans(plan: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """``(relation, rows read)`` for each Seq Scan of an EXPLAIN (ANALYZE, FORMAT JSON) plan, at
    any depth. Rows read are those returned plus those the filter removed, over every loop: a
    scan under a LIMIT that stopped early (an ``exists()``) reads a few, a full one all."""
    if plan.get("Node Type") == "Seq Scan":
        per_loop = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        yield plan["Relation Name"], int(per_loop * plan.get("Actual Loops", 1))
    for child in plan.get("Plans", ()):
        yield from plan_seq_scans(child)


def table_rows() -> dict[str, int]:
    """Estimated rows per table (pg_class.reltuples, current after ANALYZE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = 'public'"
        )
        return {name: max(int(rows), 0) for name, rows in cursor.fetchall()}


def explain_statements(
    path: str, statements: list[str], *, big: set[str], min_rows: int
) -> list[PlanFinding]:
    """EXPLAIN ANALYZE each SELECT in ``statements`` (all read-only); report it with the big
    tables it reads at least ``min_rows`` rows of with a sequential scan."""
    findings = []
    with connection.cursor() as cursor:
        for sql in dict.fromkeys(statements):  # once each, in order
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            explained = _json(cursor.fetchone()[0])[0]
            plan = explained["Plan"]
            scans = sorted({name for name, rows in plan_seq_scans(plan) if name in big and rows >= min_rows})
            findings.append(
                PlanFinding(
                    path=path,
                    sql=sql,
                    seq_scans=scans,
                    total_cost=plan["Total Cost"],
                    execution_ms=explained["Execution Time"],
                )
            )
    return findings


def whole_table_count_ms(sql: str) -> float:
    """The execution time of a whole-table count, from EXPLAIN ANALYZE (best of three)."""
    with connection.cursor() as cursor:
        times = []
        for _ in range(3):
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            times.append(_json(cursor.fetchone()[0])[0]["Execution Time"])
    return min(times)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _token_post(client: Client, tenant_slug: str, form: dict[str, str]) -> None:
    response = client.post(
        f"/t/{tenant_slug}/oauth/token", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"token request for {tenant_slug} answered {response.status_code}: {response.content[:300]!r}"
        )


def token_path_statements(*, tenant_slug: str, form: dict[str, str]) -> list[str]:
    """The SQL one client_credentials request runs with a cold config cache (in this process)."""
    client = Client(HTTP_HOST="127.0.0.1")
    ttlcache.clear()
    with CaptureQueriesContext(connection) as captured:
        _token_post(client, tenant_slug, form)
    return [q["sql"] for q in captured.captured_queries]


@dataclass
class TokenTiming:
    """One client's token request in this process: with the config cache expired, and warm."""

    label: str
    requests: int
    expired_median_ms: float  # every request first empties the config cache (a TTL expiry)
    warm_median_ms: float
    expired_queries: int


def token_timing(*, label: str, tenant_slug: str, form: dict[str, str], requests: int) -> TokenTiming:
    """Median time of ``requests`` token requests right after a config-cache expiry, and warm.

    Single-threaded and in-process, so it isolates what the database costs a request that
    misses the cache: the indexed lookups of tenant, client, API, scopes, grant, rules and key.
    """
    client = Client(HTTP_HOST="127.0.0.1")
    _token_post(client, tenant_slug, form)  # once: imports, the decrypted signing key
    expired = []
    for _ in range(requests):
        ttlcache.clear()
        began = time.perf_counter()
        _token_post(client, tenant_slug, form)
        expired.append(1000 * (time.perf_counter() - began))
    warm = []
    for _ in range(requests):
        began = time.perf_counter()
        _token_post(client, tenant_slug, form)
        warm.append(1000 * (time.perf_counter() - began))
    return TokenTiming(
        label=label,
        requests=requests,
        expired_median_ms=statistics.median(expired),
        warm_median_ms=statistics.median(warm),
        expired_queries=len(token_path_statements(tenant_slug=tenant_slug, form=form)),
    )


def hot_query_plans(
    *,
    views: list[tuple[str, str, str]],
    token_requests: dict[str, tuple[str, dict[str, str]]],
    min_rows: int,
) -> dict[str, Any]:
    """EXPLAIN ANALYZE what the token path (cold cache) and the admin pages run; flag sequential
    scans of big tables.

    ``views``: as for ``page_queries``. ``token_requests``: label -> (tenant slug, token form). A
    table is big from ``min_rows`` (estimated) rows, and a sequential scan of it counts when it
    read that many. Returns ``{"big_tables", "statements", "execution_ms", "findings",
    "whole_table_counts"}``: ``execution_ms`` is Postgres' own time for each path's statements,
    summed; findings are the statements with such a scan, except the paginator's whole-table
    counts, which are listed apart with their execution time.
    """
    rows = table_rows()
    big = {name for name, count in rows.items() if count >= min_rows}
    planned: list[PlanFinding] = []
    for label, (slug, form) in token_requests.items():
        statements = token_path_statements(tenant_slug=slug, form=form)
        planned += explain_statements(label, statements, big=big, min_rows=min_rows)
    for page in page_queries(views=views):
        planned += explain_statements(f"{page.who} {page.path}", page.statements, big=big, min_rows=min_rows)
    counts = {}
    for finding in planned:
        match = WHOLE_TABLE_COUNT.match(finding.sql)
        if match and match.group(1) in big:
            counts[match.group(1)] = round(whole_table_count_ms(finding.sql), 2)
    execution_ms: dict[str, float] = {}
    for finding in planned:
        execution_ms[finding.path] = execution_ms.get(finding.path, 0.0) + finding.execution_ms
    return {
        "big_tables": {name: rows[name] for name in sorted(big)},
        "statements": len(planned),
        "execution_ms": {path: round(ms, 3) for path, ms in execution_ms.items()},
        "findings": [asdict(f) for f in planned if f.seq_scans and not WHOLE_TABLE_COUNT.match(f.sql)],
        "whole_table_counts": counts,
    }
