"""Existing tenants' Management API gets Auth0's role-member scopes (``read:role_members``,
``create:role_members``, ``delete:role_members``), which ``roles/{id}/users`` and ``users/{id}/roles``
accept besides ``read:roles``/``update:roles`` and ``read:users``/``update:users``.

Like ``grants.0004_management_api_sync`` (whose list this one extends): adds the scopes to each
tenant's system API and to its management client's grant; only adds, so running it again changes
nothing, and reversing it does nothing. The list is frozen here; ``management.services.MANAGEMENT_SCOPES``
is the two lists together, and ``management_api_sync`` applies it at run time.
"""

from django.db import migrations

SCOPES = {
    "read:role_members": "Read the users of roles",
    "create:role_members": "Assign roles to users",
    "delete:role_members": "Remove roles from users",
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
        ("grants", "0004_management_api_sync"),
    ]

    operations = [migrations.RunPython(add_missing_scopes, migrations.RunPython.noop)]
