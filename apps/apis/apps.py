from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apps.apis"
    label = "apis"
    verbose_name = "APIs"
