"""System checks for the tenants app (run by ``manage.py check`` and before every command)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from apps.tenants import crypto


@register()
def key_encryption_keys_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    """A malformed ``KEY_ENCRYPTION_KEYS`` item would otherwise surface as a 500 at the first token.

    Checked here so a deploy (or ``manage.py reencrypt_keys``) stops before anything is written.
    """
    return [
        Error(problem, hint="See README.md, Configuration: key encryption.", id="tenants.E001")
        for problem in crypto.check_keys(list(settings.KEY_ENCRYPTION_KEYS))
    ]
