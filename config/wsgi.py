import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from apps.core.handlers import RoutedWSGIHandler  # noqa: E402 - needs settings configured

application = RoutedWSGIHandler()
