"""``manage.py bootstrap_demo``: create or repair the demo tenant, print and save its credentials."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.tenants.demo import demo_bootstrap


class Command(BaseCommand):
    help = "Create the demo tenant idempotently; write its credentials to var/demo.json and print them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", default=str(settings.VAR_DIR / "demo.json"))
        parser.add_argument("--quiet", action="store_true", help="Only write the file.")

    def handle(self, *args, output: str, quiet: bool, **options) -> None:
        path = Path(output)
        known = json.loads(path.read_text()) if path.exists() else {}
        demo = demo_bootstrap(known=known)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(demo, handle, indent=2)
        if not quiet:
            self.stdout.write(self._summary(demo, path))

    @staticmethod
    def _summary(demo: dict, path: Path) -> str:
        m2m = demo["m2m"]
        token_url = f"{demo['issuer']}oauth/token"
        return f"""
Portcullis demo tenant is ready (credentials saved to {path})

  Issuer       {demo["issuer"]}
  Discovery    {demo["issuer"]}.well-known/openid-configuration
  Admin        {demo["admin"]["url"]}   user {demo["admin"]["username"]}   password {demo["admin"]["password"]}
  End user     {demo["user"]["username"]}   password {demo["user"]["password"]}
  M2M client   {m2m["client_id"]}
  Timesheets   {demo["timesheets_url"]}
  Sample app   {demo["sample_url"]}   (sign in there as the end user above)

Get a machine-to-machine token:

  curl -s {token_url} -d grant_type=client_credentials \\
    -d client_id={m2m["client_id"]} \\
    -d client_secret={m2m["client_secret"]} \\
    -d audience={m2m["audience"]}

Then call the sample API with it:

  curl -s {demo["timesheets_url"]} -H "Authorization: Bearer $TOKEN"
"""
