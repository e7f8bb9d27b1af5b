"""Reading a tenant's configuration out as the data of a config file (``manage.py export_tenant``).

What is left out, on purpose:
- secrets of every kind (client secrets exist only as hashes; an HS256 API's signing secret is
  generated again when such an API is created by an import);
- system objects, managed by Portcullis: the tenant's Management API (``is_system``) and its
  management client, and that client's grants. Import refuses entries that name them and never
  deletes them. Grants of *your* applications to the Management API are exported, with the API
  written ``##MANAGEMENT_API##`` (``keywords``: its identifier differs per tenant), as are role
  permissions and token rules that refer to it;
- users, user grants, keys, logs: data, not configuration.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import yaml

from apps.accounts.mfa.selectors import mfa_policy
from apps.accounts.models import Role
from apps.apis.models import Api
from apps.applications.models import Application
from apps.grants.models import ClientGrant
from apps.management.config_code.keywords import management_api_to_keyword
from apps.management.config_code.schema import (
    APIS,
    APPLICATIONS,
    CLIENT_GRANTS,
    FORMAT_VERSION,
    ROLES,
    TENANT,
    TOKEN_RULES,
    ConfigError,
    ConfigProblem,
)
from apps.management.selectors import management_api_identifier
from apps.tenants.models import Tenant
from apps.tenants.selectors import (
    tenant_attack_protection,
    tenant_database_connection,
    tenant_dynamic_registration_enabled,
    tenant_refresh_token_lifetimes,
)
from apps.token_rules.models import TokenRule

MSG_DUPLICATE_NAMES = (
    "Several {what} are named {names}: they are keyed by name in the file, so rename them first "
    "(names must be unique and not empty)."
)

API_FIELDS = (
    "name",
    "signing_alg",
    "token_lifetime",
    "allow_offline_access",
    "skip_consent_for_first_party",
    "rbac_enabled",
    "add_permissions_in_token",
)


def _split(value: str) -> list[str]:
    return value.split()


def tenant_settings_export(*, tenant: Tenant) -> dict[str, Any]:
    """Every tenant setting with its effective value (defaults included), as the file holds them."""
    lifetimes = tenant_refresh_token_lifetimes(tenant=tenant)
    protection = tenant_attack_protection(tenant=tenant)
    brute, throttle = protection.brute_force, protection.suspicious_ip
    return {
        "enable_dynamic_client_registration": tenant_dynamic_registration_enabled(tenant=tenant),
        "refresh_token": {
            "token_lifetime": lifetimes.absolute_seconds,
            "idle_token_lifetime": lifetimes.inactivity_seconds,
        },
        "brute_force_protection": {
            "enabled": brute.enabled,
            "max_attempts": brute.max_attempts,
            "block_duration_seconds": brute.block_duration_seconds,
            "allowlist": list(brute.allowlist),
        },
        "suspicious_ip_throttling": {
            "enabled": throttle.enabled,
            "max_attempts": throttle.max_attempts,
            "window_seconds": throttle.window_seconds,
            "allowlist": list(throttle.allowlist),
        },
        "mfa_policy": str(mfa_policy(tenant=tenant).value),
        "database_connection_name": tenant_database_connection(tenant=tenant),
    }


def api_export(api: Api) -> dict[str, Any]:
    return {
        "identifier": api.identifier,
        **{name: getattr(api, name) for name in API_FIELDS},
        "scopes": [{"value": scope.value, "description": scope.description} for scope in api.scopes.all()],
    }


def application_export(application: Application) -> dict[str, Any]:
    return {
        "name": application.name,
        "client_id": application.client_id,
        "app_type": application.app_type,
        "description": application.description,
        "is_first_party": application.is_first_party,
        "is_active": application.is_active,
        "grant_types": list(application.grant_types),
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "callbacks": _split(application.redirect_uris),
        "allowed_origins": _split(application.allowed_origins),
        "logout_urls": _split(application.post_logout_redirect_uris),
        "client_metadata": dict(application.client_metadata or {}),
        "is_token_endpoint_ip_header_trusted": application.is_token_endpoint_ip_header_trusted,
    }


def client_grant_export(grant: ClientGrant) -> dict[str, Any]:
    return {"application": grant.application.name, "api": grant.api.identifier, "scopes": list(grant.scopes)}


def role_export(role: Role) -> dict[str, Any]:
    permissions: dict[str, list[str]] = {}
    for scope in sorted(role.permissions.select_related("api"), key=lambda s: (s.api.identifier, s.value)):
        permissions.setdefault(scope.api.identifier, []).append(scope.value)
    return {"name": role.name, "description": role.description, "permissions": permissions}


def token_rule_export(rule: TokenRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "application": rule.application.name if rule.application_id else None,
        "api": rule.api.identifier if rule.api_id else None,
        "metadata_key": rule.metadata_key,
        "metadata_value": rule.metadata_value,
        "action": rule.action,
        "claims": dict(rule.claims),
        "metadata_claims": dict(rule.metadata_claims),
        "add_scopes": list(rule.add_scopes),
        "remove_scopes": list(rule.remove_scopes),
        "deny_message": rule.deny_message,
    }


def _refuse_duplicate_names(kind: str, what: str, names: list[str]) -> None:
    counts = Counter(names)
    duplicates = sorted(name for name, count in counts.items() if count > 1 or not name)
    if duplicates:
        shown = ", ".join(repr(name) for name in duplicates)
        raise ConfigError(
            [ConfigProblem(kind, None, "name", MSG_DUPLICATE_NAMES.format(what=what, names=shown))]
        )


def tenant_config_export(*, tenant: Tenant) -> dict[str, Any]:
    """The tenant's configuration as the data of a config file (every kind, no secrets).

    Raises ``ConfigError`` when two applications or two token rules share a name (or have none):
    such a tenant cannot be described by name, and the admin must rename one first.
    """
    applications = list(Application.objects.for_tenant(tenant).filter(is_system=False).order_by("name", "pk"))
    _refuse_duplicate_names(APPLICATIONS, "applications", [app.name for app in applications])
    rules = list(
        TokenRule.objects.for_tenant(tenant).order_by("order", "id").select_related("application", "api")
    )
    _refuse_duplicate_names(TOKEN_RULES, "token rules", [rule.name for rule in rules])
    apis = (
        Api.objects.for_tenant(tenant)
        .filter(is_system=False)
        .order_by("identifier")
        .prefetch_related("scopes")
    )
    grants = (
        ClientGrant.objects.for_tenant(tenant)
        .filter(application__is_system=False)
        .select_related("application", "api")
        .order_by("application__name", "api__identifier")
    )
    config = {
        "version": FORMAT_VERSION,
        TENANT: {
            "name": tenant.name,
            "default_audience": tenant.default_audience,
            "settings": tenant_settings_export(tenant=tenant),
        },
        APIS: [api_export(api) for api in apis],
        APPLICATIONS: [application_export(app) for app in applications],
        CLIENT_GRANTS: [client_grant_export(grant) for grant in grants],
        ROLES: [role_export(role) for role in Role.objects.for_tenant(tenant).order_by("name")],
        TOKEN_RULES: [token_rule_export(rule) for rule in rules],
    }
    return management_api_to_keyword(config, identifier=management_api_identifier(tenant_id=tenant.pk))


# --- file formats -----------------------------------------------------------------------------------
YAML = "yaml"
JSON = "json"
FORMATS = (YAML, JSON)


def format_for_path(path: str | None, default: str = YAML) -> str:
    """JSON for a ``.json`` file name, else ``default`` (YAML)."""
    return JSON if path and path.lower().endswith(".json") else default


def config_dump(data: dict[str, Any], *, fmt: str, header: str = "") -> str:
    """``data`` as YAML (keys in the order written, a ``header`` comment on top) or as JSON."""
    if fmt == JSON:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


MSG_PARSE_ERROR = "Cannot read the file as {fmt}: {error}"


def config_load(text: str, *, fmt: str) -> Any:
    """Parse a config file; raises ``ConfigError`` for a file that is not valid YAML / JSON."""
    try:
        return json.loads(text) if fmt == JSON else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            [ConfigProblem("file", None, None, MSG_PARSE_ERROR.format(fmt=fmt.upper(), error=exc))]
        ) from None
