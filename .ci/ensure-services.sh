#!/usr/bin/env bash
# What the test suite needs from the machine, installed or started by the project itself:
# PostgreSQL running (the test database is created by pytest-django), Debian's Chromium
# for the browser tests.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# The database named by DATABASE_URL (pytest-django creates test_<name> itself, but
# manage.py check/makemigrations look at the real one): the same command `make run` uses.
if [ -n "${DATABASE_URL:-}" ] && [ -x .venv/bin/python ]; then
  .venv/bin/python manage.py ensure_database
fi

# Redis, for the tests of the shared configuration cache.
if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
fi
