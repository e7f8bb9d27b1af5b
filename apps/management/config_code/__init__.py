"""Config as code: a tenant's configuration exported to, planned from and imported from a YAML/JSON file.

``export.tenant_config_export`` reads it, ``apply.tenant_config_import`` applies it (or a dry run of
it) through the admin's services in one transaction, ``plan.plan_render`` shows what changed.
The commands are ``manage.py export_tenant`` and ``manage.py import_tenant``.
"""
