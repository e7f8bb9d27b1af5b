"""The roll-ups on SQLite: what ``make run`` uses without ``DATABASE_URL``.

The suite runs on Postgres, so this drives a separate process on a fresh SQLite file: it
migrates (the roll-ups' data migration included), counts a tenant's audit events, flushes
token events twice (the upsert adds to existing counts) and rebuilds from the raw logs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
from datetime import UTC, datetime, timedelta
from django.conf import settings
from django.db import connection
from apps.audit import token_log
from apps.audit.models import HourlyRollup
from apps.audit.rollups import hourly_rollups_rebuild
from apps.tenants.services import tenant_create

assert connection.vendor == "sqlite", connection.vendor
settings.TOKEN_LOG_FLUSH_SECONDS = 60
token_log._start_flusher = lambda: None
tenant = tenant_create(slug="lite")
h10 = datetime(2026, 11, 30, 10, tzinfo=UTC)
for minute, type_ in ((1, "seccft"), (2, "seccft"), (3, "feccft")):
    token_log.token_event_record(tenant_id=tenant.pk, type=type_, created_at=h10 + timedelta(minutes=minute))
token_log.flush()
token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=h10 + timedelta(minutes=50))
token_log.flush()

def counts():
    return sorted(
        [row.hour.isoformat(), row.metric, row.key, row.count]
        for row in HourlyRollup.objects.filter(tenant=tenant)
    )

live = counts()
hourly_rollups_rebuild(since=h10)
print(json.dumps({"live": live, "rebuilt": counts()}))
"""


def test_rollups_work_on_sqlite(tmp_path):
    # given a fresh SQLite database, as `make run` creates it without DATABASE_URL
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(PORTCULLIS_VAR_DIR=str(tmp_path), DEBUG="true")

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    # when it is migrated, and events are counted live and then rebuilt
    manage("migrate", "--noinput", "-v0")
    result = json.loads(manage("shell", "-c", SCRIPT).strip().splitlines()[-1])

    # then the flushes added up, audit events were counted, and the rebuild agrees
    assert (tmp_path / "portcullis.sqlite3").exists()
    live = result["live"]
    assert ["2026-11-30T10:00:00+00:00", "tokens.issued", "seccft", 3] in live
    assert ["2026-11-30T10:00:00+00:00", "tokens.refused", "feccft", 1] in live
    assert any(metric == "events.other" and key == "tenant.created" and n == 1 for _, metric, key, n in live)
    assert result["rebuilt"] == live
