from django.apps import AppConfig


class ManagementConfig(AppConfig):
    """The Management API (Auth0 v2 shapes). This issue provisions its API and client only."""

    name = "apps.management"
    label = "management_api"
