"""Existing tenants' Management API gets the scopes of the Management API v2 endpoints (issue 8).

Tenants provisioned before these endpoints existed have a system API with fewer scopes, and a
management client whose grant lacks them. This adds the missing scopes to each system API
(``is_system``, identifier ending in ``/api/v2/``) and to the system client's grant for it.
It only adds: nothing is removed or renamed, and running it again changes nothing. The list is
frozen here (a migration must not follow later code); ``management.services.management_api_sync``
does the same at run time with the current list (bootstrap_demo, create_tenant).
Reversing it does nothing: the scopes stay (removing them would silently narrow grants).
"""

from django.db import migrations

_CRUD = ("read", "create", "update", "delete")
SCOPES = {
    **{
        f"{action}:{resource}": f"{action.capitalize()} {resource.replace('_', ' ')}"
        for resource in ("clients", "client_grants", "resource_servers", "users", "roles")
        for action in _CRUD
    },
    "update:client_keys": "Rotate client secrets",
    "read:grants": "Read user grants",
    "delete:grants": "Delete user grants",
    "read:logs": "Read logs",
    "read:signing_keys": "Read signing keys",
    "create:signing_keys": "Rotate signing keys",
    "update:signing_keys": "Revoke signing keys",
    "blacklist:tokens": "Deny-list access tokens",
    "read:guardian_factors": "Read MFA factors",
    "update:guardian_factors": "Update MFA factors",
    "read:mfa_policies": "Read MFA policies",
    "update:mfa_policies": "Update MFA policies",
    "read:attack_protection": "Read attack protection settings",
    "update:attack_protection": "Update attack protection settings",
    "read:authentication_methods": "Read users' authentication methods",
    "delete:authentication_methods": "Delete users' authentication methods",
}


def add_missing_scopes(apps, schema_editor):
    Api = apps.get_model("apis", "Api")
    Scope = apps.get_model("apis", "Scope")
    ClientGrant = apps.get_model("grants", "ClientGrant")
    for api in Api.objects.filter(is_system=True, identifier__endswith="/api/v2/"):
        existing = set(Scope.objects.filter(api=api).values_list("value", flat=True))
        Scope.objects.bulk_create(
            [
                Scope(tenant_id=api.tenant_id, api=api, value=value, description=description)
                for value, description in SCOPES.items()
                if value not in existing
            ]
        )
        for grant in ClientGrant.objects.filter(api=api, application__is_system=True):
            missing = [value for value in SCOPES if value not in grant.scopes]
            if missing:
                grant.scopes = [*grant.scopes, *missing]
                grant.save(update_fields=["scopes", "updated_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("apis", "0001_initial"),
        ("grants", "0003_denied_token"),
    ]

    operations = [migrations.RunPython(add_missing_scopes, migrations.RunPython.noop)]
