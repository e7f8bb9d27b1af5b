"""Applying a config file to a tenant (``manage.py import_tenant``), through the admin's services.

Semantics (modelled on Auth0's Deploy CLI):
- The file is the whole truth for the kinds it lists: an API, application, client grant, role or
  token rule of a listed kind that the file does not name is deleted, unless ``allow_delete`` is
  False (the command's ``--no-delete``, Deploy CLI's ``AUTH0_ALLOW_DELETE=false``). A kind the file
  leaves out is not touched. System objects (the Management API, the management client and its
  grants) are never deleted, and an entry naming them is refused.
- Within an entry, a field left out keeps its current value (a new object gets the default).
- ``##MANAGEMENT_API##`` names this tenant's Management API wherever the file names an API
  (``keywords``): an export of one tenant imports into another.
- One transaction: every write goes through the same service as the admin (which validates and
  records an audit event, actor label ``import``); the first refusal rolls everything back and is
  reported as a ``ConfigError`` naming kind, key and field. A dry run does the same work and rolls
  it back, so it finds exactly the refusals a real import would meet.
- The plan records each change as it is made, so it is what the import does (a scope removed from
  an API is also gone from grants and roles before they are compared).
- A created application's client secret is returned once, in ``ImportResult.secrets``, and only
  when the transaction committed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.accounts.models import Role
from apps.accounts.rbac.services import role_create, role_delete, role_update
from apps.apis.models import Api, Scope
from apps.apis.services import api_create, api_delete, api_scopes_set, api_update
from apps.applications.models import Application
from apps.applications.services import application_create, application_delete, application_update
from apps.grants.models import ClientGrant
from apps.grants.services import client_grant_create, client_grant_delete, client_grant_update
from apps.management.config_code.export import (
    API_FIELDS,
    MSG_DUPLICATE_NAMES,
    application_export,
    tenant_settings_export,
    token_rule_export,
)
from apps.management.config_code.keywords import MANAGEMENT_API, management_api_from_keyword
from apps.management.config_code.plan import CREATE, DELETE, UPDATE, Change, Plan
from apps.management.config_code.schema import (
    APIS,
    APPLICATIONS,
    CLIENT_GRANTS,
    ROLES,
    TENANT,
    TOKEN_RULES,
    ConfigError,
    ConfigProblem,
    config_check,
    entry_key,
)
from apps.management.selectors import management_api_identifier
from apps.management.services import MANAGEMENT_API_PATH
from apps.tenants.models import Tenant
from apps.tenants.services import (
    attack_protection_allowlist_clean,
    tenant_brute_force_protection_set,
    tenant_database_connection_set,
    tenant_dynamic_registration_set,
    tenant_refresh_token_lifetimes_set,
    tenant_suspicious_ip_throttling_set,
    tenant_update,
)
from apps.token_rules.models import TokenRule
from apps.token_rules.services import (
    token_rule_create,
    token_rule_delete,
    token_rule_reorder,
    token_rule_update,
)

IMPORT_ACTOR = "import"

MSG_SYSTEM_API = "This is the tenant's Management API, managed by Portcullis: remove it from the file."
MSG_SYSTEM_APPLICATION = (
    "This name belongs to the management client, managed by Portcullis: use another name."
)
MSG_NO_SUCH_APPLICATION = "No application named {name!r} in the file or the tenant."
MSG_NO_SUCH_API = "No API with identifier {identifier!r} in the file or the tenant."
MSG_NO_MANAGEMENT_API = f"This tenant has no Management API for {MANAGEMENT_API} to name."
MSG_LITERAL_MANAGEMENT_API = (
    f" If it is another tenant's Management API, write {MANAGEMENT_API}: it names this tenant's own."
)
MSG_NO_SUCH_SCOPES = "Not defined by the API {identifier}: {scopes}."
MSG_APP_TYPE_IMMUTABLE = (
    "An application's type cannot change ({before} -> {after}): give it a new name to replace it."
)
# Model field names a service reports, as the file calls them.
FILE_FIELD_NAMES = {"redirect_uris": "callbacks", "post_logout_redirect_uris": "logout_urls", "__all__": None}
TOKEN_RULE_ORDER_KEY = "(order)"


@dataclass(frozen=True, slots=True)
class CreatedSecret:
    """A client secret generated for an application the import created: shown once, never stored."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(slots=True)
class ImportResult:
    plan: Plan
    dry_run: bool
    secrets: list[CreatedSecret] = field(default_factory=list)


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


def _problems_from(kind: str, key: str | None, exc: ValidationError) -> list[ConfigProblem]:
    if hasattr(exc, "error_dict"):
        return [
            ConfigProblem(kind, key, FILE_FIELD_NAMES.get(name, name), message)
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return [ConfigProblem(kind, key, None, message) for message in exc.messages]


class _Refused(Exception):
    """A service refused an entry: carries the problems out of the transaction, which rolls back."""

    def __init__(self, kind: str, key: str | None, exc: ValidationError, *, field: str | None = None) -> None:
        problems = _problems_from(kind, key, exc)
        if field is not None:
            problems = [
                ConfigProblem(p.kind, p.key, field if p.field is None else f"{field}.{p.field}", p.message)
                for p in problems
            ]
        self.problems = problems


def tenant_config_import(
    *,
    tenant: Tenant,
    config: Any,
    allow_delete: bool = True,
    dry_run: bool = False,
    actor: object = IMPORT_ACTOR,
) -> ImportResult:
    """Make ``tenant``'s configuration what ``config`` (a parsed file) says; return what changed.

    Raises ``ConfigError`` (nothing written) for a structural problem, a reference to nothing, or
    a value a service refuses. With ``dry_run`` every change is made and then rolled back.
    """
    config_check(config)
    config = management_api_from_keyword(config, identifier=management_api_identifier(tenant_id=tenant.pk))
    importer = _Importer(tenant=tenant, config=config, allow_delete=allow_delete, actor=actor)
    importer.check_references()
    try:
        with transaction.atomic():
            importer.run()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except _Refused as refused:
        tenant.refresh_from_db()  # the services changed this instance; the database was rolled back
        raise ConfigError(refused.problems) from None
    if dry_run:
        tenant.refresh_from_db()
    return ImportResult(plan=importer.plan, dry_run=dry_run, secrets=[] if dry_run else importer.secrets)


def _scope_map(entry: dict[str, Any]) -> dict[str, str]:
    return {scope["value"]: scope.get("description", "") for scope in entry["scopes"]}


class _Importer:
    def __init__(self, *, tenant: Tenant, config: dict[str, Any], allow_delete: bool, actor: object) -> None:
        self.tenant = tenant
        self.config = config
        self.allow_delete = allow_delete
        self.actor = actor
        self.plan = Plan()
        self.secrets: list[CreatedSecret] = []
        self.renamed: dict[str, str] = {}  # new name -> old name

    # --- reading the tenant ---------------------------------------------------------------------------
    def _apps(self) -> dict[str, Application]:
        return {app.name: app for app in Application.objects.for_tenant(self.tenant).filter(is_system=False)}

    def _system_app_names(self) -> set[str]:
        return set(
            Application.objects.for_tenant(self.tenant).filter(is_system=True).values_list("name", flat=True)
        )

    def _apis(self) -> dict[str, Api]:
        return {api.identifier: api for api in Api.objects.for_tenant(self.tenant).prefetch_related("scopes")}

    # --- checks before any write ----------------------------------------------------------------------
    def check_references(self) -> None:
        """Every name the file refers to must exist in the file or the tenant once the import is done."""
        problems: list[ConfigProblem] = []
        config = self.config
        db_apps = list(Application.objects.for_tenant(self.tenant).filter(is_system=False))
        system_app_names = self._system_app_names()
        db_apis = self._apis()
        system_apis = {identifier for identifier, api in db_apis.items() if api.is_system}

        # Applications are known by name: two of the tenant's with one name make every reference ambiguous.
        duplicates = sorted(name for name, count in Counter(app.name for app in db_apps).items() if count > 1)
        if duplicates and {APPLICATIONS, CLIENT_GRANTS, TOKEN_RULES} & set(config):
            names = ", ".join(repr(name) for name in duplicates)
            message = MSG_DUPLICATE_NAMES.format(what="applications", names=names)
            problems.append(ConfigProblem(APPLICATIONS, None, "name", message))
        if APPLICATIONS in config:
            file_names = {entry["name"] for entry in config[APPLICATIONS]}
            for entry in config[APPLICATIONS]:
                if entry["name"] in system_app_names:
                    problems.append(
                        ConfigProblem(APPLICATIONS, entry["name"], "name", MSG_SYSTEM_APPLICATION)
                    )
            app_names = file_names if self.allow_delete else file_names | {app.name for app in db_apps}
        else:
            app_names = {app.name for app in db_apps}

        scopes_of: dict[str, set[str]] = {}
        if APIS in config:
            kept = db_apis if not self.allow_delete else {i: db_apis[i] for i in system_apis}
            for identifier, api in kept.items():
                scopes_of[identifier] = {scope.value for scope in api.scopes.all()}
            for entry in config[APIS]:
                identifier = entry["identifier"]
                if identifier in system_apis:
                    problems.append(ConfigProblem(APIS, identifier, "identifier", MSG_SYSTEM_API))
                elif "scopes" in entry:
                    scopes_of[identifier] = set(_scope_map(entry))
                elif identifier in db_apis:
                    scopes_of[identifier] = {scope.value for scope in db_apis[identifier].scopes.all()}
                else:
                    scopes_of[identifier] = set()
        else:
            scopes_of = {
                identifier: {s.value for s in api.scopes.all()} for identifier, api in db_apis.items()
            }

        def check_api(kind: str, key: str, name: str, identifier: str, scopes: list[str]) -> None:
            if identifier == MANAGEMENT_API:
                problems.append(ConfigProblem(kind, key, name, MSG_NO_MANAGEMENT_API))
                return
            if identifier not in scopes_of:
                message = MSG_NO_SUCH_API.format(identifier=identifier)
                if identifier.endswith(f"/{MANAGEMENT_API_PATH}"):
                    message += MSG_LITERAL_MANAGEMENT_API
                problems.append(ConfigProblem(kind, key, name, message))
                return
            unknown = [scope for scope in scopes if scope not in scopes_of[identifier]]
            if unknown:
                message = MSG_NO_SUCH_SCOPES.format(identifier=identifier, scopes=", ".join(unknown))
                problems.append(
                    ConfigProblem(kind, key, "scopes" if kind != ROLES else "permissions", message)
                )

        for entry in config.get(CLIENT_GRANTS, []):
            key = entry_key(CLIENT_GRANTS, entry)
            if entry["application"] in system_app_names:
                problems.append(ConfigProblem(CLIENT_GRANTS, key, "application", MSG_SYSTEM_APPLICATION))
            elif entry["application"] not in app_names:
                message = MSG_NO_SUCH_APPLICATION.format(name=entry["application"])
                problems.append(ConfigProblem(CLIENT_GRANTS, key, "application", message))
            check_api(CLIENT_GRANTS, key, "api", entry["api"], entry.get("scopes", []))
        for entry in config.get(ROLES, []):
            for identifier, scopes in entry.get("permissions", {}).items():
                check_api(ROLES, entry["name"], "permissions", identifier, scopes)
        rule_names = Counter(TokenRule.objects.for_tenant(self.tenant).values_list("name", flat=True))
        if TOKEN_RULES in config and any(count > 1 for count in rule_names.values()):
            names = ", ".join(repr(name) for name, count in sorted(rule_names.items()) if count > 1)
            problems.append(
                ConfigProblem(
                    TOKEN_RULES, None, "name", MSG_DUPLICATE_NAMES.format(what="token rules", names=names)
                )
            )
        for entry in config.get(TOKEN_RULES, []):
            application = entry.get("application")
            if application is not None and application not in app_names | system_app_names:
                message = MSG_NO_SUCH_APPLICATION.format(name=application)
                problems.append(ConfigProblem(TOKEN_RULES, entry["name"], "application", message))
            if entry.get("api") is not None:
                check_api(TOKEN_RULES, entry["name"], "api", entry["api"], [])
        if problems:
            raise ConfigError(problems)

    # --- the import ------------------------------------------------------------------------------------
    def run(self) -> None:
        if TENANT in self.config:
            self._tenant(self.config[TENANT])
        if APPLICATIONS in self.config:
            self._rename_applications()
        if self.allow_delete:
            for kind, delete in (
                (TOKEN_RULES, self._delete_token_rules),
                (ROLES, self._delete_roles),
                (CLIENT_GRANTS, self._delete_client_grants),
                (APPLICATIONS, self._delete_applications),
                (APIS, self._delete_apis),
            ):
                if kind in self.config:
                    delete()
        for kind, upsert in (
            (APIS, self._api),
            (APPLICATIONS, self._application),
            (CLIENT_GRANTS, self._client_grant),
            (ROLES, self._role),
            (TOKEN_RULES, self._token_rule),
        ):
            for entry in self.config.get(kind, []):
                key = entry_key(kind, entry)
                try:
                    upsert(entry, key)
                except ValidationError as exc:
                    raise _Refused(kind, key, exc) from None
        if TOKEN_RULES in self.config:
            self._reorder_token_rules()

    def _call(self, kind: str, key: str | None, function, *, field: str | None = None, **kwargs):
        try:
            return function(**kwargs)
        except ValidationError as exc:
            raise _Refused(kind, key, exc, field=field) from None

    # --- tenant ---------------------------------------------------------------------------------------
    def _tenant(self, data: dict[str, Any]) -> None:
        tenant = self.tenant
        fields: dict[str, tuple[Any, Any]] = {}
        changes = {
            name: data[name]
            for name in ("name", "default_audience")
            if name in data and data[name] != getattr(tenant, name)
        }
        for name, value in changes.items():
            fields[name] = (getattr(tenant, name), value)
        if changes:
            self._call(TENANT, tenant.slug, tenant_update, tenant=tenant, actor=self.actor, **changes)
        current = tenant_settings_export(tenant=tenant)
        for name, value in data.get("settings", {}).items():
            before = current[name]
            after = {**before, **value} if isinstance(before, dict) else value
            if isinstance(after, dict) and "allowlist" in after:
                # Compared as the service will store it (canonical, deduplicated): a second import is a no-op.
                after["allowlist"] = self._call(
                    TENANT, tenant.slug, attack_protection_allowlist_clean, field=f"settings.{name}.allowlist",
                    entries=after["allowlist"],
                )  # fmt: skip
            if after == before:
                continue
            fields[f"settings.{name}"] = (before, after)
            self._call(
                TENANT, tenant.slug, self._setting_set, field=f"settings.{name}", name=name, value=after
            )
        if fields:
            self.plan.add(Change(TENANT, tenant.slug, UPDATE, fields))

    def _setting_set(self, *, name: str, value: Any) -> None:
        tenant, actor = self.tenant, self.actor
        if name == "enable_dynamic_client_registration":
            tenant_dynamic_registration_set(tenant=tenant, enabled=value, actor=actor)
        elif name == "refresh_token":
            tenant_refresh_token_lifetimes_set(
                tenant=tenant,
                absolute_seconds=value["token_lifetime"],
                inactivity_seconds=value["idle_token_lifetime"],
                actor=actor,
            )
        elif name == "brute_force_protection":
            tenant_brute_force_protection_set(tenant=tenant, actor=actor, **value)
        elif name == "suspicious_ip_throttling":
            tenant_suspicious_ip_throttling_set(tenant=tenant, actor=actor, **value)
        elif name == "mfa_policy":
            tenant_mfa_policy_set(tenant=tenant, policy=value, actor=actor)
        elif name == "database_connection_name":
            tenant_database_connection_set(tenant=tenant, name=value, actor=actor)
        else:  # pragma: no cover - config_check admits only the names above
            raise AssertionError(name)

    # --- APIs -----------------------------------------------------------------------------------------
    def _api(self, entry: dict[str, Any], key: str) -> None:
        api = Api.objects.for_tenant(self.tenant).filter(identifier=entry["identifier"]).first()
        settings = {name: entry[name] for name in API_FIELDS if name in entry}
        if api is None:
            created = {name: value for name, value in entry.items() if name != "identifier"}
            if "scopes" in created:
                created["scopes"] = _scope_map(entry)
            api_create(
                tenant=self.tenant,
                identifier=entry["identifier"],
                scopes=_scope_map(entry) if "scopes" in entry else {},
                actor=self.actor,
                **settings,
            )
            self.plan.add(Change(APIS, key, CREATE, {name: (None, value) for name, value in created.items()}))
            return
        fields = {
            name: (getattr(api, name), value)
            for name, value in settings.items()
            if getattr(api, name) != value
        }
        if fields:
            api_update(api=api, actor=self.actor, **{name: after for name, (_, after) in fields.items()})
        if "scopes" in entry:
            before = {scope.value: scope.description for scope in api.scopes.all()}
            after = _scope_map(entry)
            if sorted(before) != sorted(after):
                fields["scopes"] = (sorted(before), sorted(after))
            for value in sorted(set(before) & set(after)):
                if before[value] != after[value]:
                    fields[f"scopes[{value}].description"] = (before[value], after[value])
            if before != after:
                api_scopes_set(api=api, scopes=after, actor=self.actor)
        if fields:
            self.plan.add(Change(APIS, key, UPDATE, fields))

    def _delete_apis(self) -> None:
        wanted = {entry["identifier"] for entry in self.config[APIS]}
        for api in Api.objects.for_tenant(self.tenant).filter(is_system=False).order_by("identifier"):
            if api.identifier not in wanted:
                self._call(APIS, api.identifier, api_delete, api=api, actor=self.actor)
                self.plan.add(Change(APIS, api.identifier, DELETE))

    # --- applications -----------------------------------------------------------------------------------
    def _rename_applications(self) -> None:
        """Rename first the applications the file renamed (known by their ``client_id``), so that the
        deletions that follow, and the grants and rules keyed by application name, see the new names."""
        apps = self._apps()
        names = {entry["name"] for entry in self.config[APPLICATIONS]}
        for entry in self.config[APPLICATIONS]:
            if entry["name"] in apps or not entry.get("client_id"):
                continue
            application = next(
                (
                    app
                    for app in apps.values()
                    if app.client_id == entry["client_id"] and app.name not in names
                ),
                None,
            )
            if application is not None:
                self.renamed[entry["name"]] = application.name
                self._call(
                    APPLICATIONS, entry["name"], application_update,
                    application=application, name=entry["name"], actor=self.actor,
                )  # fmt: skip

    def _application(self, entry: dict[str, Any], key: str) -> None:
        application = self._apps().get(entry["name"])
        wanted = {name: value for name, value in entry.items() if name not in ("client_id", "app_type")}
        if application is None:
            at_create = ("description", "is_first_party", "grant_types", "token_endpoint_auth_method", "callbacks", "allowed_origins", "logout_urls")  # fmt: skip
            created = application_create(
                tenant=self.tenant,
                name=entry["name"],
                app_type=entry["app_type"],
                actor=self.actor,
                **{name: entry[name] for name in at_create if name in entry},
            )
            later = {
                name: value for name, value in wanted.items() if name not in at_create and name != "name"
            }
            current = application_export(created.application)
            later = {name: value for name, value in later.items() if current[name] != value}
            if later:
                application_update(application=created.application, actor=self.actor, **later)
            self.secrets.append(
                CreatedSecret(entry["name"], created.application.client_id, created.client_secret)
            )
            shown = {name: value for name, value in entry.items() if name not in ("client_id", "name")}
            self.plan.add(
                Change(APPLICATIONS, key, CREATE, {name: (None, value) for name, value in shown.items()})
            )
            return
        current = application_export(application)
        if "app_type" in entry and entry["app_type"] != application.app_type:
            message = MSG_APP_TYPE_IMMUTABLE.format(before=application.app_type, after=entry["app_type"])
            raise ValidationError({"app_type": message})
        fields = {name: (current[name], value) for name, value in wanted.items() if current[name] != value}
        if fields:
            application_update(
                application=application,
                actor=self.actor,
                **{name: after for name, (_, after) in fields.items()},
            )
        if entry["name"] in self.renamed:  # renamed already, by _rename_applications
            fields = {"name": (self.renamed[entry["name"]], entry["name"]), **fields}
        if fields:
            self.plan.add(Change(APPLICATIONS, key, UPDATE, fields))

    def _delete_applications(self) -> None:
        names = {entry["name"] for entry in self.config[APPLICATIONS]}
        client_ids = {entry.get("client_id") for entry in self.config[APPLICATIONS]} - {None}
        for name, application in sorted(self._apps().items()):
            if name not in names and application.client_id not in client_ids:
                self._call(APPLICATIONS, name, application_delete, application=application, actor=self.actor)
                self.plan.add(Change(APPLICATIONS, name, DELETE))

    # --- client grants ----------------------------------------------------------------------------------
    def _grants(self) -> dict[tuple[str, str], ClientGrant]:
        rows = ClientGrant.objects.for_tenant(self.tenant).filter(application__is_system=False)
        return {(g.application.name, g.api.identifier): g for g in rows.select_related("application", "api")}

    def _client_grant(self, entry: dict[str, Any], key: str) -> None:
        grant = self._grants().get((entry["application"], entry["api"]))
        if grant is None:
            application = Application.objects.for_tenant(self.tenant).get(
                name=entry["application"], is_system=False
            )
            api = Api.objects.for_tenant(self.tenant).get(identifier=entry["api"])
            scopes = entry.get("scopes", [])
            client_grant_create(
                tenant=self.tenant, application=application, api=api, scopes=scopes, actor=self.actor
            )
            self.plan.add(Change(CLIENT_GRANTS, key, CREATE, {"scopes": (None, scopes)}))
        elif "scopes" in entry and list(grant.scopes) != list(dict.fromkeys(entry["scopes"])):
            before = list(grant.scopes)
            client_grant_update(grant=grant, scopes=entry["scopes"], actor=self.actor)
            self.plan.add(Change(CLIENT_GRANTS, key, UPDATE, {"scopes": (before, entry["scopes"])}))

    def _delete_client_grants(self) -> None:
        wanted = {(entry["application"], entry["api"]) for entry in self.config[CLIENT_GRANTS]}
        for pair, grant in sorted(self._grants().items()):
            if pair not in wanted:
                key = " -> ".join(pair)
                self._call(CLIENT_GRANTS, key, client_grant_delete, grant=grant, actor=self.actor)
                self.plan.add(Change(CLIENT_GRANTS, key, DELETE))

    # --- roles ------------------------------------------------------------------------------------------
    def _role_permissions(self, role: Role) -> dict[str, list[str]]:
        permissions: dict[str, list[str]] = {}
        for scope in sorted(
            role.permissions.select_related("api"), key=lambda s: (s.api.identifier, s.value)
        ):
            permissions.setdefault(scope.api.identifier, []).append(scope.value)
        return permissions

    def _scopes_for(self, permissions: dict[str, list[str]]) -> list[Scope]:
        scopes = []
        for identifier, values in permissions.items():
            scopes.extend(
                Scope.objects.for_tenant(self.tenant).filter(api__identifier=identifier, value__in=values)
            )
        return scopes

    def _role(self, entry: dict[str, Any], key: str) -> None:
        role = Role.objects.for_tenant(self.tenant).filter(name__iexact=entry["name"]).first()
        wanted_permissions = (
            {identifier: sorted(set(values)) for identifier, values in entry["permissions"].items() if values}
            if "permissions" in entry
            else None
        )
        if role is None:
            role_create(
                tenant=self.tenant,
                name=entry["name"],
                description=entry.get("description", ""),
                permissions=self._scopes_for(wanted_permissions or {}),
                actor=self.actor,
            )
            shown = {name: value for name, value in entry.items() if name != "name"}
            self.plan.add(Change(ROLES, key, CREATE, {name: (None, value) for name, value in shown.items()}))
            return
        fields: dict[str, tuple[Any, Any]] = {}
        changes = {}
        for name in ("name", "description"):
            if name in entry and getattr(role, name) != entry[name]:
                fields[name] = (getattr(role, name), entry[name])
                changes[name] = entry[name]
        before = self._role_permissions(role)
        permissions = None
        if wanted_permissions is not None and before != wanted_permissions:
            fields["permissions"] = (before, wanted_permissions)
            permissions = self._scopes_for(wanted_permissions)
        if fields:
            role_update(role=role, actor=self.actor, permissions=permissions, **changes)
            self.plan.add(Change(ROLES, key, UPDATE, fields))

    def _delete_roles(self) -> None:
        names = {entry["name"].casefold() for entry in self.config[ROLES]}
        for role in Role.objects.for_tenant(self.tenant).order_by("name"):
            if role.name.casefold() not in names:
                self._call(ROLES, role.name, role_delete, role=role, actor=self.actor)
                self.plan.add(Change(ROLES, role.name, DELETE))

    # --- token rules --------------------------------------------------------------------------------------
    def _rule_fields(self, entry: dict[str, Any]) -> dict[str, Any]:
        """The entry's fields as ``token_rule_create`` takes them (application and API as rows)."""
        resolved = {name: value for name, value in entry.items() if name != "name"}
        if resolved.get("application") is not None:
            resolved["application"] = (
                Application.objects.for_tenant(self.tenant)
                .filter(name=entry["application"])
                .order_by("is_system")
                .first()
            )
        if resolved.get("api") is not None:
            resolved["api"] = Api.objects.for_tenant(self.tenant).get(identifier=entry["api"])
        return resolved

    def _token_rule(self, entry: dict[str, Any], key: str) -> None:
        rule = (
            TokenRule.objects.for_tenant(self.tenant)
            .filter(name=entry["name"])
            .select_related("application", "api")
            .first()
        )
        wanted = {name: value for name, value in entry.items() if name != "name"}
        if rule is None:
            token_rule_create(
                tenant=self.tenant, name=entry["name"], actor=self.actor, **self._rule_fields(entry)
            )
            self.plan.add(
                Change(TOKEN_RULES, key, CREATE, {name: (None, value) for name, value in wanted.items()})
            )
            return
        current = token_rule_export(rule)
        fields = {name: (current[name], value) for name, value in wanted.items() if current[name] != value}
        if fields:
            resolved = self._rule_fields(entry)
            token_rule_update(rule=rule, actor=self.actor, **{name: resolved[name] for name in fields})
            self.plan.add(Change(TOKEN_RULES, key, UPDATE, fields))

    def _delete_token_rules(self) -> None:
        names = {entry["name"] for entry in self.config[TOKEN_RULES]}
        for rule in TokenRule.objects.for_tenant(self.tenant).order_by("order", "id"):
            if rule.name not in names:
                self._call(TOKEN_RULES, rule.name, token_rule_delete, rule=rule, actor=self.actor)
                self.plan.add(Change(TOKEN_RULES, rule.name, DELETE))

    def _reorder_token_rules(self) -> None:
        """Rules run in the file's order; rules the file does not name (``--no-delete``) run after them."""
        rules = list(TokenRule.objects.for_tenant(self.tenant).order_by("order", "id"))
        position = {entry["name"]: index for index, entry in enumerate(self.config[TOKEN_RULES])}
        wanted = sorted(rules, key=lambda rule: position.get(rule.name, len(position)))
        if [rule.pk for rule in wanted] != [rule.pk for rule in rules]:
            token_rule_reorder(tenant=self.tenant, rule_ids=[rule.pk for rule in wanted], actor=self.actor)
            before, after = [rule.name for rule in rules], [rule.name for rule in wanted]
            self.plan.add(Change(TOKEN_RULES, TOKEN_RULE_ORDER_KEY, UPDATE, {"order": (before, after)}))
