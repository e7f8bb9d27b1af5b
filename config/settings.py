"""Portcullis settings: one module, driven by the environment.

Every knob an operator may turn is read from an environment variable here and
documented in README.md ("Configuration"). Secrets have no defaults outside
development (DEBUG=true): a production process without SECRET_KEY refuses to start.
"""

import base64
import hashlib
import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTCULLIS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core ----------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
# The production switch for the transport: HTTPS=true says browsers and clients reach this server
# over HTTPS only (directly, or through a TLS-terminating proxy: then also BEHIND_PROXY=true). It
# turns on the redirect to https, HSTS, Secure cookies and CSP's upgrade-insecure-requests
# ("Requests, security" below); with DEBUG=false and a real SECRET_KEY, `manage.py check --deploy`
# is clean (make test checks it).
HTTPS = env_bool("HTTPS", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (make run generates one in var/), "
            "or set DEBUG=true for a development-only key."
        )
    SECRET_KEY = "development-only-insecure-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
PORT = int(os.environ.get("PORT", "8000"))
# Base URL used when there is no request to read the host from (management commands,
# stored audiences such as the Management API identifier).
PUBLIC_URL = os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{PORT}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "apps.core",
    "apps.tenants",
    "apps.accounts",
    "apps.audit",
    "apps.apis",
    "apps.applications",
    "apps.grants",
    "apps.token_rules",
    "apps.oauth",
    "apps.management",
    "apps.dashboard",
    "apps.timesheets",
]

MIDDLEWARE = [
    # First: the request id covers everything below, and the request line records every answer.
    "apps.core.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.tenants.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # SECURE_CSP below; after WhiteNoise, so static files are served without it.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "apps.core.unavailable.DatabaseUnavailableMiddleware",
]

# The token endpoint, introspection and the health probes skip everything above but the request
# log and tenant resolution (apps.core.handlers.RoutedWSGIHandler): no session, CSRF, auth,
# messages or SSL redirect there.
LEAN_MIDDLEWARE = [
    "apps.core.request_log.RequestLogMiddleware",
    "apps.tenants.middleware.TenantMiddleware",
    "apps.core.unavailable.DatabaseUnavailableMiddleware",
]
LEAN_URLCONF = "config.urls_lean"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
# Postgres when DATABASE_URL is set; an embedded SQLite file under var/ otherwise (demo only).
# Persistent connections matter: opening one per request costs the token endpoint 3.5-4x. Each
# thread that serves requests keeps its own (CONN_MAX_AGE seconds, checked before reuse after a
# request, so a connection that died with a database restart is replaced, not used): a server
# holds up to WEB_CONCURRENCY x (THREADS + 2) connections (config/serve.py; the two are the
# token-log writer and the expired-rows sweeper of each worker). Size Postgres's max_connections
# for every server process together (README, "Production deployment").
DATABASE_URL = os.environ.get("DATABASE_URL", "")
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "600"))
# A query running longer than this many milliseconds is cancelled by Postgres: a lock wait or a
# runaway query must not hold a worker thread and its connection forever. The server sets 15000
# when it is unset (config/serve.py); manage.py commands have no limit unless it is set (a
# migration may rewrite a big table; the migration Job says 0 explicitly). Postgres only.
DB_STATEMENT_TIMEOUT_MS = int(os.environ.get("DB_STATEMENT_TIMEOUT_MS") or "0")
# Seconds to wait for a new connection (libpq's connect_timeout, at least 2): a database host that
# drops packets fails requests after this long instead of hanging them.
DB_CONNECT_TIMEOUT = int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))
# Server-side parameter binding (psycopg 3): a statement run more than a few times on a
# connection is prepared once, so Postgres stops re-parsing and re-planning the token path's
# queries (it halves Postgres's CPU per refresh). Turn it off behind a pooler that cannot keep
# prepared statements (PgBouncer in transaction mode before 1.21's max_prepared_statements).
DATABASE_SERVER_SIDE_BINDING = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        _db_options = DATABASES["default"].setdefault("OPTIONS", {})
        _db_options["server_side_binding"] = DATABASE_SERVER_SIDE_BINDING
        # Parameters given in DATABASE_URL's query string (?connect_timeout=..&options=..) win.
        _db_options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
        if DB_STATEMENT_TIMEOUT_MS > 0:
            _db_options.setdefault("options", f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portcullis.sqlite3",
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Seconds to wait for Redis to accept a connection or answer a command: an unreachable Redis
# fails a cache call after this long instead of hanging the request.
REDIS_TIMEOUT_SECONDS = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "1"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT_SECONDS,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a server process may serve tenant, client, API, grant and key data from memory
# before re-reading it. A change made through our services is visible at once in the process
# that made it and within this many seconds everywhere else. 0 disables the cache.
CONFIG_CACHE_SECONDS = float(os.environ.get("CONFIG_CACHE_SECONDS", "5"))
# With REDIS_URL, how often each process checks the shared cache for configuration changes
# made by other processes (one cache read per interval); such changes apply within it.
CONFIG_SYNC_SECONDS = float(os.environ.get("CONFIG_SYNC_SECONDS", "0.5"))
# Stale if error: when the database is unreachable, cached configuration (tenants, clients, APIs,
# client grants, keys, deny list, rules) is served for up to this long past its expiry, so the
# token endpoint keeps issuing client_credentials tokens through a database outage. 0 disables.
CONFIG_STALE_IF_ERROR_SECONDS = float(os.environ.get("CONFIG_STALE_IF_ERROR_SECONDS", "300"))
# Retry-After (seconds) on the 503 answered when a request needs the database and it is unreachable.
DATABASE_RETRY_AFTER_SECONDS = int(os.environ.get("DATABASE_RETRY_AFTER_SECONDS", "5"))
# /metrics (Prometheus): open to whoever reaches it unless this bearer token is set.
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")
# How often each worker applies its in-memory metric tally to the shared samples (apps.core.metrics).
METRICS_FLUSH_SECONDS = float(os.environ.get("METRICS_FLUSH_SECONDS", "1"))
# The token log (every token issued or refused) is written in batches this often, off the
# request path; events of the last interval are lost only if a process is killed outright.
# 0 writes each event synchronously.
TOKEN_LOG_FLUSH_SECONDS = float(os.environ.get("TOKEN_LOG_FLUSH_SECONDS", "1"))
# How long a process may answer introspection and userinfo from its copy of the deny list before
# re-reading it (one query per tenant per interval): without REDIS_URL, how long a revocation made
# in one process takes to reach the others.
DENY_LIST_CACHE_SECONDS = float(os.environ.get("DENY_LIST_CACHE_SECONDS", "1"))
# How often resource servers are told to re-read the deny-list feed (/t/<tenant>/oauth/deny-list):
# a deny-listed token is still accepted by a polling API for up to this long.
DENY_LIST_FEED_REFRESH_SECONDS = int(os.environ.get("DENY_LIST_FEED_REFRESH_SECONDS", "30"))

# --- Client IP addresses -------------------------------------------------------------------
# Reverse proxies / load balancers in front of the server, as comma-separated IPs or CIDR ranges
# (TRUSTED_PROXIES="10.0.0.0/8,192.0.2.10"). Only for a request whose peer is one of them is
# X-Forwarded-For read: the client is the right-most address in it that is not a trusted proxy.
# Empty (the default): X-Forwarded-For is ignored and the peer address is the client. The IP is
# what rate limits, brute-force protection and suspicious-IP throttling count by.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or CIDR range"
        ) from None

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.TenantAwareModelBackend"]
# Usernames are unique per tenant (and among portal admins), not globally; our backend
# authenticates within a tenant, so Django's "USERNAME_FIELD must be unique" warning is moot.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
PASSWORD_HASHERS = [
    # User passwords: Argon2id at OWASP's parameters (apps/accounts/hashers.py). Being first, it
    # hashes every new password, and any other hash below is upgraded at the next sign-in.
    "apps.accounts.hashers.PortcullisArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Client secrets only (DOT's CLIENT_SECRET_HASHER): keyed, fast, for high-entropy values.
    "apps.applications.hashers.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]


def _derived_key(purpose: str) -> bytes:
    return hashlib.sha256(f"portcullis:{purpose}:{SECRET_KEY}".encode()).digest()


# Key for the keyed hash of client secrets. Rotating it invalidates every stored secret.
CLIENT_SECRET_HASH_KEY = os.environ.get("CLIENT_SECRET_HASH_KEY") or _derived_key("client-secret").hex()
# Fernet key(s) that encrypt signing private keys and HS256 API secrets at rest; the first
# encrypts, all decrypt (comma-separated, for rotation).
KEY_ENCRYPTION_KEYS = env_list("KEY_ENCRYPTION_KEYS", "") or [
    base64.urlsafe_b64encode(_derived_key("key-encryption")).decode()
]

# --- django-oauth-toolkit (the protocol engine) ------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "applications.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth.IDToken"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "apps.oauth.validators.PortcullisValidator",
    "OAUTH2_BACKEND_CLASS": "apps.oauth.backends.PortcullisOAuthLibCore",
    "SCOPES_BACKEND_CLASS": "apps.oauth.scopes.ApiScopes",
    "ACCESS_TOKEN_GENERATOR": "apps.oauth.tokens.generate_access_token",
    "CLIENT_SECRET_HASHER": "hmac_sha256",
    # Allowed origins of SPAs: http too, for local development (as Auth0 allows).
    "ALLOWED_SCHEMES": ["https", "http"],
    # Our server, built from the grant registry (apps/oauth/server.py), for OAuth and OIDC alike.
    "OAUTH2_SERVER_CLASS": "apps.oauth.server.PortcullisServer",
    "OIDC_SERVER_CLASS": "apps.oauth.server.PortcullisServer",
    "OIDC_ENABLED": True,
    # Auth0: authorization codes live 60 s. ID tokens 10 h (Auth0's default).
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ID_TOKEN_EXPIRE_SECONDS": 36_000,
    # RFC 9700 4.14: refresh tokens rotate on every use; reusing a rotated one revokes its family.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # RFC 9700 4.14 / 2.1.1: tokens stored as checksums only; PKCE "plain" refused.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    # PKCE is required for public clients only (the validator's is_pkce_required decides).
    "PKCE_REQUIRED": False,
}

# --- Token rules -------------------------------------------------------------------------
# A callable ("package.module.function") run for every client-credentials token after the
# tenant's token rules, for what rules cannot express (the contract: apps/token_rules/hooks.py).
PORTCULLIS_TOKEN_HOOK = os.environ.get("PORTCULLIS_TOKEN_HOOK") or None

# --- Refresh-token lifetimes and cleanup -------------------------------------------------------
# Defaults of every tenant's refresh-token lifetimes (a tenant may set its own, in its settings):
# Auth0's. Absolute: from the sign-in that started the token's family, rotation does not extend it.
# Inactivity: a refresh token not used (rotated) for this long expires.
REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS = int(
    os.environ.get("REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS", "2592000")
)
REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS = int(
    os.environ.get("REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS", "1296000")
)
# Expired codes, token rows and deny-list rows are deleted by `manage.py purge_expired` and by a
# background sweep in each server process, at most once per CLEANUP_SWEEP_SECONDS (0 turns the
# sweep off), one process at a time, at most CLEANUP_SWEEP_BATCH rows per table per sweep.
CLEANUP_SWEEP_SECONDS = float(os.environ.get("CLEANUP_SWEEP_SECONDS", "300"))
CLEANUP_SWEEP_BATCH = int(os.environ.get("CLEANUP_SWEEP_BATCH", "100"))
# Log retention (apps.audit.retention): token-log rows and audit events are kept this many days
# (0 keeps them forever); each sweep deletes batches of LOG_PRUNE_BATCH rows for at most
# LOG_PRUNE_BUDGET_SECONDS, enough to keep up with thousands of tokens a second.
LOG_RETENTION_DAYS = int(os.environ.get("LOG_RETENTION_DAYS", "30"))
LOG_PRUNE_BATCH = int(os.environ.get("LOG_PRUNE_BATCH", "5000"))
LOG_PRUNE_BUDGET_SECONDS = float(os.environ.get("LOG_PRUNE_BUDGET_SECONDS", "10"))

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    # Only used when an OpenAPI document is generated (the Management API's); no effect on requests.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# drf-spectacular: the Management API's OpenAPI 3 document (apps.management.api.schema).
SPECTACULAR_SETTINGS = {
    "TITLE": "Portcullis Management API v2",
    "VERSION": "2.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.management.api.schema.management_error_responses",
    ],
}

# The sample Timesheets API trusts tokens from this issuer only, verified through its JWKS.
TIMESHEETS_RESOURCE_SERVER = {
    "ISSUER": os.environ.get("TIMESHEETS_ISSUER", f"{PUBLIC_URL}/t/demo/"),
    "AUDIENCE": os.environ.get("TIMESHEETS_AUDIENCE", "https://timesheets.example.com"),
    "ALGORITHMS": ["RS256", "ES256"],
    # Refuse revoked tokens from the issuer's deny-list feed (<ISSUER>oauth/deny-list), polled every
    # 30 s (apps/resource_kit/README.md, "Revocation"); TIMESHEETS_DENY_LIST=false turns it off.
    "DENY_LIST": env_bool("TIMESHEETS_DENY_LIST", True),
}

# --- Requests, security ------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # token requests are tiny; refuse big bodies early
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
# Behind a TLS-terminating proxy or load balancer (BEHIND_PROXY=true), its X-Forwarded-Proto says
# whether the client used https and X-Forwarded-Host which host it asked for: the proxy must set
# both, overwriting what clients send.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
USE_X_FORWARDED_HOST = env_bool("BEHIND_PROXY", False)
# HTTPS=true: pages asked for over http are redirected to https, and browsers are told (HSTS) to
# use https only for HSTS_SECONDS. Health probes are exempt (orchestrators probe the pod over
# plain HTTP); the lean handler (token endpoint, introspection) never redirects anyway: a client
# that sent its secret over http has already exposed it, a redirect would only hide the mistake.
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000")) if HTTPS else 0
# includeSubDomains and preload, as `check --deploy` asks: turn them off (false) if subdomains of
# this host are served over http. preload only matters once the domain is submitted to the list.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every page of the full stack (the admin, the end-user pages, the
# sample app; the lean token path has no HTML and skips it). Our templates and Django's admin
# load scripts and styles from files only, so no 'unsafe-inline' anywhere; Django's debug pages
# exempt themselves. No page may be framed (clickjacking a consent or sign-in form), in CSP as
# in X-Frame-Options. form-action is left out on purpose: it does not fall back to default-src,
# and browsers (Chromium) also check it on the redirects that follow a form post. A sign-in or
# consent POST ends in a redirect to the client's redirect_uri - any origin, and for native apps
# a private-use scheme (RFC 8252 7.1, com.example.app:/cb) that no fixed source list can name.
SECURE_CSP = {
    "default-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}
if HTTPS:
    SECURE_CSP["upgrade-insecure-requests"] = True

# --- I18N, static ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Where `collectstatic` puts static files (the container image does, at build time). Unset (make
# run): WhiteNoise serves them straight from the finders, no collectstatic step to forget. Set:
# WhiteNoise serves the collected files only, indexed once at start-up.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = STATIC_ROOT is None

# --- Logging -----------------------------------------------------------------------------
# Everything goes to stdout, one JSON object per line (LOG_FORMAT=text for a terminal), each
# record emitted while serving a request stamped with its request id (X-Request-ID, accepted from
# the caller when sane, else generated, and returned). Every request writes one line to
# portcullis.request (apps/core/request_log.py: method, path, status, duration, tenant, client id;
# never a query string, body or credential header); REQUEST_LOG=false turns those lines off.
# django.request's per-4xx warnings are dropped (the request line says it); its 5xx tracebacks stay.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING").upper()
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").lower()
REQUEST_LOG = env_bool("REQUEST_LOG", True)
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "apps.core.request_log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {
        "request_id": {"()": "apps.core.request_log.RequestIdFilter"},
        "server_errors_only": {"()": "apps.core.request_log.ServerErrorsOnly"},
        "refused_host_warning": {"()": "apps.core.request_log.RefusedHostWarning"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "loggers": {
        # Replaces Django's default "django" logger config (console in DEBUG, mail_admins otherwise).
        "django": {"handlers": ["stdout"], "level": LOG_LEVEL, "propagate": False},
        "django.request": {"filters": ["server_errors_only"]},
        "django.security.DisallowedHost": {"filters": ["refused_host_warning"]},
        "portcullis.request": {
            "handlers": ["stdout"],
            "level": "INFO" if REQUEST_LOG else "WARNING",
            "propagate": False,
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
}

# --- Health (apps/core/health.py) ------------------------------------------------------
# /health/ready's database and cache checks give up after this many seconds (the database check's
# connect timeout is whole seconds, at least 2).
HEALTH_CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", "2"))

# --- Sample web app (/sample/) -----------------------------------------------------------
# The sample "Timesheets web" relying party signs in through the demo tenant with the client
# credentials that `bootstrap_demo` writes to var/demo.json, re-read on each request. To point
# it elsewhere, set a dict with the keys ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI,
# POST_LOGOUT_REDIRECT_URI, AUDIENCE, SCOPE (and optionally TIMESHEETS_URL,
# TOKEN_ENDPOINT_AUTH_METHOD); tests do, through pytest-django's `settings` fixture.
SAMPLE_WEB = None

# --- Multi-factor authentication (TOTP, apps/accounts/mfa) ---------------------------------
# Auth0's mfa_token lives 10 minutes; the login page's pending second step lives as long.
MFA_TOKEN_LIFETIME_SECONDS = int(os.environ.get("MFA_TOKEN_LIFETIME_SECONDS", "600"))
# Consecutive wrong one-time or recovery codes (per tenant and user, counted by apps.core.counters:
# shared by all processes, in Redis or the database) before codes are refused for MFA_LOCKOUT_SECONDS.
MFA_MAX_FAILED_ATTEMPTS = int(os.environ.get("MFA_MAX_FAILED_ATTEMPTS", "10"))
MFA_LOCKOUT_SECONDS = int(os.environ.get("MFA_LOCKOUT_SECONDS", "900"))

# --- Dynamic client registration (RFC 7591, /t/<tenant>/oidc/register) --------------------
# Registrations (successful or not) allowed per client IP address and tenant in each window.
# Counted by apps.core.counters: shared by all processes (in Redis with REDIS_URL, else the database).
DCR_RATE_LIMIT = int(os.environ.get("DCR_RATE_LIMIT", "10"))
DCR_RATE_LIMIT_WINDOW_SECONDS = int(os.environ.get("DCR_RATE_LIMIT_WINDOW_SECONDS", "3600"))

# --- Deployment checks (`manage.py check --deploy`, run by make test) ----------------------
# What `check --deploy` warns about but this project does on purpose, so that any other warning
# fails the build. django-oauth-toolkit's RFC 9700 warnings:
SILENCED_SYSTEM_CHECKS += [
    # Implicit and password grants: part of the contract (DESIGN.md, Auth0's semantics); each
    # application may use only the grant types its tenant admin enabled for it.
    "oauth2_provider.W001",
    "oauth2_provider.W002",
    # Access tokens in a URL query (RFC 9700 4.3.2): DOT's gate covers only its protected-resource
    # views, which we do not use; our userinfo (oauthlib's endpoint) still reads ?access_token=.
    # Refusing it there is a protocol change left to the OAuth endpoints (known, not deliberate).
    "oauth2_provider.W004",
    # RFC 9207 `iss` in authorization responses: apps/oauth/authorization/flow.py adds it itself.
    "oauth2_provider.W005",
    # http redirect URIs: loopback redirects of native apps (RFC 8252 7.3) and local development.
    "oauth2_provider.W008",
    # PKCE is required for public clients (SPA, native) by PortcullisValidator.is_pkce_required,
    # which DOT's PKCE_REQUIRED setting cannot express.
    "oauth2_provider.W010",
]
# drf-spectacular's deploy check generates one OpenAPI document for the whole URLconf (the sample
# app and the tenant prefix as a regex): a document nobody is served. The Management API's
# document is generated per tenant (apps/management/api/schema.py) and tested, fuzzed included,
# in tests/management.
SPECTACULAR_SETTINGS["ENABLE_DJANGO_DEPLOY_CHECK"] = False
