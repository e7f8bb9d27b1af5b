"""Portcullis branding of the Django admin (the tenant admins' portal at ``/admin/``).

The per-model admins live next to their models (``apps/<app>/admin.py``) and build on
``apps.dashboard.admin_base.TenantScopedAdmin``.
"""

from django.contrib import admin

admin.site.site_header = "Portcullis"
admin.site.site_title = "Portcullis"
admin.site.index_title = "Tenant administration"
# No public site at "/" to link to: tenants live under /t/<slug>/.
admin.site.site_url = None
