from django.apps import AppConfig


class TokenRulesConfig(AppConfig):
    name = "apps.token_rules"
    label = "token_rules"
    verbose_name = "Token rules"
