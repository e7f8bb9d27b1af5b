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
]

# The token endpoint and /healthz skip everything above but tenant resolution
# (apps.core.handlers.RoutedWSGIHandler): no session, CSRF, auth or messages there.
LEAN_MIDDLEWARE = ["apps.tenants.middleware.TenantMiddleware"]
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
# Persistent connections matter: opening one per request costs the token endpoint 3.5-4x.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "600"))
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
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = DATABASE_SERVER_SIDE_BINDING
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
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a server process may serve tenant, client, API, grant and key data from memory
# before re-reading it. A change made through our services is visible at once in the process
# that made it and within this many seconds everywhere else. 0 disables the cache.
CONFIG_CACHE_SECONDS = float(os.environ.get("CONFIG_CACHE_SECONDS", "5"))
# With REDIS_URL, how often each process checks the shared cache for configuration changes
# made by other processes (one cache read per interval); such changes apply within it.
CONFIG_SYNC_SECONDS = float(os.environ.get("CONFIG_SYNC_SECONDS", "0.5"))
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
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
USE_X_FORWARDED_HOST = env_bool("BEHIND_PROXY", False)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
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

# --- I18N, static ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None  # only for `collectstatic` behind a CDN
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files straight from the finders: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

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
# --- Health (apps/core/health.py) ------------------------------------------------------
# /health/ready's database and cache checks give up after this many seconds (the database check's
# connect timeout is whole seconds, at least 2).
HEALTH_CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", "2"))

