# Portcullis container image: docker build -t portcullis . (README, "Production deployment").
#
# Two stages: the builder turns pyproject.toml's dependencies into wheels (downloads come from
# the package registry only, through pip); the runtime installs those wheels offline, adds the
# source, collects static files and runs as an unprivileged user. No compiler, no curl, no
# package-manager step in either stage: every dependency ships binary wheels for this base.

FROM python:3.13-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
# Only what decides the dependency set: the wheel layer is rebuilt when it changes, not on every edit.
COPY pyproject.toml README.md ./
RUN pip wheel --wheel-dir /wheels .


FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=false \
    HOST=0.0.0.0 \
    PORT=8000 \
    STATIC_ROOT=/app/staticfiles \
    PORTCULLIS_VAR_DIR=/tmp/portcullis
RUN groupadd --system --gid 10001 portcullis \
 && useradd --system --uid 10001 --gid portcullis --no-create-home --home-dir /app --shell /usr/sbin/nologin portcullis
COPY --from=builder /wheels /wheels
RUN pip install --no-index --find-links=/wheels portcullis && rm -rf /wheels
WORKDIR /app
# Owned by root, read-only for the server's user: the code and static files never change at run time.
COPY . .
# Static files are collected at build time (WhiteNoise serves them from STATIC_ROOT). Settings
# need a SECRET_KEY to load; this throwaway one exists only for this command, not in the image.
RUN SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --noinput -v0
USER 10001:10001
EXPOSE 8000
# The liveness endpoint, asked with the interpreter the image already has (no curl in slim).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/alive' % os.environ.get('PORT', '8000'), timeout=4)"
# What `make run` serves with (config/serve.py: granian, WEB_CONCURRENCY workers x THREADS threads).
# Migrations are not run here: run `python manage.py migrate` once per release (deploy/migrate-job.yaml).
CMD ["python", "-m", "config.serve"]
