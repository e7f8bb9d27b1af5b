"""The tenant configuration file: its kinds, their fields, and the structural check run before any write.

One file describes one tenant (``manage.py export_tenant`` writes it, ``import_tenant`` applies it),
in the spirit of Auth0's Deploy CLI: every object is keyed by something a person can read and that
survives a move to another tenant (an API by its identifier, an application, role or token rule by
its name, a client grant by application name + API identifier), never by a generated id.

``config_check`` finds every structural problem at once (unknown keys, wrong types, missing keys,
duplicate keys) before anything is written; the services then validate values while the import
runs inside one transaction, so a refusal there still writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1

# Kinds in the order they are applied (each may refer to the ones before it).
TENANT = "tenant"
APIS = "apis"
APPLICATIONS = "applications"
CLIENT_GRANTS = "client_grants"
ROLES = "roles"
TOKEN_RULES = "token_rules"
LIST_KINDS = (APIS, APPLICATIONS, CLIENT_GRANTS, ROLES, TOKEN_RULES)
TOP_LEVEL_KEYS = ("version", TENANT, *LIST_KINDS)

MSG_NOT_A_MAPPING = "The file must hold a mapping of {keys}."
MSG_UNKNOWN_KEYS = "Unknown keys: {keys}. Allowed: {allowed}."
MSG_MISSING_KEY = "Required."
MSG_WRONG_TYPE = "Must be {expected}."
MSG_DUPLICATE = "Listed more than once."
MSG_EMPTY_KEY = "Must not be empty: entries are known by it."
MSG_VERSION = f"Unsupported version {{version!r}}: this server reads version {FORMAT_VERSION}."
MSG_KIND_NOT_A_LIST = "Must be a list of entries."
MSG_ENTRY_NOT_A_MAPPING = "Each entry must be a mapping."


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the file, located by kind, key (the entry's name) and field."""

    kind: str
    key: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.kind
        if self.key is not None:
            where += f" {self.key!r}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The file cannot be applied; ``problems`` says where and why. Nothing was written."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# --- field types ------------------------------------------------------------------------------------


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _is_json_object(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) for k in value)


def _is_scopes(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict)
        and set(item) <= {"value", "description"}
        and isinstance(item.get("value"), str)
        and isinstance(item.get("description", ""), str)
        for item in value
    )


def _is_permissions(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _is_str_list(v) for k, v in value.items())


@dataclass(frozen=True, slots=True)
class FieldType:
    check: Callable[[Any], bool]
    expected: str


STR = FieldType(_is_str, "a string")
BOOL = FieldType(_is_bool, "true or false")
INT = FieldType(_is_int, "a whole number")
STR_LIST = FieldType(_is_str_list, "a list of strings")
STR_OR_NULL = FieldType(_is_str_or_none, "a string or null")
STR_MAP = FieldType(_is_str_map, "a mapping of strings to strings")
JSON_OBJECT = FieldType(_is_json_object, "a mapping")
SCOPES = FieldType(_is_scopes, "a list of {value, description} mappings")
PERMISSIONS = FieldType(_is_permissions, "a mapping of API identifier to a list of scopes")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """The fields of one kind's entries; ``key_fields`` identify an entry, ``required`` must be there."""

    fields: dict[str, FieldType]
    key_fields: tuple[str, ...]
    required: tuple[str, ...]


# Settings kept in ``Tenant.settings``, each written by its own service (apps.tenants, apps.accounts.mfa).
REFRESH_TOKEN_FIELDS = {"token_lifetime": INT, "idle_token_lifetime": INT}
BRUTE_FORCE_FIELDS = {
    "enabled": BOOL,
    "max_attempts": INT,
    "block_duration_seconds": INT,
    "allowlist": STR_LIST,
}
SUSPICIOUS_IP_FIELDS = {"enabled": BOOL, "max_attempts": INT, "window_seconds": INT, "allowlist": STR_LIST}
SETTINGS_FIELDS: dict[str, FieldType | dict[str, FieldType]] = {
    "enable_dynamic_client_registration": BOOL,
    "refresh_token": REFRESH_TOKEN_FIELDS,
    "brute_force_protection": BRUTE_FORCE_FIELDS,
    "suspicious_ip_throttling": SUSPICIOUS_IP_FIELDS,
    "mfa_policy": STR,
    "database_connection_name": STR,
}
TENANT_FIELDS = {"name": STR, "default_audience": STR}

KINDS: dict[str, KindSpec] = {
    APIS: KindSpec(
        fields={
            "identifier": STR,
            "name": STR,
            "signing_alg": STR,
            "token_lifetime": INT,
            "allow_offline_access": BOOL,
            "skip_consent_for_first_party": BOOL,
            "rbac_enabled": BOOL,
            "add_permissions_in_token": BOOL,
            "scopes": SCOPES,
        },
        key_fields=("identifier",),
        required=("identifier", "name"),
    ),
    APPLICATIONS: KindSpec(
        fields={
            "name": STR,
            "client_id": STR,  # for reference (and to recognise a renamed application); never required
            "app_type": STR,
            "description": STR,
            "is_first_party": BOOL,
            "is_active": BOOL,
            "grant_types": STR_LIST,
            "token_endpoint_auth_method": STR,
            "callbacks": STR_LIST,
            "allowed_origins": STR_LIST,
            "logout_urls": STR_LIST,
            "client_metadata": STR_MAP,
            "is_token_endpoint_ip_header_trusted": BOOL,
        },
        key_fields=("name",),
        required=("name", "app_type"),
    ),
    CLIENT_GRANTS: KindSpec(
        fields={"application": STR, "api": STR, "scopes": STR_LIST},
        key_fields=("application", "api"),
        required=("application", "api"),
    ),
    ROLES: KindSpec(
        fields={"name": STR, "description": STR, "permissions": PERMISSIONS},
        key_fields=("name",),
        required=("name",),
    ),
    TOKEN_RULES: KindSpec(
        fields={
            "name": STR,
            "enabled": BOOL,
            "application": STR_OR_NULL,
            "api": STR_OR_NULL,
            "metadata_key": STR,
            "metadata_value": STR,
            "action": STR,
            "claims": JSON_OBJECT,
            "metadata_claims": JSON_OBJECT,
            "add_scopes": STR_LIST,
            "remove_scopes": STR_LIST,
            "deny_message": STR,
        },
        key_fields=("name",),
        required=("name",),
    ),
}


def entry_key(kind: str, entry: dict[str, Any]) -> str:
    """How messages and the plan name an entry: its key fields, ``application -> api`` for a grant."""
    values = [str(entry.get(field)) for field in KINDS[kind].key_fields]
    return " -> ".join(values)


def _check_fields(
    problems: list[ConfigProblem],
    *,
    kind: str,
    key: str | None,
    data: dict[str, Any],
    fields: dict[str, Any],
    prefix: str = "",
) -> None:
    unknown = sorted(set(data) - set(fields), key=str)
    if unknown:
        problems.append(
            ConfigProblem(
                kind,
                key,
                prefix.rstrip(".") or None,
                MSG_UNKNOWN_KEYS.format(keys=", ".join(map(str, unknown)), allowed=", ".join(fields)),
            )
        )
    for name, value in data.items():
        spec = fields.get(name)
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                problems.append(
                    ConfigProblem(kind, key, prefix + name, MSG_WRONG_TYPE.format(expected="a mapping"))
                )
            else:
                _check_fields(
                    problems, kind=kind, key=key, data=value, fields=spec, prefix=f"{prefix}{name}."
                )
        elif isinstance(spec, FieldType) and not spec.check(value):
            problems.append(
                ConfigProblem(kind, key, prefix + name, MSG_WRONG_TYPE.format(expected=spec.expected))
            )


def config_check(config: Any) -> None:
    """Raise ``ConfigError`` listing every structural problem of ``config`` (a parsed file), or return.

    Checks shapes only (keys, types, duplicates); values are the services' to judge.
    """
    if not isinstance(config, dict):
        raise ConfigError(
            [ConfigProblem("file", None, None, MSG_NOT_A_MAPPING.format(keys=", ".join(TOP_LEVEL_KEYS)))]
        )
    problems: list[ConfigProblem] = []
    unknown = sorted(set(config) - set(TOP_LEVEL_KEYS), key=str)
    if unknown:
        problems.append(
            ConfigProblem(
                "file",
                None,
                None,
                MSG_UNKNOWN_KEYS.format(keys=", ".join(map(str, unknown)), allowed=", ".join(TOP_LEVEL_KEYS)),
            )
        )
    if "version" in config and config["version"] != FORMAT_VERSION:
        problems.append(ConfigProblem("file", None, "version", MSG_VERSION.format(version=config["version"])))
    if TENANT in config:
        tenant = config[TENANT]
        if not isinstance(tenant, dict):
            problems.append(ConfigProblem(TENANT, None, None, MSG_WRONG_TYPE.format(expected="a mapping")))
        else:
            _check_fields(
                problems,
                kind=TENANT,
                key=None,
                data=tenant,
                fields={**TENANT_FIELDS, "settings": SETTINGS_FIELDS},
            )
    for kind in LIST_KINDS:
        if kind not in config:
            continue
        entries = config[kind]
        if entries is None:
            entries = config[kind] = []  # "apis:" with nothing under it: an empty list
        if not isinstance(entries, list):
            problems.append(ConfigProblem(kind, None, None, MSG_KIND_NOT_A_LIST))
            continue
        spec = KINDS[kind]
        seen: set[str] = set()
        for position, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict):
                problems.append(ConfigProblem(kind, f"#{position}", None, MSG_ENTRY_NOT_A_MAPPING))
                continue
            missing = [name for name in spec.required if name not in entry]
            empty = [n for n in spec.key_fields if isinstance(entry.get(n), str) and not entry[n].strip()]
            unusable = missing or empty or not all(_is_str(entry.get(n)) for n in spec.key_fields)
            key = f"#{position}" if unusable else entry_key(kind, entry)
            for name in missing:
                problems.append(ConfigProblem(kind, key, name, MSG_MISSING_KEY))
            for name in empty:
                problems.append(ConfigProblem(kind, key, name, MSG_EMPTY_KEY))
            _check_fields(problems, kind=kind, key=key, data=entry, fields=spec.fields)
            if not unusable:
                # Role names are unique case-insensitively (as in the database).
                folded = key.casefold() if kind == ROLES else key
                if folded in seen:
                    problems.append(ConfigProblem(kind, key, None, MSG_DUPLICATE))
                seen.add(folded)
    if problems:
        raise ConfigError(problems)
