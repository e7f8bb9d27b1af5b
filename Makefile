# Portcullis: `make run` serves the demo, `make test` runs lint + the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
PORT      ?= 8000
WEB_CONCURRENCY ?= $(shell nproc 2>/dev/null || echo 2)
export PORT WEB_CONCURRENCY
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portcullis
# make test runs the suite in TEST_WORKERS processes (pytest-xdist; one test database each), then
# the tests marked serial alone (tests/conftest.py SERIAL_PATHS: real server processes, fixed Redis
# databases).
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
# The production environment `manage.py check --deploy` must pass in `make test` (README,
# "Production deployment"; deploy/configmap.yaml sets the same), with a throwaway SECRET_KEY.
PRODUCTION_ENV := DEBUG=false HTTPS=true BEHIND_PROXY=true ALLOWED_HOSTS=auth.example.com

# Django 6 needs Python >= 3.12. Take the first interpreter that really runs (pyenv shims
# exist for versions that are not active), including pyenv's install directories.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 \
	$$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 \
	/usr/local/bin/python3.13 /usr/local/bin/python3.12; do \
	  "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; \
	done)

.PHONY: help venv run test lint bench demo clean reliability
.PHONY: scale

help:
	@echo "make run    - install into .venv, migrate, create the demo tenant, serve on http://127.0.0.1:$(PORT)"
	@echo "make test   - lint + checks + the whole test suite on Postgres (DATABASE_URL)"
	@echo "make reliability - the reliability suite at full size (database outage, races, load, SIGTERM)"
	@echo "make bench  - token endpoint side by side with node oidc-provider (tokens/s, p50, p99, ratio), then refresh, code exchange, sign-in and the floors"
	@echo "make scale  - token endpoint, discovery/JWKS and admin list pages: nearly empty vs 10,000 tenants / 100,000 applications"

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Python >= 3.12 not found (Django 6 needs it). Install python3.12 or python3.13," \
	       "or run: make PYTHON=/path/to/python3.12 ..." >&2; exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

run: venv var/secret_key
	@set -e; export SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}"; \
	$(PY) manage.py ensure_database; \
	$(PY) manage.py migrate --noinput -v0; \
	$(PY) manage.py bootstrap_demo; \
	echo "Serving on http://127.0.0.1:$(PORT) with $(WEB_CONCURRENCY) workers (Ctrl-C stops)"; \
	exec $(PY) -m config.serve

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv
	@set -e; export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" DEBUG=true; \
	bash .ci/ensure-services.sh; \
	$(MAKE) --no-print-directory lint; \
	$(PY) manage.py check --fail-level WARNING; \
	env $(PRODUCTION_ENV) SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  $(PY) manage.py check --deploy --fail-level WARNING; \
	$(PY) manage.py makemigrations --check --dry-run; \
	rc=0; $(PY) -m pytest -p no:cacheprovider -q -n $(TEST_WORKERS) -m "not serial" || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in the parallel part: failing" >&2; rc=1; fi; \
	serial_rc=0; $(PY) -m pytest -p no:cacheprovider -q -m serial || serial_rc=$$?; \
	if [ $$serial_rc -eq 5 ]; then echo "pytest collected no tests in the serial part: failing" >&2; serial_rc=1; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; exit $$serial_rc

# The reliability suite at full size (make test runs it small): outages, races, load, shutdown.
reliability: venv
	@export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" DEBUG=true RELIABILITY_SIZE=full; \
	bash .ci/ensure-services.sh; \
	$(PY) -m pytest -p no:cacheprovider -q tests/reliability

bench: venv
	@export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portcullis_bench}"; \
	$(PY) tests/bench/run.py

# Drops and recreates its own two databases (names containing "bench"); tests/bench/README.md.
scale: venv
	@export DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portcullis_bench_scale}"; \
	$(PY) tests/bench/scale.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
